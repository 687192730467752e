// The test page's side of Tests/browser: one client per tab, everything it sees recorded in `window.h`
// as plain JSON for Selenium to read. Tokens come from the test's static server (/token), the way an
// app would fetch them from its backend; `hold()` makes getToken wait, so a test decides when a
// reconnect may proceed.
import { connect, tokenExpiry } from '/client/godispatch.js';

const h = (window.h = { log: [], frames: [], tokens: [], waiting: false, gate: null, client: null });

/** Maps, errors and frames to plain JSON. */
function plain(value) {
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, plain(v)]));
  if (value instanceof Error) return { code: value.code, message: value.message };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

window.addEventListener('error', (e) => h.log.push({ type: 'page_error', message: String(e.message) }));
window.addEventListener('unhandledrejection', (e) => {
  h.log.push({ type: 'unhandled_rejection', message: String(e.reason) });
});

async function fetchToken(sub, perms, ttl) {
  const query = new URLSearchParams({ sub, perms: perms.join(','), ttl: String(ttl) });
  const response = await fetch(`/token?${query}`);
  if (!response.ok) throw new Error(`/token answered ${response.status}`);
  return response.text();
}

/** Connects as `sub`; `ttl` is each token's lifetime in seconds. */
window.start = ({ url, sub, perms = [], ttl = 3600, options = {} }) => {
  const getToken = async () => {
    if (h.gate) {
      h.waiting = true;
      await h.gate.promise;
      h.waiting = false;
    }
    const token = await fetchToken(sub, perms, ttl);
    h.tokens.push({ exp: tokenExpiry(token), at: Date.now() / 1000 });
    return token;
  };
  h.client = connect(url, { getToken, ...options });
  const names = ['connecting', 'connected', 'disconnected', 'joined', 'recovery_failed', 'join_failed', 'presence',
    'refreshed', 'refresh_failed', 'error'];
  for (const type of names) h.client.on(type, (info, frame) => h.log.push({ type, ...plain(frame || info) }));
  h.client.on('*', (frame) => h.frames.push(frame));
};

/** Makes getToken wait until release(). */
window.hold = () => {
  let release;
  h.gate = { promise: new Promise((resolve) => (release = resolve)), release };
};
window.release = () => {
  const gate = h.gate;
  h.gate = null;
  if (gate) gate.release();
};

/** Calls a client method; `done` gets {ok: result} or {error: {code, message}} (for execute_async_script). */
window.call = (method, args, done) => {
  Promise.resolve()
    .then(() => h.client[method](...args))
    .then((value) => done({ ok: plain(value === undefined ? null : value) }), (error) => done({ error: plain(error) }));
};

/** The texts of the chat.message frames a room delivered, in order. */
window.texts = (room) =>
  h.frames.filter((f) => f.event === 'chat.message' && f.target === room).map((f) => f.payload.text);
