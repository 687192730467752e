/* Fixture: a shared library that forgot to export godispatch_plugin_entry_v1. */
#include "godispatch_plugin.h"
int godispatch_fixture_no_entry(void) { return 1; }
