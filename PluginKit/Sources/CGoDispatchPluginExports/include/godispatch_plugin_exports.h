/* What every Swift plugin built with GoDispatchPluginKit exports besides its entry function. */
#ifndef GODISPATCH_PLUGIN_EXPORTS_H
#define GODISPATCH_PLUGIN_EXPORTS_H

/** The compiler that built the plugin (see godispatch_toolchain.h), read by the host with dlsym. */
extern const char godispatch_plugin_toolchain_v1[];

#endif
