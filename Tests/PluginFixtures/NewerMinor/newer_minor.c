/*
 * Fixture: a plugin built against a future minor of ABI 1 (say 1.99). Its descriptor and action
 * structs carry fields this engine does not know (appended at the end, as minors may), and it looks
 * for a host function this engine does not have, checking the table's size first. It must load, and
 * its action must run with the unknown parts unused.
 */
#include "godispatch_plugin.h"
#include <stddef.h>

/* What the 1.99 header would declare: the same structs with fields appended. */
typedef struct {
    gd_action v1;
    const char *future_action_field;
} gd_action_v1_99;

typedef struct {
    gd_plugin_descriptor v1;
    const char *future_descriptor_field;
} gd_plugin_descriptor_v1_99;

typedef struct {
    gd_host_api v1;
    int32_t (*future_host_function)(gd_call *call);
} gd_host_api_v1_99;

static const gd_host_api *host;

static int32_t invoke(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    int has_future = host->size >= offsetof(gd_host_api_v1_99, future_host_function) + sizeof(void *);
    const char *payload = has_future ? "{\"future\":true}" : "{\"future\":false}";
    size_t len = has_future ? 15 : 16;
    gd_message message = {sizeof(gd_message), {"newer", 5}, {NULL, 0}, {GD_VALUE_JSON, {payload, len}}, 0};
    return host->send_origin(call, &message) >= 0 ? GD_OK : GD_ERR_FAILED;
}

static const gd_action_v1_99 actions[] = {
    {{sizeof(gd_action_v1_99), "fixture_newer_first", "built against ABI 1.99", NULL, NULL, NULL, invoke}, "x"},
    {{sizeof(gd_action_v1_99), "fixture_newer_second", "the second action of the array", NULL, NULL, NULL, invoke}, "y"},
};

static const gd_plugin_descriptor_v1_99 descriptor = {
    {sizeof(gd_plugin_descriptor_v1_99), GD_ABI_MAJOR, 99, "newer-minor", "1.99.0", NULL, "from the future",
     (const gd_action *)actions, 2},
    "future",
};

const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *h) {
    host = h;
    return &descriptor.v1;
}
