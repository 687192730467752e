// GoDispatch browser client: one dependency-free ES module, no build step.
// The wire protocol it speaks is described in README.md ("Wire protocol", "History and recovery",
// "Presence") and summed up at the end of clients/js/README.md.

/**
 * @typedef {Object} Frame  A JSON frame from the server.
 * @property {string} event
 * @property {string} [target]
 * @property {*} [payload]
 * @property {string} [from]    the server-verified sender; absent on frames from the server or backend
 * @property {string|number} [ref]  the `id` of the message this frame answers
 * @property {number} [offset]  position in the room's stream (rooms with history)
 * @property {string} [epoch]   the stream's incarnation (rooms with history)
 */

/**
 * @typedef {Object} ConnectOptions
 * @property {string} [token]  a JWT used for every connection (no refresh: the server closes with 4003 at its `exp`)
 * @property {() => Promise<string>|string} [getToken]  called before every (re)connect and before `exp`
 * @property {number} [minReconnectDelay=500]   ms; backoff base (full jitter: a random delay in [0, base·2^attempt))
 * @property {number} [maxReconnectDelay=20000] ms; backoff cap
 * @property {number} [stableAfter=5000]  ms a connection must last for the backoff to start over
 * @property {number} [refreshMargin=60000] ms before `exp` to refresh (at most a quarter of the token's remaining life)
 * @property {number} [requestTimeout=10000] ms; default timeout of request() and join()
 * @property {number} [maxQueued=1000]  messages kept while not connected; more throw `queue_full`
 * @property {string} [joinEvent="room.join"]  the event join() sends; its `_join` step takes
 *   `since: "{{payload.since}}"`
 * @property {string} [leaveEvent="room.leave"] the event leave() sends
 * @property {string} [whoEvent="room.who"]    the event who() sends (its `_presence` step answers `_presence_state`)
 * @property {(code: number, reason: string) => boolean} [shouldReconnect]  overrides the close-code table
 * @property {typeof WebSocket} [WebSocket]  the WebSocket constructor (default: the global one)
 */

const DEFAULTS = {
  minReconnectDelay: 500,
  maxReconnectDelay: 20000,
  stableAfter: 5000,
  refreshMargin: 60000, // Chrome runs the timers of a tab hidden for 5 minutes once a minute
  requestTimeout: 10000,
  maxQueued: 1000,
  joinEvent: 'room.join',
  leaveEvent: 'room.leave',
  whoEvent: 'room.who',
};

/** An error with a machine-readable `code`: the server's (`forbidden`, …), `timeout`, `disconnected`… */
export class GoDispatchError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {Frame} [frame]  the server's error frame, when there is one
   */
  constructor(code, message, frame) {
    super(message);
    this.name = 'GoDispatchError';
    this.code = code;
    this.frame = frame;
  }
}

/**
 * Whether the client reconnects after the server closed with `code`. No after 1008 (policy: a slow
 * reader or a client that kept breaking the rate limit) and 4000–4999 (4001 replaced, 4003 token
 * expired or refused, 4008 banned by the shipped config, and any `_disconnect` code of the
 * configuration); yes after everything else (1000, 1001 shutdown or idle, 1006 dropped or upgrade refused, …).
 * @param {number} code
 * @returns {boolean}
 */
export function shouldReconnect(code) {
  return !(code === 1008 || (code >= 4000 && code <= 4999));
}

/**
 * The `exp` claim (unix seconds) of a JWT, or null. The signature is not checked: the server does that.
 * @param {string} token
 * @returns {number|null}
 */
export function tokenExpiry(token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(part.padEnd(Math.ceil(part.length / 4) * 4, '=')), (c) => c.charCodeAt(0));
    const exp = JSON.parse(new TextDecoder().decode(bytes)).exp;
    return typeof exp === 'number' ? exp : null;
  } catch {
    return null;
  }
}

/** `url` as an absolute ws:// or wss:// URL: a relative one (`/ws`) is taken from the page's origin. */
function socketURL(url) {
  const absolute = new URL(url, globalThis.location?.href);
  absolute.protocol = absolute.protocol.replace(/^http/, 'ws');
  if (!/^wss?:$/.test(absolute.protocol)) throw new TypeError(`connect: ${url} is not a WebSocket URL`);
  return absolute.toString();
}

/** A client message; `target` and `payload` are left out when null or undefined. */
function message(event, target, payload) {
  const out = { event };
  if (target != null) out.target = target;
  if (payload != null) out.payload = payload;
  return out;
}

/**
 * Opens a client; it starts connecting once the calling code has run, so handlers added right after
 * connect() see every event.
 * @param {string} url  `wss://chat.example.com/ws`, or `/ws` on the page's origin; the token goes in `?token=`
 * @param {ConnectOptions} options  `token` or `getToken` is required
 * @returns {GoDispatchClient}
 */
export function connect(url, options) {
  const client = new GoDispatchClient(url, options);
  queueMicrotask(() => client.state === 'idle' && client.open()); // after the caller's on() calls
  return client;
}

/** A connection that reconnects, re-joins its rooms with recovery, refreshes its token and tracks presence. */
export class GoDispatchClient {
  /**
   * @param {string} url
   * @param {ConnectOptions} options
   */
  constructor(url, options = {}) {
    if (!options.token && !options.getToken) throw new TypeError('connect: give `token` or `getToken`');
    this.url = socketURL(url);
    this._o = { ...DEFAULTS, ...options };
    this._WebSocket = options.WebSocket || globalThis.WebSocket;
    /** @type {'idle'|'connecting'|'connected'|'disconnected'|'closed'} */
    this.state = 'idle';
    this._handlers = new Map(); // event name → Set of handlers
    this._pending = new Map(); // request id → {resolve, reject, match, timer, sent}
    this._queue = []; // [{message, pending}] waiting for a connection
    this._rooms = new Map(); // room → {payload, offset, epoch, sentSince, members, waiters}
    this._seq = 0;
    this._idPrefix = Math.random().toString(36).slice(2, 8); // ids never look like another client's
    this._generation = 0; // bumps on every attempt: callbacks of an older socket do nothing
    this._attempt = 0;
    this._everConnected = false;
    this._ws = null;
    this._token = options.token || null;
    this._timers = { reconnect: 0, refresh: 0 };
  }

  // ── Events ────────────────────────────────────────────────────────────────────────────────────

  /**
   * Calls `handler` for frames of `event` (`handler(payload, frame)`), for every frame (`"*"`: `handler(frame)`),
   * or for the client's own events: `connecting`, `connected`, `disconnected`, `joined`, `recovery_failed`,
   * `join_failed`, `presence`, `refreshed`, `refresh_failed` (`handler(info)`). Server `error` frames that
   * answer no request() come as `error`. Returns a function that removes the handler.
   * @param {string} event
   * @param {Function} handler
   * @returns {() => void}
   */
  on(event, handler) {
    if (!this._handlers.has(event)) this._handlers.set(event, new Set());
    this._handlers.get(event).add(handler);
    return () => this.off(event, handler);
  }

  /**
   * Removes a handler added with on().
   * @param {string} event
   * @param {Function} handler
   */
  off(event, handler) {
    this._handlers.get(event)?.delete(handler);
  }

  _emit(event, ...args) {
    for (const handler of [...(this._handlers.get(event) || [])]) {
      try {
        handler(...args);
      } catch (error) {
        // One failing handler must not stop the others nor the client: report it like an uncaught error.
        setTimeout(() => { throw error; });
      }
    }
  }

  // ── Connection ────────────────────────────────────────────────────────────────────────────────

  /**
   * Starts connecting: connect() calls it; call it again to reopen after close() or a final close code,
   * or to skip the wait of a pending reconnect.
   */
  open() {
    if (this.state === 'connecting' || this.state === 'connected') return;
    clearTimeout(this._timers.reconnect);
    this._attempt = 0;
    this._connect();
  }

  /**
   * Closes for good: no reconnect; pending requests reject with `disconnected`. Remembered rooms stay,
   * so open() re-joins them (with recovery).
   * @param {number} [code=1000]  1000 or 3000–4999 (what a browser may send)
   * @param {string} [reason]
   */
  close(code = 1000, reason = '') {
    this._generation++;
    clearTimeout(this._timers.reconnect);
    clearTimeout(this._timers.refresh);
    const ws = this._ws;
    this._ws = null;
    if (ws && ws.readyState < 2) ws.close(code, reason);
    this._failPending(true);
    const wasOpen = this.state === 'connected' || this.state === 'connecting';
    this.state = 'closed';
    if (wasOpen) this._emit('disconnected', { code, reason, reconnect: false, byClient: true });
  }

  async _connect() {
    const generation = ++this._generation;
    this.state = 'connecting';
    this._emit('connecting', { attempt: this._attempt });
    let token;
    try {
      token = this._o.getToken ? await this._o.getToken() : this._token;
    } catch (error) {
      if (generation !== this._generation) return;
      return this._lost(0, `getToken failed: ${error && error.message}`);
    }
    if (generation !== this._generation) return;
    this._token = token;
    const url = new URL(this.url);
    url.searchParams.set('token', token);
    let ws;
    try {
      ws = new this._WebSocket(url.toString());
    } catch (error) {
      return this._lost(0, `WebSocket: ${error && error.message}`);
    }
    this._ws = ws;
    let openedAt = 0;
    ws.onopen = () => {
      if (generation !== this._generation) return;
      openedAt = Date.now();
      this.state = 'connected';
      // Rooms first, so queued messages and those the `connected` handlers send find them joined.
      for (const [room, st] of this._rooms) this._sendJoin(room, st);
      for (const { message, pending } of this._queue.splice(0)) this._write(message, pending);
      this._scheduleRefresh(token);
      this._emit('connected', { reconnect: this._everConnected });
      this._everConnected = true;
    };
    ws.onmessage = (event) => {
      if (generation !== this._generation) return;
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return; // the protocol is JSON text; anything else is not ours to interpret
      }
      if (frame && typeof frame === 'object') this._receive(frame);
    };
    ws.onclose = (event) => {
      if (generation !== this._generation) return;
      this._ws = null;
      // A connection that lasted starts the backoff over; one closed right after opening keeps growing it.
      if (openedAt && Date.now() - openedAt >= this._o.stableAfter) this._attempt = 0;
      this._lost(event.code, event.reason);
    };
  }

  /** The connection (or an attempt) ended: fail what was sent on it, then reconnect or stop. */
  _lost(code, reason) {
    this._generation++;
    clearTimeout(this._timers.refresh);
    this._failPending(false);
    for (const [room, st] of this._rooms) {
      if (st.members.size) {
        st.members = new Map();
        this._emit('presence', { room, members: new Map(), joins: {}, leaves: {} });
      }
    }
    const decide = this._o.shouldReconnect || shouldReconnect;
    const reconnect = code === 0 || decide(code, reason);
    if (!reconnect) {
      this.state = 'closed';
      this._failQueue();
      this._emit('disconnected', { code, reason, reconnect: false });
      return;
    }
    const cap = Math.min(this._o.maxReconnectDelay, this._o.minReconnectDelay * 2 ** this._attempt++);
    const delay = Math.floor(Math.random() * cap); // full jitter
    this.state = 'disconnected';
    this._emit('disconnected', { code, reason, reconnect: true, delay });
    this._timers.reconnect = setTimeout(() => this._connect(), delay);
  }

  // ── Sending ───────────────────────────────────────────────────────────────────────────────────

  /**
   * Sends a message; while not connected it waits in a queue (sent after the rooms are re-joined).
   * Fire and forget: a message sent just before a drop may be lost.
   * @param {string} event
   * @param {string} [target]
   * @param {*} [payload]
   */
  send(event, target, payload) {
    this._transmit(message(event, target, payload), null);
  }

  /**
   * Sends a message with a fresh `id` and resolves with the first frame whose `ref` is that id. Rejects
   * with a GoDispatchError: the server's code (`forbidden`, `unknown_event`, `invalid_payload`, …) on an
   * error frame naming the id, `timeout`, or `disconnected` when the connection ends first.
   * @param {string} event
   * @param {string} [target]
   * @param {*} [payload]
   * @param {{timeout?: number}} [options]
   * @returns {Promise<Frame>}
   */
  request(event, target, payload, options = {}) {
    return this._request(message(event, target, payload), options.timeout, null);
  }

  _request(message, timeout = this._o.requestTimeout, match) {
    const id = `${this._idPrefix}-${++this._seq}`;
    return new Promise((resolve, reject) => {
      const pending = { resolve, reject, match, sent: false };
      pending.timer = setTimeout(() => {
        this._pending.delete(id);
        reject(new GoDispatchError('timeout', `no answer to ${message.event} (id ${id}) within ${timeout} ms`));
      }, timeout);
      this._pending.set(id, pending);
      try {
        this._transmit({ ...message, id }, pending);
      } catch (error) {
        clearTimeout(pending.timer);
        this._pending.delete(id);
        reject(error);
      }
    });
  }

  _transmit(message, pending) {
    if (this.state === 'closed') throw new GoDispatchError('disconnected', 'the client is closed');
    if (this.state === 'connected') return this._write(message, pending);
    if (this._queue.length >= this._o.maxQueued) {
      throw new GoDispatchError('queue_full', `${this._queue.length} messages already wait for a connection`);
    }
    this._queue.push({ message, pending });
  }

  _write(message, pending) {
    if (pending && !this._pending.has(message.id)) return; // timed out while queued
    this._ws.send(JSON.stringify(message));
    if (pending) pending.sent = true;
  }

  /** Rejects the requests sent on the lost connection (all of them when the client closes for good). */
  _failPending(all) {
    for (const [id, pending] of this._pending) {
      if (!all && !pending.sent) continue;
      clearTimeout(pending.timer);
      this._pending.delete(id);
      pending.reject(new GoDispatchError('disconnected', 'the connection ended before the answer'));
    }
    if (all) this._failQueue();
  }

  _failQueue() {
    for (const { pending } of this._queue.splice(0)) {
      if (!pending) continue;
      for (const [id, p] of this._pending) if (p === pending) this._pending.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new GoDispatchError('disconnected', 'the client closed before the message was sent'));
    }
  }

  // ── Receiving ─────────────────────────────────────────────────────────────────────────────────

  _receive(frame) {
    const room = typeof frame.target === 'string' ? this._rooms.get(frame.target) : undefined;
    if (room && !this._roomFrame(frame.target, room, frame)) return; // a duplicate
    if (frame.event === 'error') {
      const ref = frame.payload && frame.payload.ref;
      const pending = ref !== undefined && this._pending.get(ref);
      if (pending) {
        this._settle(ref, pending);
        const { code = 'error', message = code } = frame.payload;
        pending.reject(new GoDispatchError(code, message, frame));
        return; // it answered a request: the caller has it
      }
    } else {
      const pending = frame.ref !== undefined && this._pending.get(frame.ref);
      if (pending) {
        this._settle(frame.ref, pending);
        pending.resolve(frame);
      } else {
        for (const [id, p] of this._pending) {
          if (p.sent && p.match && p.match(frame)) {
            this._settle(id, p);
            p.resolve(frame);
            break;
          }
        }
      }
    }
    this._emit('*', frame);
    this._emit(frame.event, frame.payload, frame);
  }

  _settle(id, pending) {
    clearTimeout(pending.timer);
    this._pending.delete(id);
  }

  /** Room bookkeeping; false for a frame already seen (its offset is not above the last one held). */
  _roomFrame(room, st, frame) {
    const payload = frame.payload || {};
    switch (frame.event) {
      case '_joined':
        this._joined(room, st, payload);
        return true;
      case '_presence_state':
        if (payload.users) this._setMembers(room, st, payload.users);
        return true;
      case '_presence':
        this._presenceDiff(room, st, payload);
        return true;
      case '_recover': {
        // The server (a cluster node back from a broker outage) missed frames it cannot give back: live
        // frames go on from this position; refetch what came before.
        const since = st.epoch === undefined ? null : { offset: st.offset, epoch: st.epoch };
        if (typeof payload.offset === 'number' && typeof payload.epoch === 'string') {
          st.offset = payload.offset;
          st.epoch = payload.epoch;
        }
        this._emit('recovery_failed', {
          room, recovered: false, offset: payload.offset, epoch: payload.epoch, publications: 0, since,
        });
        return true;
      }
    }
    if (typeof frame.offset !== 'number' || typeof frame.epoch !== 'string') return true;
    if (frame.epoch === st.epoch && frame.offset <= st.offset) return false;
    st.offset = frame.offset;
    st.epoch = frame.epoch;
    return true;
  }

  _joined(room, st, payload) {
    const since = st.sentSince;
    if (payload.recovered && Array.isArray(payload.publications)) {
      // Recovered frames go through the same path as live ones: in order, each once.
      for (const publication of payload.publications) this._receive(publication);
    }
    st.offset = payload.offset;
    st.epoch = payload.epoch;
    if (payload.presence && payload.presence.users) this._setMembers(room, st, payload.presence.users);
    const info = {
      room,
      recovered: payload.recovered === true,
      offset: payload.offset,
      epoch: payload.epoch,
      publications: payload.recovered ? (payload.publications || []).length : 0,
      since,
    };
    this._emit('joined', info);
    if (since && !payload.recovered) this._emit('recovery_failed', info);
  }

  // ── Rooms ─────────────────────────────────────────────────────────────────────────────────────

  /**
   * Joins `room` and remembers it: after every reconnect it is joined again with
   * `payload.since = {offset, epoch}` of the last frame seen there, so missed frames arrive (in order,
   * through the usual handlers) or `recovery_failed` tells you to refetch. Resolves with the `_joined`
   * payload (rooms with history) or the frame answering the join; with null when the join sends
   * nothing back within the timeout. Rejects (and forgets the room) on an error frame such as `forbidden`.
   * @param {string} room
   * @param {Object} [payload]  sent with every join (e.g. `{quiet: true}`)
   * @param {{timeout?: number}} [options]
   * @returns {Promise<Object|null>}
   */
  join(room, payload = {}, options = {}) {
    let st = this._rooms.get(room);
    if (!st) {
      st = { payload, offset: undefined, epoch: undefined, sentSince: null, members: new Map(), waiters: [] };
      this._rooms.set(room, st);
    }
    st.payload = payload;
    return new Promise((resolve, reject) => {
      st.waiters.push({ resolve, reject, timeout: options.timeout });
      if (this.state === 'connected') this._sendJoin(room, st);
    });
  }

  _sendJoin(room, st) {
    const payload = { ...st.payload };
    if (st.epoch !== undefined) payload.since = { offset: st.offset, epoch: st.epoch };
    st.sentSince = payload.since || null;
    const waiters = st.waiters.splice(0);
    const timeout = Math.max(this._o.requestTimeout, ...waiters.map((w) => w.timeout || 0));
    const isJoined = (frame) => frame.event === '_joined' && frame.target === room;
    this._request({ event: this._o.joinEvent, target: room, payload }, timeout, isJoined).then(
      (frame) => waiters.forEach((w) => w.resolve(frame.event === '_joined' ? frame.payload : frame)),
      (error) => {
        if (error.code === 'timeout') return waiters.forEach((w) => w.resolve(null));
        if (error.code === 'disconnected' && this._rooms.get(room) === st) return st.waiters.push(...waiters);
        if (this._rooms.get(room) === st) this._rooms.delete(room);
        waiters.forEach((w) => w.reject(error));
        this._emit('join_failed', { room, error });
      },
    );
  }

  /**
   * Forgets `room` (no more re-joins) and sends the leave event.
   * @param {string} room
   */
  leave(room) {
    this._rooms.delete(room);
    if (this.state !== 'closed') this.send(this._o.leaveEvent, room);
  }

  /** @returns {string[]} the rooms join() remembers */
  rooms() {
    return [...this._rooms.keys()];
  }

  /**
   * The last position seen in a joined room (what the next re-join sends as `since`).
   * @param {string} room
   * @returns {{offset: number, epoch: string}|null}
   */
  position(room) {
    const st = this._rooms.get(room);
    return st && st.epoch !== undefined ? { offset: st.offset, epoch: st.epoch } : null;
  }

  // ── Presence ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Who is in a joined room, per user: `Map<userId, {connections?, info?}>`, kept live from `_joined`,
   * `_presence_state` and `_presence` diffs (rooms with `presence: full`). A copy.
   * @param {string} room
   * @returns {Map<string, {connections?: number, info?: *}>}
   */
  presence(room) {
    return new Map(this._rooms.get(room)?.members || []);
  }

  /**
   * Asks the server who is in `room` (the `whoEvent`, answered by `_presence_state`) and resolves with the members.
   * @param {string} room
   * @param {{timeout?: number}} [options]
   * @returns {Promise<Map<string, {connections?: number, info?: *}>>}
   */
  async who(room, options = {}) {
    const isState = (frame) => frame.event === '_presence_state' && frame.target === room;
    const frame = await this._request({ event: this._o.whoEvent, target: room }, options.timeout, isState);
    return new Map(Object.entries((frame.payload && frame.payload.users) || {}));
  }

  _setMembers(room, st, users) {
    st.members = new Map(Object.entries(users));
    this._emit('presence', { room, members: this.presence(room), joins: {}, leaves: {} });
  }

  _presenceDiff(room, st, payload) {
    const joins = payload.joins || {};
    const leaves = payload.leaves || {};
    for (const user of Object.keys(leaves)) st.members.delete(user);
    for (const [user, entry] of Object.entries(joins)) st.members.set(user, { ...st.members.get(user), ...entry });
    this._emit('presence', { room, members: this.presence(room), joins, leaves });
  }

  // ── Token refresh ─────────────────────────────────────────────────────────────────────────────

  /** Refreshes `refreshMargin` before `exp` (at most a quarter of the remaining life), with getToken(). */
  _scheduleRefresh(token) {
    clearTimeout(this._timers.refresh);
    const exp = this._o.getToken && tokenExpiry(token);
    if (!exp) return;
    const left = exp * 1000 - Date.now();
    this._refreshAt(Date.now() + Math.max(0, left - Math.min(this._o.refreshMargin, left / 4)), exp);
  }

  _refreshAt(due, exp) {
    // setTimeout fires at once beyond 2^31-1 ms (24.8 days): wait a day at most, then look again.
    const wait = Math.min(due - Date.now(), 86400000);
    this._timers.refresh = setTimeout(() => (Date.now() >= due ? this._refresh(exp) : this._refreshAt(due, exp)), wait);
  }

  async _refresh(exp) {
    const generation = this._generation;
    const retry = (error) => {
      if (generation !== this._generation) return;
      this._emit('refresh_failed', { error });
      // Try again while the old token lasts; past it the server closes with 4003.
      const wait = Math.min(5000, Math.max(500, (exp * 1000 - Date.now()) / 2));
      this._timers.refresh = setTimeout(() => this._refresh(exp), wait);
    };
    let token;
    try {
      token = await this._o.getToken();
    } catch (error) {
      return retry(error);
    }
    if (generation !== this._generation) return;
    const isRefreshed = (frame) => frame.event === 'auth.refreshed';
    try {
      const frame = await this._request({ event: 'auth.refresh', payload: { token } }, undefined, isRefreshed);
      if (generation !== this._generation) return;
      this._token = token;
      this._emit('refreshed', { expiresAt: frame.payload && frame.payload.expires_at });
      this._scheduleRefresh(token);
    } catch (error) {
      if (error.code !== 'disconnected') retry(error);
    }
  }
}
