/* Fixture: needs a symbol that nothing provides, so dlopen(RTLD_NOW) fails. */
#include "godispatch_plugin.h"
extern int godispatch_fixture_symbol_nobody_defines(int);
int godispatch_fixture_uses_missing(int x) { return godispatch_fixture_symbol_nobody_defines(x); }
const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *host) {
    (void)host;
    return NULL;
}
