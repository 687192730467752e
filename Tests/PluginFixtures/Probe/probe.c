/*
 * Fixture: actions that exercise the ABI from C.
 *   fixture_echo     result = [each resolved param value as JSON, in order]
 *   fixture_async    defers; a thread completes after `delay_ms` with {"waited":true}
 *   fixture_never    defers and never completes (the step timeout must fire)
 *   fixture_double   completes twice from inside invoke and reports both statuses to the origin
 *   fixture_fail     fails with "probe failure"
 *   fixture_forbid   refuses with GD_ERR_FORBIDDEN "probe says no"
 *   fixture_lazy     returns GD_PENDING without calling defer()
 */
#include "godispatch_plugin.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const gd_host_api *host;

static size_t append(char *out, size_t at, size_t cap, const char *data, size_t len) {
    for (size_t i = 0; i < len && at + 1 < cap; i++) out[at++] = data[i];
    return at;
}

static int32_t echo(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    char out[4096];
    size_t at = append(out, 0, sizeof out, "[", 1);
    size_t n = host->param_count(call);
    for (size_t i = 0; i < n; i++) {
        gd_param p;
        host->param_at(call, i, &p);
        if (i > 0) at = append(out, at, sizeof out, ",", 1);
        if (p.value.kind == GD_VALUE_NULL) {
            at = append(out, at, sizeof out, "null", 4);
        } else if (p.value.kind == GD_VALUE_JSON) {
            at = append(out, at, sizeof out, p.value.text.data, p.value.text.len);
        } else {
            at = append(out, at, sizeof out, "\"", 1);
            for (size_t k = 0; k < p.value.text.len; k++) {
                char c = p.value.text.data[k];
                if (c == '"' || c == '\\') at = append(out, at, sizeof out, "\\", 1);
                at = append(out, at, sizeof out, &c, 1);
            }
            at = append(out, at, sizeof out, "\"", 1);
        }
    }
    at = append(out, at, sizeof out, "]", 1);
    gd_str json = {out, at};
    return host->set_result(call, json);
}

struct delayed { gd_ticket ticket; long delay_ms; };

static void *complete_later(void *arg) {
    struct delayed *d = arg;
    struct timespec ts = {d->delay_ms / 1000, (d->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    const char *result = "{\"waited\":true}";
    gd_str json = {result, strlen(result)};
    gd_str none = {NULL, 0};
    host->complete(d->ticket, GD_OK, json, none);
    free(d);
    return NULL;
}

static int32_t async_action(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state;
    gd_value delay;
    gd_str name = {"delay_ms", 8};
    long ms = 10;
    if (host->param(call, name, &delay) == GD_OK && delay.kind == GD_VALUE_JSON) {
        char buf[32] = {0};
        memcpy(buf, delay.text.data, delay.text.len < 31 ? delay.text.len : 31);
        ms = atol(buf);
    }
    struct delayed *d = malloc(sizeof *d);
    d->ticket = host->defer(call);
    d->delay_ms = ms;
    pthread_t thread;
    if (d->ticket == 0 || pthread_create(&thread, NULL, complete_later, d) != 0) {
        free(d);
        gd_error_set(error, "could not start the worker thread");
        return GD_ERR_FAILED;
    }
    pthread_detach(thread);
    return GD_PENDING;
}

static int32_t never(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    return host->defer(call) != 0 ? GD_PENDING : GD_ERR_FAILED;
}

static int32_t double_complete(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    gd_ticket ticket = host->defer(call);
    gd_str json = {"{\"first\":true}", 14};
    gd_str none = {NULL, 0};
    int32_t first = host->complete(ticket, GD_OK, json, none);
    int32_t second = host->complete(ticket, GD_OK, json, none);
    char payload[64];
    int len = snprintf(payload, sizeof payload, "{\"first\":%d,\"second\":%d}", first, second);
    gd_message message = {sizeof(gd_message), {"double", 6}, {NULL, 0}, {GD_VALUE_JSON, {payload, (size_t)len}}, 0};
    host->send_origin(call, &message);
    return GD_PENDING;
}

static int32_t fail(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)call;
    gd_error_set(error, "probe failure");
    return GD_ERR_FAILED;
}

static int32_t forbid(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)call;
    gd_error_set(error, "probe says no");
    return GD_ERR_FORBIDDEN;
}

static int32_t lazy(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)call; (void)error;
    return GD_PENDING;
}

static const gd_action actions[] = {
    {sizeof(gd_action), "fixture_echo", "result = the resolved params", NULL, NULL, NULL, echo},
    {sizeof(gd_action), "fixture_async", "completes from a thread after delay_ms", NULL, NULL, NULL, async_action},
    {sizeof(gd_action), "fixture_never", "never completes", NULL, NULL, NULL, never},
    {sizeof(gd_action), "fixture_double", "completes twice", NULL, NULL, NULL, double_complete},
    {sizeof(gd_action), "fixture_fail", "always fails", NULL, NULL, NULL, fail},
    {sizeof(gd_action), "fixture_forbid", "always refuses", NULL, NULL, NULL, forbid},
    {sizeof(gd_action), "fixture_lazy", "PENDING without defer", NULL, NULL, NULL, lazy},
};

static const gd_plugin_descriptor descriptor = {
    sizeof(gd_plugin_descriptor), GD_ABI_MAJOR, GD_ABI_MINOR, "probe", "0.0.1", NULL, "ABI probe (tests)",
    actions, sizeof actions / sizeof actions[0],
};

const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *h) {
    host = h;
    return &descriptor;
}
