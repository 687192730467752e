/* Fixture: an action whose instantiate() refuses any step without a `mode` of "strict". */
#include "godispatch_plugin.h"
#include <string.h>
static int32_t instantiate(void *data, const gd_step_config *config, void **state, gd_error *error) {
    (void)data; (void)state;
    for (size_t i = 0; i < config->param_count; i++) {
        const gd_param *p = &config->params[i];
        if (p->name.len == 4 && memcmp(p->name.data, "mode", 4) == 0 && p->value.kind == GD_VALUE_STRING
            && p->value.text.len == 6 && memcmp(p->value.text.data, "strict", 6) == 0) {
            return GD_OK;
        }
    }
    gd_error_set(error, "param `mode` must be \"strict\"");
    return GD_ERR_INVALID;
}
static int32_t invoke(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)call; (void)error;
    return GD_OK;
}
static const gd_action actions[] = {
    {sizeof(gd_action), "fixture_strict", "accepts only mode: strict", NULL, instantiate, NULL, invoke},
};
static const gd_plugin_descriptor descriptor = {
    sizeof(gd_plugin_descriptor), GD_ABI_MAJOR, GD_ABI_MINOR, "reject-params", "0.0.1", NULL, NULL, actions, 1,
};
const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *host) {
    (void)host;
    return &descriptor;
}
