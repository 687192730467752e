/*
 * shout — a GoDispatch plugin in plain C, against the ABI header alone.
 *
 *   cc -shared -fPIC -O2 -Wall -I../../PluginKit/Sources/CGoDispatchABI/include -o libshout.so shout.c
 *
 * Action `shout`: sends {"event":"shout","payload":"<TEXT IN CAPITALS>"} back to the sender.
 *   params: text (required; usually a template such as "{{payload.text}}")
 */
#include "godispatch_plugin.h"
#include <stdlib.h>
#include <string.h>

static const gd_host_api *host; /* OWNERSHIP: host; valid for the life of the process. */

/* Start-up check: `text` must be given. */
static int32_t shout_instantiate(void *data, const gd_step_config *config, void **state, gd_error *error) {
    (void)data; (void)state;
    for (size_t i = 0; i < config->param_count; i++) {
        const gd_param *param = &config->params[i];
        if (param->name.len == 4 && memcmp(param->name.data, "text", 4) == 0) return GD_OK;
    }
    gd_error_set(error, "shout needs `text`, e.g. text: \"{{payload.text}}\"");
    return GD_ERR_INVALID;
}

static int32_t shout_invoke(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state;
    gd_value text;
    gd_str name = {"text", 4};
    if (host->param(call, name, &text) != GD_OK || text.kind != GD_VALUE_STRING) {
        gd_error_set(error, "`text` must resolve to a string");
        return GD_ERR_INVALID;
    }
    /* text.text is borrowed until this function returns: copy it to change it. */
    char *upper = malloc(text.text.len + 1);
    if (upper == NULL) {
        gd_error_set(error, "out of memory");
        return GD_ERR_FAILED;
    }
    for (size_t i = 0; i < text.text.len; i++) {
        char c = text.text.data[i];
        upper[i] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    gd_message message = {
        sizeof(gd_message), {"shout", 5}, {NULL, 0}, {GD_VALUE_STRING, {upper, text.text.len}}, 0,
    };
    int64_t sent = host->send_origin(call, &message); /* the host copies what it keeps */
    free(upper);
    return sent >= 0 ? GD_OK : GD_ERR_FAILED;
}

static const gd_action actions[] = {
    /* GD_ACTION_NEEDS_ORIGIN: it answers the sender, so a server event (no sender) may not use it. */
    {sizeof(gd_action), "shout", "Send `text` back to the sender in capitals", NULL, shout_instantiate, NULL, shout_invoke,
     GD_ACTION_NEEDS_ORIGIN},
};

static const gd_plugin_descriptor descriptor = {
    sizeof(gd_plugin_descriptor), GD_ABI_MAJOR, GD_ABI_MINOR, "shout", "1.0.0",
    NULL, /* toolchain: NULL, this plugin has no Swift code */
    "An example plugin written in C", actions, sizeof actions / sizeof actions[0],
};

const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *h) {
    host = h;
    return &descriptor;
}
