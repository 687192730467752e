/* Fixture: the entry function returns NULL. */
#include "godispatch_plugin.h"
const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *host) {
    (void)host;
    return NULL;
}
