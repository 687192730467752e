/* Fixture: a plugin built for a future ABI major: it exports only the v2 entry symbol. */
#include "godispatch_plugin.h"
const void *godispatch_plugin_entry_v2(const void *host) {
    (void)host;
    return NULL;
}
