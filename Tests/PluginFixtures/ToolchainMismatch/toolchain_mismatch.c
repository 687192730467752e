/*
 * Fixture: a Swift plugin built by another toolchain. It exports a toolchain identity that is not the
 * engine's; the host must refuse it from that data alone, without calling any of its code: its entry
 * function aborts the process if called.
 */
#include "godispatch_plugin.h"
#include <stdlib.h>

__attribute__((visibility("default"))) const char godispatch_plugin_toolchain_v1[] =
    "clang 0.0.1 (https://github.com/swiftlang/llvm-project.git fixture)";

const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *host) {
    (void)host;
    abort(); /* the host must not get here */
}
