/* Fixture: one plugin declaring the same action twice. */
#include "godispatch_plugin.h"
static int32_t invoke(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)call; (void)error;
    return GD_OK;
}
static const gd_action actions[] = {
    {sizeof(gd_action), "fixture_twice", "first", NULL, NULL, NULL, invoke},
    {sizeof(gd_action), "fixture_twice", "second", NULL, NULL, NULL, invoke},
};
static const gd_plugin_descriptor descriptor = {
    sizeof(gd_plugin_descriptor), GD_ABI_MAJOR, GD_ABI_MINOR, "duplicate", "0.0.1", NULL, NULL, actions, 2,
};
const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *host) {
    (void)host;
    return &descriptor;
}
