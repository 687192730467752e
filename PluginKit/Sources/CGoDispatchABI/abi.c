/* The ABI is header-only (include/godispatch_plugin.h); SwiftPM wants one source file per C target. */
#include "godispatch_plugin.h"
