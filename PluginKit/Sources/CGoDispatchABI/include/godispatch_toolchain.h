/*
 * godispatch_toolchain.h — which compiler built a piece of Swift-side code.
 *
 * Swift has no stable ABI on Linux, so the engine and every Swift plugin must be built by the same
 * toolchain. A Swift toolchain ships its own clang, built from the same llvm-project revision as its
 * Swift compiler, and that revision is in __clang_version__: code compiled by the toolchain (the
 * plugin kit's C part, or this header seen through the engine's Swift compiler) gets the same text,
 * and another toolchain gets another one.
 *
 * GoDispatchPluginKit exports the text as the data symbol GD_TOOLCHAIN_SYMBOL
 * ("godispatch_plugin_toolchain_v1"); the engine compares it with gd_toolchain_identity() before it
 * runs any of the plugin's code. C plugins neither include this header nor export the symbol.
 */
#ifndef GODISPATCH_TOOLCHAIN_H
#define GODISPATCH_TOOLCHAIN_H

#ifdef __clang_version__
/** The compiler building this code, e.g. "clang 21.0.0 (https://github.com/swiftlang/llvm-project.git 11673e6…)". */
#define GD_TOOLCHAIN_IDENTITY "clang " __clang_version__
#else
#define GD_TOOLCHAIN_IDENTITY "not clang"
#endif

/** The toolchain identity of the code that includes this header. Static: no symbol is exported. */
static inline const char *gd_toolchain_identity(void) { return GD_TOOLCHAIN_IDENTITY; }

#endif /* GODISPATCH_TOOLCHAIN_H */
