// The chat demo: a page on clients/js/godispatch.js and Examples/chat-web/config.yaml.
// Rooms keep their last 200 messages with recovery, so a reload shows the recent past and a dropped
// connection comes back without holes; the people list is the room's live presence.
import { connect } from './godispatch.js';

const DEFAULT_ROOMS = ['general', 'random', 'dev'];
const $ = (id) => document.getElementById(id);

const rooms = new Map(); // name -> { messages: Map<offset, message>, unread, epoch }
let current = null;
let me = null;
let client = null;

// --- Start: a name, a token, a connection ---------------------------------------------------------

$('welcome-form').addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = $('name').value.trim();
  if (!name) return;
  sessionStorage.setItem('demo.name', name);
  await start(name);
});

if (sessionStorage.getItem('demo.name')) start(sessionStorage.getItem('demo.name'));

async function issueToken(name) {
  const response = await fetch('/token', { method: 'POST', body: JSON.stringify({ name }) });
  if (!response.ok) throw new Error(`token: HTTP ${response.status}`);
  return response.json();
}

async function start(name) {
  const first = await issueToken(name);
  me = { id: first.user, name };
  $('welcome').hidden = true;
  $('app').hidden = false;
  $('me-name').textContent = name;
  paintAvatar($('me-avatar'), me.id, name);

  client = connect(first.ws, { getToken: async () => (await issueToken(name)).token });
  client.on('connecting', ({ attempt }) => setState(attempt > 1 ? `reconnecting (attempt ${attempt})…` : 'connecting…', ''));
  client.on('connected', () => setState('online', 'connected'));
  client.on('disconnected', ({ code, reconnect, delay }) =>
    setState(reconnect ? `offline (${code}), retrying in ${Math.ceil((delay || 0) / 1000)} s` : `disconnected (${code})`,
      reconnect ? '' : 'closed'));
  client.on('chat.message', (payload, frame) => receive(frame.target, frame, payload));
  client.on('joined', ({ room, recovered, since, epoch }) => {
    const state = roomState(room);
    // A first join, or a gap we could not fill: load the recent past from the room's history.
    if (!since || !recovered || (state.epoch && state.epoch !== epoch)) loadHistory(room);
    state.epoch = epoch;
    if (since && recovered) notice(room, null);
  });
  client.on('recovery_failed', ({ room }) => notice(room, 'Some messages could not be recovered after the reconnect; showing the latest history.'));
  client.on('presence', ({ room }) => { if (room === current) renderPeople(); });
  client.on('error', (payload) => notice(current, `${payload.code}: ${payload.message}`));

  for (const room of DEFAULT_ROOMS) await openRoom(`chat:${room}`, false);
  select('chat:general');
}

function setState(text, kind) {
  $('connection').textContent = text;
  $('connection').className = `state ${kind}`;
}

// --- Rooms -------------------------------------------------------------------------------------------

function roomState(room) {
  if (!rooms.has(room)) rooms.set(room, { messages: new Map(), unread: 0, epoch: null });
  return rooms.get(room);
}

async function openRoom(room, focus = true) {
  roomState(room);
  renderRooms();
  try {
    await client.join(room);
  } catch (error) {
    notice(room, `Could not join ${room}: ${error.code || error.message}`);
  }
  if (focus) select(room);
}

async function loadHistory(room) {
  try {
    const frame = await client.request('room.history', room, { limit: 50 });
    for (const publication of frame.payload.publications) receive(room, publication, publication.payload, true);
  } catch (error) {
    notice(room, `History unavailable: ${error.code || error.message}`);
  }
}

function select(room) {
  current = room;
  roomState(room).unread = 0;
  $('room-title').textContent = `# ${room.replace(/^chat:/, '')}`;
  renderRooms();
  renderMessages();
  renderPeople();
  $('notice').hidden = true;
  $('text').focus();
}

$('new-room').addEventListener('submit', (event) => {
  event.preventDefault();
  const name = $('new-room-name').value.trim().toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '');
  $('new-room-name').value = '';
  if (name) openRoom(`chat:${name}`);
});

// --- Messages ----------------------------------------------------------------------------------------

function receive(room, frame, payload, fromHistory = false) {
  if (!room || !payload || typeof payload.text !== 'string') return;
  const state = roomState(room);
  const key = frame.offset ?? `${Date.now()}-${Math.random()}`;
  if (state.messages.has(key)) return; // history and live frames can overlap: keyed by offset
  state.messages.set(key, { offset: frame.offset ?? Infinity, from: frame.from, name: payload.name || frame.from, text: payload.text, at: new Date() });
  if (room === current) renderMessages();
  else if (!fromHistory) { state.unread += 1; renderRooms(); }
}

$('composer').addEventListener('submit', async (event) => {
  event.preventDefault();
  const text = $('text').value.trim();
  if (!text || !current) return;
  $('text').value = '';
  try {
    await client.request('chat.send', current, { text });
  } catch (error) {
    notice(current, error.code === 'forbidden' ? 'You cannot write here (muted?).' : `Not sent: ${error.code || error.message}`);
    $('text').value = text;
  }
});

function notice(room, text) {
  if (room !== current) return;
  $('notice').hidden = !text;
  $('notice').textContent = text || '';
}

// --- Rendering ---------------------------------------------------------------------------------------

function renderRooms() {
  const items = [...rooms.keys()].map((room) => {
    const item = document.createElement('li');
    item.className = room === current ? 'current' : '';
    item.append(`# ${room.replace(/^chat:/, '')}`);
    const unread = rooms.get(room).unread;
    if (unread) {
      const badge = document.createElement('span');
      badge.className = 'badge';
      badge.textContent = unread;
      item.append(badge);
    }
    item.addEventListener('click', () => select(room));
    return item;
  });
  $('room-list').replaceChildren(...items);
}

function renderMessages() {
  const list = $('messages');
  const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const messages = [...roomState(current).messages.values()].sort((a, b) => a.offset - b.offset);
  let previous = null;
  const items = messages.map((message) => {
    const item = document.createElement('li');
    const continued = previous && previous.from === message.from;
    item.className = [message.from === me.id ? 'mine' : '', continued ? 'continued' : ''].join(' ');
    const avatar = document.createElement('span');
    paintAvatar(avatar, message.from, message.name);
    const body = document.createElement('div');
    body.className = 'body';
    if (!continued) {
      const who = document.createElement('div');
      who.className = 'who';
      who.append(message.name);
      const time = document.createElement('time');
      time.textContent = message.at.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
      who.append(time);
      body.append(who);
    }
    const text = document.createElement('div');
    text.className = 'text';
    text.textContent = message.text;
    body.append(text);
    item.append(avatar, body);
    previous = message;
    return item;
  });
  if (!items.length) {
    const empty = document.createElement('li');
    empty.className = 'system';
    empty.textContent = 'No messages yet: say hello.';
    items.push(empty);
  }
  list.replaceChildren(...items);
  if (nearBottom || messages.at(-1)?.from === me.id) list.scrollTop = list.scrollHeight;
  const count = messages.length;
  $('room-meta').textContent = count ? `${count} message${count === 1 ? '' : 's'}` : '';
}

function renderPeople() {
  const members = client ? client.presence(current) : new Map();
  const items = [...members.entries()]
    .sort(([a], [b]) => (a === me.id ? -1 : b === me.id ? 1 : a.localeCompare(b)))
    .map(([user, member]) => {
      const item = document.createElement('li');
      const avatar = document.createElement('span');
      const name = member.info?.name || user;
      paintAvatar(avatar, user, name);
      item.append(avatar, user === me.id ? `${name} (you)` : name);
      if (member.connections > 1) {
        const tabs = document.createElement('small');
        tabs.textContent = `${member.connections} tabs`;
        item.append(tabs);
      }
      return item;
    });
  $('members').replaceChildren(...items);
  $('online-count').textContent = members.size;
}

function paintAvatar(element, id, name) {
  let hash = 0;
  for (const char of id || '?') hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  element.className = 'avatar';
  element.style.background = `hsl(${hash % 360} 55% 48%)`;
  element.textContent = (name || id || '?').trim().charAt(0).toUpperCase();
}
