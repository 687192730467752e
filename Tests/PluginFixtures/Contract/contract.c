/*
 * Fixture: checks the promises of the ABI's contract from a plugin's side. It is built with the
 * smallest struct sizes the host must accept (the 1.0 layouts: GD_*_SIZE_1_0), so it also shows that
 * a plugin of the oldest minor keeps loading.
 *   contract_keep_call      keeps its gd_call handle after invoke returns (a plugin bug to survive)
 *   contract_use_kept       uses the kept handle: send_origin and join must answer GD_ERR_STALE
 *   contract_other_thread   uses its live handle from another thread: GD_ERR_STALE
 *   contract_send_raw       sends param `json` as a GD_VALUE_JSON payload, and disconnects the origin's
 *                           user with param `code`; reports both statuses
 *   contract_slow           has step state; defers and completes from a thread after `delay_ms`;
 *                           counts a release() that comes while its completion is outstanding
 *   contract_report         reports entries / instances / releases / early releases
 *   contract_hold           defers until some connection runs contract_release
 *   contract_release        completes the held invocation (OK)
 */
#include "godispatch_plugin.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const gd_host_api *host;
static atomic_int entries, instances, releases, early_releases;
static gd_call *kept;

/* Sends {"event":event,"payload":json} to the origin, with a 1.0-sized gd_message. */
static int64_t tell(gd_call *call, const char *event, const char *json) {
    gd_message message = {GD_MESSAGE_SIZE_1_0, {event, strlen(event)}, {NULL, 0}, {GD_VALUE_JSON, {json, strlen(json)}}, 0};
    return host->send_origin(call, &message);
}

static int32_t keep_call(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    kept = call;
    return GD_OK;
}

static int32_t use_kept(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    int64_t sent = tell(kept, "via_stale", "{}");
    gd_str room = {"stale-room", 10};
    int32_t joined = host->join(kept, room);
    char json[64];
    snprintf(json, sizeof json, "{\"send\":%lld,\"join\":%d}", (long long)sent, joined);
    tell(call, "stale", json);
    return GD_OK;
}

struct foreign { gd_call *call; int64_t sent; size_t count; };

static void *call_from_elsewhere(void *arg) {
    struct foreign *f = arg;
    f->sent = tell(f->call, "via_other_thread", "{}");
    f->count = host->param_count(f->call);
    return NULL;
}

static int32_t other_thread(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state;
    struct foreign f = {call, 0, 0};
    pthread_t thread;
    if (pthread_create(&thread, NULL, call_from_elsewhere, &f) != 0) {
        gd_error_set(error, "could not start the thread");
        return GD_ERR_FAILED;
    }
    pthread_join(thread, NULL);
    char json[64];
    snprintf(json, sizeof json, "{\"send\":%lld,\"params\":%zu}", (long long)f.sent, f.count);
    tell(call, "other_thread", json);
    return GD_OK;
}

static long number_param(gd_call *call, const char *name, long fallback) {
    gd_value value;
    gd_str key = {name, strlen(name)};
    if (host->param(call, key, &value) != GD_OK || value.kind != GD_VALUE_JSON) return fallback;
    char buffer[32] = {0};
    memcpy(buffer, value.text.data, value.text.len < 31 ? value.text.len : 31);
    return atol(buffer);
}

static int32_t send_raw(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    gd_value json;
    gd_str key = {"json", 4};
    host->param(call, key, &json);
    gd_message message = {GD_MESSAGE_SIZE_1_0, {"raw", 3}, {NULL, 0}, {GD_VALUE_JSON, json.text}, 0};
    int64_t sent = host->send_origin(call, &message);
    gd_value user;
    gd_str path = {"user.id", 7};
    host->cargo(call, path, &user);
    gd_str reason = {"bad code", 8};
    int64_t closed = host->disconnect(call, GD_DISCONNECT_USER, user.text, (uint16_t)number_param(call, "code", 4000), reason);
    char report[64];
    snprintf(report, sizeof report, "{\"send\":%lld,\"disconnect\":%lld}", (long long)sent, (long long)closed);
    tell(call, "raw_report", report);
    return GD_OK;
}

struct slow_state { atomic_int outstanding; };

static int32_t slow_instantiate(void *data, const gd_step_config *config, void **state, gd_error *error) {
    (void)data; (void)config; (void)error;
    struct slow_state *s = calloc(1, sizeof *s);
    atomic_fetch_add(&instances, 1);
    *state = s;
    return GD_OK;
}

static void slow_release(void *data, void *state) {
    (void)data;
    struct slow_state *s = state;
    atomic_fetch_add(&releases, 1);
    if (atomic_load(&s->outstanding) > 0) {
        atomic_fetch_add(&early_releases, 1); /* the bug: keep the memory so the worker can still touch it */
        return;
    }
    free(s);
}

struct slow_work { struct slow_state *state; gd_ticket ticket; long delay_ms; };

static void *finish_slowly(void *arg) {
    struct slow_work *w = arg;
    struct timespec ts = {w->delay_ms / 1000, (w->delay_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    atomic_fetch_sub(&w->state->outstanding, 1); /* last touch of the step state before complete() */
    gd_str none = {NULL, 0};
    host->complete(w->ticket, GD_OK, none, none);
    free(w);
    return NULL;
}

static int32_t slow(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data;
    struct slow_work *w = malloc(sizeof *w);
    w->state = state;
    w->delay_ms = number_param(call, "delay_ms", 100);
    w->ticket = host->defer(call);
    atomic_fetch_add(&w->state->outstanding, 1);
    pthread_t thread;
    if (pthread_create(&thread, NULL, finish_slowly, w) != 0) {
        atomic_fetch_sub(&w->state->outstanding, 1);
        free(w);
        gd_error_set(error, "could not start the worker thread");
        return GD_ERR_FAILED;
    }
    pthread_detach(thread);
    return GD_PENDING;
}

static int32_t report(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    char json[160];
    snprintf(json, sizeof json, "{\"entries\":%d,\"instances\":%d,\"releases\":%d,\"early_releases\":%d}",
             atomic_load(&entries), atomic_load(&instances), atomic_load(&releases), atomic_load(&early_releases));
    tell(call, "report", json);
    return GD_OK;
}

static _Atomic gd_ticket held;

static int32_t hold(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)error;
    gd_ticket ticket = host->defer(call);
    atomic_store(&held, ticket);
    return ticket != 0 ? GD_PENDING : GD_ERR_FAILED;
}

static int32_t release_held(void *data, void *state, gd_call *call, gd_error *error) {
    (void)data; (void)state; (void)call;
    gd_ticket ticket = atomic_exchange(&held, 0);
    gd_str none = {NULL, 0};
    if (ticket == 0 || host->complete(ticket, GD_OK, none, none) != GD_OK) {
        gd_error_set(error, "nothing held");
        return GD_ERR_FAILED;
    }
    return GD_OK;
}

/* gd_action as ABI 1.0 laid it out (no `flags`): this fixture plays a plugin built against 1.0, so its
 * array's stride is the 1.0 size it declares. */
typedef struct {
    uint32_t size;
    const char *name;
    const char *description;
    void *action_data;
    int32_t (*instantiate)(void *action_data, const gd_step_config *config, void **step_state, gd_error *error);
    void (*release)(void *action_data, void *step_state);
    int32_t (*invoke)(void *action_data, void *step_state, gd_call *call, gd_error *error);
} gd_action_1_0;

_Static_assert(sizeof(gd_action_1_0) == GD_ACTION_SIZE_1_0, "the 1.0 layout of gd_action");

static const gd_action_1_0 actions[] = {
    {GD_ACTION_SIZE_1_0, "contract_hold", "defers until contract_release", NULL, NULL, NULL, hold},
    {GD_ACTION_SIZE_1_0, "contract_release", "completes the held invocation", NULL, NULL, NULL, release_held},
    {GD_ACTION_SIZE_1_0, "contract_keep_call", "keeps its call handle", NULL, NULL, NULL, keep_call},
    {GD_ACTION_SIZE_1_0, "contract_use_kept", "uses a kept call handle", NULL, NULL, NULL, use_kept},
    {GD_ACTION_SIZE_1_0, "contract_other_thread", "uses its handle from another thread", NULL, NULL, NULL, other_thread},
    {GD_ACTION_SIZE_1_0, "contract_send_raw", "sends raw JSON, disconnects with a code", NULL, NULL, NULL, send_raw},
    {GD_ACTION_SIZE_1_0, "contract_slow", "defers with step state", NULL, slow_instantiate, slow_release, slow},
    {GD_ACTION_SIZE_1_0, "contract_report", "reports the counters", NULL, NULL, NULL, report},
};

static const gd_plugin_descriptor descriptor = {
    GD_PLUGIN_DESCRIPTOR_SIZE_1_0, GD_ABI_MAJOR, 0, "contract", "1.0.0", NULL, "ABI contract probe (tests)",
    (const gd_action *)actions, sizeof actions / sizeof actions[0],
};

const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *h) {
    atomic_fetch_add(&entries, 1);
    host = h;
    return &descriptor;
}
