/*
 * godispatch_plugin.h — the GoDispatch plugin ABI, version 1.
 *
 * This header is the whole contract between the GoDispatch engine (the "host")
 * and an action plugin: a shared library that the engine dlopen()s at start-up.
 * It depends on <stdint.h>, <stddef.h> and <stdbool.h> only, so a plugin can be
 * written in C, Swift (through GoDispatchPluginKit) or anything that speaks C.
 *
 * A plugin exports one function, and a Swift plugin one data symbol more:
 *
 *     const gd_plugin_descriptor *godispatch_plugin_entry_v1(const gd_host_api *host);
 *     const char godispatch_plugin_toolchain_v1[];   (Swift plugins; GoDispatchPluginKit defines it)
 *
 * After dlopen(RTLD_NOW | RTLD_LOCAL) the host first reads godispatch_plugin_toolchain_v1 with dlsym,
 * without running any plugin code: a Swift plugin built by another toolchain than the engine's is
 * refused there (Swift has no stable ABI on Linux). C plugins do not define it. Then the host calls the
 * entry function, once per library per process (a reload that finds the same file does not call it
 * again). The plugin keeps `host` (valid for the life of the process) and returns a descriptor that it
 * owns and never frees. The host checks `size` and `abi_major` before it touches any action; a
 * mismatch refuses the whole plugin.
 *
 * Versioning:
 *   - The major version is in the entry symbol's name and in GD_ABI_MAJOR. A new major is a new
 *     symbol; an engine refuses a plugin of another major.
 *   - A minor version only appends: new fields at the end of a struct that starts with `size`, new
 *     functions at the end of gd_host_api. The host accepts every such struct from a plugin as long as
 *     it is at least the size of the minor that introduced it (GD_*_SIZE_1_x below) and reads a field
 *     only when the struct's `size` covers it; so an old plugin keeps working on a newer host, and a
 *     newer plugin checks `host->size` (GD_HOST_HAS(host, field)) before calling a function that an
 *     older host may lack.
 *   - Frozen for major 1 (no `size`, never change): gd_str, gd_value, gd_param, gd_http_header, the
 *     enums' existing values, and the callback signatures.
 *
 * Ownership: every pointer below says who owns it and how long it lives.
 *   "borrowed" means: the callee may read it during the call only and must copy what it wants to keep.
 *
 * Concurrency (read this before writing an action):
 *   - The engine runs one event loop per core. invoke() runs on the event loop of the connection that
 *     sent the message (for a server event, which has no such connection, on the loop the backend's
 *     request arrived on), and the SAME action_data and step_state are used by invoke() on several event
 *     loops AT ONCE: anything an action changes in them needs its own synchronization (prefer to treat
 *     step_state as immutable after instantiate()).
 *   - invoke() must not block: slow work returns GD_PENDING after defer() and finishes with complete().
 *   - instantiate() runs on the thread that loads or reloads the configuration, while invoke() of the
 *     previous configuration's steps may still be running on the event loops.
 *   - release() runs once per step_state, on whichever thread drops the step's last reference: the
 *     thread that replaced or dropped its configuration, or an event loop after the last deferred
 *     completion of that step settled. It never runs while an invoke() of the step is running, while a
 *     deferred completion of the step is outstanding (defer() called, complete() not yet), or inside
 *     complete().
 *   - A gd_call handle is valid only inside its invoke() and only on that thread. Used later or from
 *     another thread, every host function answers GD_ERR_STALE (and does nothing).
 *   - log(), complete() and http_request() may be called from any thread. http_request() callbacks run
 *     on one of the engine's I/O threads: they must not block (hand long work to your own thread).
 */
#ifndef GODISPATCH_PLUGIN_H
#define GODISPATCH_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** ABI major version: changes only with incompatible changes (new entry symbol). */
#define GD_ABI_MAJOR 1
/**
 * ABI minor version: grows when fields or host functions are appended. 1.1 added HTTP callouts;
 * 1.2 added gd_action.flags (GD_ACTION_NEEDS_ORIGIN), the history host functions (join_since,
 * send_history), the status GD_ERR_ROOM_FULL and the presence host functions (presence, presence_count).
 */
#define GD_ABI_MINOR 2
/** Name of the entry function a version-1 plugin exports. */
#define GD_ENTRY_SYMBOL "godispatch_plugin_entry_v1"
/**
 * Name of the data symbol (a NUL-terminated `const char[]`) in which a Swift plugin records the
 * compiler that built it; the host compares it with its own before running any plugin code.
 */
#define GD_TOOLCHAIN_SYMBOL "godispatch_plugin_toolchain_v1"
/** Capacity of gd_error.message, including its terminating NUL. */
#define GD_ERROR_CAPACITY 512

/* ------------------------------------------------------------------ status */

/** Result of instantiate(), invoke() and most host functions. */
typedef enum gd_status {
    /** Done, successfully. */
    GD_OK = 0,
    /** invoke() only: the action deferred its work; complete() will be called once. */
    GD_PENDING = 1,
    /** Generic failure; the message says why. The pipeline stops with `action_failed`. */
    GD_ERR_FAILED = -1,
    /** Parameters are missing or of the wrong type. */
    GD_ERR_INVALID = -2,
    /** The action refuses the message; the pipeline stops with `forbidden`. */
    GD_ERR_FORBIDDEN = -3,
    /** A named connection, user or room does not exist. */
    GD_ERR_NOT_FOUND = -4,
    /** A host function was called with a call handle that is no longer valid. */
    GD_ERR_STALE = -5,
    /**
     * 1.2: join() answers it when the room has its rule's `max_members` connections; an action that
     * returns it stops the pipeline with the client error code `room_full`. A plugin built against 1.0 or
     * 1.1 sees it as an unknown error status from join() (and fails with `action_failed`).
     */
    GD_ERR_ROOM_FULL = -6
} gd_status;

/* ------------------------------------------------------------------ values */

/** A byte string that is not NUL-terminated. Ownership is stated where it is used. */
typedef struct gd_str {
    const char *data;
    size_t len;
} gd_str;

/** What a gd_value holds. */
typedef enum gd_value_kind {
    /** No value (a missing template path, a JSON null, an absent parameter). */
    GD_VALUE_NULL = 0,
    /** `text` is a plain UTF-8 string, already unescaped. */
    GD_VALUE_STRING = 1,
    /** `text` is one JSON value (number, true/false, object or array) as bytes. */
    GD_VALUE_JSON = 2
} gd_value_kind;

/** A parameter or cargo value. Ownership of `text` is stated by whoever hands it out. */
typedef struct gd_value {
    int32_t kind; /* gd_value_kind */
    gd_str text;
} gd_value;

/** gd_param.flags bit: at config time, the value is a template and is only known per message. */
#define GD_PARAM_TEMPLATED 1u

/** One named parameter of a pipeline step. */
typedef struct gd_param {
    gd_str name;
    gd_value value;
    /** GD_PARAM_* bits. At config time a templated value holds its template source (GD_VALUE_STRING). */
    uint32_t flags;
} gd_param;

/** An error message buffer. OWNERSHIP: host; the plugin writes into it during the call. */
typedef struct gd_error {
    uint32_t size;
    /** Bytes of `message` in use, without the NUL. */
    uint32_t len;
    char message[GD_ERROR_CAPACITY];
} gd_error;

/** Copy a NUL-terminated message into `error` (truncated to fit). */
static inline void gd_error_set(gd_error *error, const char *message) {
    if (error == NULL || message == NULL) return;
    uint32_t n = 0;
    while (message[n] != '\0' && n < GD_ERROR_CAPACITY - 1) {
        error->message[n] = message[n];
        n++;
    }
    error->message[n] = '\0';
    error->len = n;
}

/* ------------------------------------------------------------------ steps */

/**
 * A pipeline step as written in the configuration, handed to instantiate() at
 * load time. OWNERSHIP: host; borrowed for the duration of instantiate().
 */
typedef struct gd_step_config {
    uint32_t size;
    /** The event this step belongs to, e.g. "chat.send". */
    gd_str event;
    /** The step's `id`, or empty. */
    gd_str step_id;
    /** The action name, e.g. "_notify_room". */
    gd_str action;
    /** "file:line:column" of the step in the configuration, for messages. */
    gd_str location;
    /** Static parameters: literal values as GD_VALUE_STRING / GD_VALUE_JSON, templates flagged GD_PARAM_TEMPLATED. */
    const gd_param *params;
    size_t param_count;

    /* ---- 1.1 (check `size`) ---- */

    /** `plugins.settings.<plugin name>` as one JSON object, or empty. */
    gd_str plugin_settings;
} gd_step_config;

/**
 * One invocation of an action for one message: an opaque handle (not a pointer to dereference).
 * OWNERSHIP: host; valid until invoke() returns, on invoke()'s thread; GD_ERR_STALE afterwards.
 */
typedef struct gd_call gd_call;

/* ------------------------------------------------------------------ actions */

/**
 * An action a plugin provides. OWNERSHIP: plugin; must live as long as the process.
 *
 * instantiate (optional): called once per pipeline step at config load. Check the
 *   static params and pre-parse them; put anything worth keeping in *step_state.
 *   Return GD_OK, or an error status with `error` filled: the configuration is
 *   refused, naming the step's location and your message.
 * release (optional): frees a step_state made by instantiate (on shutdown or reload).
 * invoke (required): run the action for one message. Resolved params and the cargo
 *   are read through the host table with `call`. Return GD_OK, GD_PENDING (after
 *   defer()), or an error status with `error` filled.
 * flags (1.2): GD_ACTION_* bits describing the action to the host, read once at load.
 */
typedef struct gd_action {
    uint32_t size;
    /** NUL-terminated, static. By convention bundled actions start with '_'. */
    const char *name;
    /** NUL-terminated one-line description, static; may be NULL. */
    const char *description;
    /** Opaque to the host; passed back to every callback. */
    void *action_data;
    int32_t (*instantiate)(void *action_data, const gd_step_config *config, void **step_state, gd_error *error);
    void (*release)(void *action_data, void *step_state);
    int32_t (*invoke)(void *action_data, void *step_state, gd_call *call, gd_error *error);

    /* ---- 1.2 (check `size`; the host reads 0 from a plugin built against 1.0 or 1.1) ---- */

    /** GD_ACTION_* bits. Static: the host copies the struct at load and never reads it again. */
    uint32_t flags;
} gd_action;

/**
 * gd_action.flags bit: the action only makes sense for the connection that sent the message (the
 * "origin"): it sends to it, joins or leaves rooms for it, or reads its user (send_origin, join, leave,
 * has_permission / set_permissions / is_member with an empty id). A pipeline that runs with no origin
 * connection — a `server_events:` pipeline, started by a backend through the engine's API — may not
 * use it: the configuration is refused at load, naming the step. Leave the bit clear for an action
 * whose origin-dependent behaviour is optional (for instance one that takes an explicit `user`
 * param): without an origin, the host functions that need one answer GD_ERR_NOT_FOUND and log why.
 */
#define GD_ACTION_NEEDS_ORIGIN 1u

/** What the entry function returns. OWNERSHIP: plugin; built once, never freed. */
typedef struct gd_plugin_descriptor {
    /** sizeof(gd_plugin_descriptor) as the plugin was compiled. */
    uint32_t size;
    uint16_t abi_major;
    uint16_t abi_minor;
    /** NUL-terminated plugin name and version, e.g. "messaging", "1.0.0". */
    const char *name;
    const char *version;
    /**
     * The Swift toolchain the plugin was built with (GoDispatchPluginKit fills it
     * in), or NULL for a plugin with no Swift code. The host refuses a Swift plugin
     * built by another toolchain: Swift has no stable ABI on Linux.
     */
    const char *toolchain;
    /** NUL-terminated one-line description; may be NULL. */
    const char *description;
    const gd_action *actions;
    size_t action_count;
} gd_plugin_descriptor;

/* ------------------------------------------------------------------ sizes */

/*
 * The smallest `size` the host accepts for each struct a plugin hands it: the layout of the minor that
 * introduced the struct. Build with the full sizeof(); these are for hosts and for reading.
 */
enum {
    GD_PLUGIN_DESCRIPTOR_SIZE_1_0 = offsetof(gd_plugin_descriptor, action_count) + sizeof(size_t),
    GD_ACTION_SIZE_1_0 = offsetof(gd_action, invoke) + sizeof(void *),
    /** gd_action with `flags` (1.2). The host accepts GD_ACTION_SIZE_1_0 and reads flags only from this size up. */
    GD_ACTION_SIZE_1_2 = offsetof(gd_action, flags) + sizeof(uint32_t),
};

/* ------------------------------------------------------------------ host */

/** Log levels for gd_host_api.log. */
typedef enum gd_log_level {
    GD_LOG_TRACE = 0,
    GD_LOG_DEBUG = 1,
    GD_LOG_INFO = 2,
    GD_LOG_NOTICE = 3,
    GD_LOG_WARNING = 4,
    GD_LOG_ERROR = 5
} gd_log_level;

/** gd_message.flags bit: send_room skips the connection that sent the message. */
#define GD_SEND_EXCLUDE_ORIGIN 1u

/**
 * A message to send. The host builds the frame
 * {"event":event,"target":target,"payload":payload,"from":<sender's user id>}
 * once and shares it between all recipients; a server event (no origin connection) has no sender, so
 * its frames carry no "from". OWNERSHIP: caller; borrowed.
 */
typedef struct gd_message {
    uint32_t size;
    /** Event name clients see, e.g. "chat.message". Required. */
    gd_str event;
    /** Target clients see (a room name, say); empty = omitted. send_room uses the room. */
    gd_str target;
    /** The payload: GD_VALUE_NULL, a string, or JSON. */
    gd_value payload;
    /** GD_SEND_* bits. */
    uint32_t flags;
} gd_message;

/** The smallest gd_message the host accepts (the 1.0 layout). */
enum { GD_MESSAGE_SIZE_1_0 = offsetof(gd_message, flags) + sizeof(uint32_t) };

/** Which side set_permissions changes. */
typedef enum gd_permission_op {
    GD_PERMISSIONS_SET = 0,
    GD_PERMISSIONS_ADD = 1,
    GD_PERMISSIONS_REMOVE = 2
} gd_permission_op;

/** What disconnect() closes. */
typedef enum gd_disconnect_scope {
    GD_DISCONNECT_CONNECTION = 0,
    GD_DISCONNECT_USER = 1
} gd_disconnect_scope;

/** One HTTP header. */
typedef struct gd_http_header {
    gd_str name;
    gd_str value;
} gd_http_header;

/**
 * An outbound HTTP request (1.1). OWNERSHIP: caller; borrowed: the host copies what it needs before
 * http_request returns.
 */
typedef struct gd_http_request {
    uint32_t size;
    /** "POST", "GET", … */
    gd_str method;
    /** An absolute http:// or https:// URL. */
    gd_str url;
    const gd_http_header *headers;
    size_t header_count;
    gd_str body;
    /** Per attempt; the host enforces it. 0 = 10 seconds. */
    uint32_t timeout_ms;
    /** Attempts in all (1 = no retry). Connection errors, timeouts and 5xx answers are retried. */
    uint32_t max_attempts;
    /** First retry delay; each later one doubles, with random jitter of up to 50%. 0 = 200 ms. */
    uint32_t backoff_ms;
    /**
     * If non-empty, the host signs the request: `X-GoDispatch-Timestamp: <unix seconds>` and
     * `X-GoDispatch-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body, keyed with this secret>`.
     */
    gd_str signing_secret;
} gd_http_request;

/** The smallest gd_http_request the host accepts (the 1.1 layout). */
enum { GD_HTTP_REQUEST_SIZE_1_1 = offsetof(gd_http_request, signing_secret) + sizeof(gd_str) };

/**
 * Receives the outcome of http_request, exactly once, on any thread. `status` is GD_OK when an HTTP
 * answer arrived (any code, in `http_status`), or an error status (GD_ERR_FAILED) with `error` saying
 * why no answer arrived. `body` and `error` are borrowed for the duration of the callback.
 */
typedef void (*gd_http_callback)(void *user_data, int32_t status, uint16_t http_status, gd_str body, gd_str error);

/** Identifies a deferred invocation; 0 is never a valid ticket. */
typedef uint64_t gd_ticket;

/**
 * The host functions. OWNERSHIP: host; valid for the life of the process.
 * New functions are only ever appended; check GD_HOST_HAS before calling one
 * newer than the minor you need.
 *
 * Unless stated otherwise, `call` must be the handle passed to the current
 * invoke() and the function must be called on that invoke()'s thread before it
 * returns. gd_str arguments are borrowed. Values handed out through gd_value /
 * gd_str pointers stay valid until invoke() returns.
 */
typedef struct gd_host_api {
    /** sizeof(gd_host_api) as the host was compiled. */
    uint32_t size;
    uint16_t abi_major;
    uint16_t abi_minor;

    /* ---- 1.0 ---- */

    /** Log through the engine's logger. Any thread. `plugin` names the source. */
    void (*log)(int32_t level, gd_str plugin, gd_str message);

    /** A resolved parameter by name; GD_ERR_NOT_FOUND (and a NULL value) if the step has none. */
    int32_t (*param)(const gd_call *call, gd_str name, gd_value *out);
    /** Number of resolved parameters. */
    size_t (*param_count)(const gd_call *call);
    /** The i-th resolved parameter (0-based). */
    int32_t (*param_at)(const gd_call *call, size_t index, gd_param *out);
    /**
     * A value of the cargo by path, as a template would name it: "payload.text",
     * "target", "event", "user.id", "user.perms", "connection.id", "message.id",
     * "steps.<id>.field". A missing path gives GD_VALUE_NULL and GD_OK. In a server event (no
     * origin) "user.*", "connection.id", "message.id" and "close.*" are always GD_VALUE_NULL.
     */
    int32_t (*cargo)(const gd_call *call, gd_str path, gd_value *out);

    /*
     * The send functions refuse (GD_ERR_INVALID, nothing is sent) a message without an event, with an
     * event, target or string payload that is not UTF-8, or a GD_VALUE_JSON payload that is not
     * exactly one JSON value. Closed connections receive nothing and are not counted.
     */

    /**
     * Send to the connection that sent the message. Returns recipients (0 or 1) or an error status;
     * GD_ERR_NOT_FOUND when the run has no origin (a server event).
     */
    int64_t (*send_origin)(gd_call *call, const gd_message *message);
    /** Send to one connection by id. Returns 1, or GD_ERR_NOT_FOUND. */
    int64_t (*send_connection)(gd_call *call, gd_str connection_id, const gd_message *message);
    /** Send to every connection of a user. Returns the number of connections reached. */
    int64_t (*send_user)(gd_call *call, gd_str user_id, const gd_message *message);
    /** Send to every member of a room. Returns the number of connections reached. */
    int64_t (*send_room)(gd_call *call, gd_str room, const gd_message *message);

    /**
     * Add the origin connection to a room (created on first join). GD_OK if already a member.
     * GD_ERR_NOT_FOUND when the run has no origin (a server event). GD_ERR_ROOM_FULL (1.2) when the room
     * has its rule's `max_members` connections. In a `presence: full` room the connection is listed with
     * the rule's `presence_info` evaluated against this run's cargo.
     */
    int32_t (*join)(gd_call *call, gd_str room);
    /** Remove the origin connection from a room. GD_ERR_NOT_FOUND if it was not a member, or there is no origin. */
    int32_t (*leave)(gd_call *call, gd_str room);

    /**
     * 1 if the user (empty = the origin's user) holds the permission now, 0 if not, or an error status
     * (GD_ERR_NOT_FOUND for an empty user_id when the run has no origin).
     */
    int32_t (*has_permission)(gd_call *call, gd_str user_id, gd_str permission);
    /**
     * Change a connected user's live permissions (empty user_id = the origin's user).
     * Every connection of that user sees the change at once. GD_ERR_NOT_FOUND if the
     * user has no connection on this node, or user_id is empty and the run has no origin.
     */
    int32_t (*set_permissions)(gd_call *call, gd_str user_id, int32_t op, const gd_str *permissions, size_t count);
    /**
     * Close a connection or every connection of a user with `code`, which must be 1000, 1008 or
     * 4000-4999 (else GD_ERR_INVALID). Returns how many were closed.
     */
    int64_t (*disconnect)(gd_call *call, int32_t scope, gd_str id, uint16_t code, gd_str reason);

    /** The step's result (one JSON value), readable by later steps as {{steps.<id>...}}. Copied. */
    int32_t (*set_result)(gd_call *call, gd_str json);

    /**
     * Defer the invocation: invoke() then returns GD_PENDING. The ticket is outstanding until
     * complete() is called with it, also after the step timed out (the pipeline then no longer
     * waits, but the step's state is kept until the ticket settles). If invoke() returns anything but
     * GD_PENDING after defer(), the ticket is void at once. Returns 0 on error (a second defer()).
     */
    gd_ticket (*defer)(gd_call *call);
    /**
     * Finish a deferred invocation. Any thread, exactly once, possibly before invoke()
     * returns. `result_json` (may be empty) becomes the step's result; on an error
     * status `message` says why. Borrowed. Returns GD_ERR_STALE for an unknown or already
     * completed ticket, and for a timed-out one (which this call settles: the host stops
     * keeping the step's state for it).
     */
    int32_t (*complete)(gd_ticket ticket, int32_t status, gd_str result_json, gd_str message);

    /**
     * 1 if the connection (empty id = the origin) is a member of `room`, 0 if not, or an error status
     * (GD_ERR_NOT_FOUND for an empty id when the run has no origin: there is no sender to check).
     */
    int32_t (*is_member)(gd_call *call, gd_str connection_id, gd_str room);

    /* ---- 1.1 ---- */

    /**
     * Sends an HTTP request without blocking; `callback(user_data, …)` is called exactly once from any
     * thread (possibly before this returns). Any thread. Returns GD_OK, or an error status (and then
     * the callback is never called) if the request is malformed or the host has no HTTP client.
     */
    int32_t (*http_request)(const gd_http_request *request, gd_http_callback callback, void *user_data);

    /* ---- 1.2 ---- */

    /* 1.2: history */

    /**
     * Like join(), and in a room whose `rooms:` rule keeps history, the origin also gets one frame
     * `{"event":"_joined","target":room,"payload":{"offset":top,"epoch":e,"recovered":bool,
     * "publications":[…]}}` before any live frame of the room. `since_json` (borrowed; empty = none) is
     * `{"offset":n,"epoch":"e"}`: when the rule has `recovery: true`, the epoch matches and every frame
     * after n is still held (at most `recovery_max`), `publications` holds exactly those frames and
     * `recovered` is true; otherwise `recovered` is false and `publications` empty. In a room without
     * history it is join() (since_json ignored). GD_ERR_INVALID for a `since_json` that is not such an
     * object; else as join().
     */
    int32_t (*join_since)(gd_call *call, gd_str room, gd_str since_json);
    /**
     * Send the origin `{"event":"_history","target":room,"payload":{"offset":top,"epoch":e,
     * "publications":[…]}}` with the room's newest `limit` held frames (limit < 0: all held), oldest
     * first. Returns how many frames it carried; GD_ERR_NOT_FOUND when the room keeps no history or the
     * run has no origin.
     */
    int64_t (*send_history)(gd_call *call, gd_str room, int64_t limit);

    /* 1.2: presence */

    /**
     * The presence of `room` as one JSON object, written to *out: `{"count":users,"users":{"<user id>":
     * {"connections":n,"info":…}}}` when the room's rule says `presence: full`, `{"count":users,
     * "connections":n}` for `presence: stats` (an empty room answers count 0). OWNERSHIP: host; valid until
     * invoke() returns. GD_ERR_NOT_FOUND (and an empty *out) when the room keeps no presence, GD_ERR_INVALID
     * for an empty room name. Needs no origin.
     */
    int32_t (*presence)(gd_call *call, gd_str room, gd_str *out);
    /**
     * How many users (a user with several connections counts once) and connections `room`'s presence
     * holds, written to *users and *connections (either may be NULL). GD_ERR_NOT_FOUND when the room keeps
     * no presence. Needs no origin.
     */
    int32_t (*presence_count)(gd_call *call, gd_str room, uint64_t *users, uint64_t *connections);
} gd_host_api;

/** True if the host table has the function `field` (it was appended in a minor this host knows). */
#define GD_HOST_HAS(host, field) \
    ((host) != NULL && (size_t)(host)->size >= offsetof(gd_host_api, field) + sizeof((host)->field))

/** The signature of the entry symbol. */
typedef const gd_plugin_descriptor *(*gd_plugin_entry_fn)(const gd_host_api *host);

#ifdef __cplusplus
}
#endif

#endif /* GODISPATCH_PLUGIN_H */
