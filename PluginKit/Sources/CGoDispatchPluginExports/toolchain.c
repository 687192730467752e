/*
 * The toolchain identity every Swift plugin exports (through GoDispatchPluginKit), as data: the engine
 * reads it with dlsym before it calls the plugin's entry function, and refuses a plugin built by
 * another toolchain without running any of its code.
 */
#include "godispatch_toolchain.h"

__attribute__((visibility("default"), used)) const char godispatch_plugin_toolchain_v1[] = GD_TOOLCHAIN_IDENTITY;
