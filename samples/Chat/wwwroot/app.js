// The chat page: plain JavaScript, no build step. Every string from the server or a user is rendered with
// textContent, never as HTML. The protocol is docs/chat-protocol.md.
'use strict';

const $ = (selector) => document.querySelector(selector);
const ui = {
  signinForm: $('#signin-form'), name: $('[data-testid=name]'), chat: $('#chat'), who: $('#who'),
  signout: $('#signout'), status: $('[data-testid=status]'), joinForm: $('#join-form'), room: $('[data-testid=room]'),
  roomName: $('#room-name'), members: $('[data-testid=members]'), messages: $('[data-testid=messages]'),
  notice: $('[data-testid=notice]'), message: $('[data-testid=message]'), target: $('#target'), clearTarget: $('#clear-target'),
};

// Reconnect: exponential backoff with full jitter (a random delay up to min(cap, base * 2^attempt)), so clients
// dropped together (a drain, a restart) come back spread out.
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;

const state = {
  user: null,       // the signed-in name
  socket: null,
  attempt: 0,       // reconnect attempts since the last open
  timer: null,
  room: null,       // the room the page wants to be in; (re)joined whenever a socket opens
  dmTarget: null,
  versions: new Map(), // room -> highest members version seen on this connection
  directs: [],      // direct messages since the page loaded (they are not stored on the server)
};

// For diagnostics (and the browser tests): every close this page's sockets saw, oldest first.
window.chatCloses = [];

function setStatus(stateName, text) {
  ui.status.dataset.state = stateName;
  ui.status.textContent = text;
}

function showNotice(text) {
  ui.notice.textContent = text;
  ui.notice.hidden = !text;
}

// ---- sign-in ----

async function checkSession() {
  const response = await fetch('/me', { credentials: 'same-origin' });
  const me = response.ok ? await response.json() : {};
  if (me.name) enterChat(me.name);
}

ui.signinForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const response = await fetch('/signin', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ name: ui.name.value }),
    credentials: 'same-origin',
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    showNotice(body.error ?? `Sign-in failed (${response.status}).`);
    return;
  }
  enterChat(body.name);
});

ui.signout.addEventListener('click', async () => {
  await fetch('/signout', { method: 'POST', credentials: 'same-origin' });
  location.reload();
});

function enterChat(name) {
  state.user = name;
  ui.who.textContent = name;
  ui.signinForm.hidden = true;
  ui.chat.hidden = false;
  ui.signout.hidden = false;
  connect();
}

// ---- connection ----

function connect() {
  clearTimeout(state.timer);
  const url = new URL('/chat', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  setStatus(state.attempt === 0 ? 'connecting' : 'reconnecting', state.attempt === 0 ? 'connecting' : `reconnecting (attempt ${state.attempt})`);
  let opened = false;
  const socket = new WebSocket(url);
  state.socket = socket;

  socket.addEventListener('open', () => {
    opened = true;
    state.attempt = 0;
    state.versions.clear();
    setStatus('connected', 'connected');
    // A room chosen before the socket opened, or the one to rejoin after a reconnect (history comes again).
    if (state.room) send({ type: 'join', room: state.room });
  });

  socket.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    handle(message);
  });

  socket.addEventListener('close', async (event) => {
    if (state.socket !== socket) return;
    state.socket = null;
    ui.status.dataset.lastClose = String(event.code);
    window.chatCloses.push({ code: event.code, reason: event.reason, opened });
    // 1008: the server refuses this client's behaviour; reconnecting would only repeat it.
    if (event.code === 1008) {
      setStatus('stopped', `disconnected: ${event.reason || 'policy violation'}`);
      return;
    }
    // Never opened: maybe the sign-in is gone (the upgrade got 401). Then there is nothing to reconnect to.
    if (!opened) {
      const response = await fetch('/me', { credentials: 'same-origin' }).catch(() => null);
      const me = response?.ok ? await response.json().catch(() => null) : null;
      if (me && !me.name) {
        location.reload();
        return;
      }
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  state.attempt += 1;
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (state.attempt - 1));
  const delay = Math.random() * ceiling;
  setStatus('reconnecting', `reconnecting (attempt ${state.attempt}, in ${(delay / 1000).toFixed(1)} s)`);
  state.timer = setTimeout(connect, delay);
}

function send(command) {
  if (state.socket?.readyState !== WebSocket.OPEN) return false;
  state.socket.send(JSON.stringify(command));
  return true;
}

// ---- what the server sends ----

function handle(message) {
  switch (message.type) {
    case 'hello':
      break;
    case 'joined':
      if (message.room !== state.room) return;
      renderMembers(message.room, message.version, message.members);
      renderHistory(message.history);
      break;
    case 'left':
      break;
    case 'members':
      renderMembers(message.room, message.version, message.members);
      break;
    case 'message':
      if (message.room === state.room) appendMessage(message, false);
      break;
    case 'direct':
      state.directs.push(message);
      if (state.directs.length > 50) state.directs.shift();
      appendMessage(message, true);
      break;
    case 'error':
      showNotice(message.message);
      break;
  }
}

function renderMembers(room, version, members) {
  // Presence updates may cross on the way; the highest version is the latest list.
  if ((state.versions.get(room) ?? -1) > version) return;
  state.versions.set(room, version);
  if (room !== state.room) return;
  const items = members.map((member) => {
    const li = document.createElement('li');
    li.textContent = member;
    if (member === state.user) li.className = 'self';
    else li.addEventListener('click', () => setDmTarget(member));
    return li;
  });
  ui.members.replaceChildren(...items);
}

function renderHistory(history) {
  // The room's history plus the direct messages of this page, in time order.
  const all = [...history.map((m) => [m, false]), ...state.directs.map((m) => [m, true])];
  all.sort((a, b) => (a[0].ts < b[0].ts ? -1 : a[0].ts > b[0].ts ? 1 : 0));
  ui.messages.replaceChildren(...all.map(([m, direct]) => messageItem(m, direct)));
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function appendMessage(message, direct) {
  ui.messages.append(messageItem(message, direct));
  ui.messages.scrollTop = ui.messages.scrollHeight;
}

function messageItem(message, direct) {
  const li = document.createElement('li');
  li.dataset.id = message.id;
  if (direct) li.className = 'direct';
  const time = document.createElement('time');
  time.dateTime = message.ts;
  time.textContent = new Date(message.ts).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const from = document.createElement('span');
  from.className = 'from';
  from.textContent = direct ? `${message.from} → ${message.to}` : message.from;
  const text = document.createElement('span');
  text.className = 'text';
  text.textContent = message.text; // verbatim, never parsed as HTML
  li.append(time, from, text);
  return li;
}

// ---- what the user does ----

ui.joinForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const room = ui.room.value.trim();
  if (!room || room === state.room) return;
  if (state.room) send({ type: 'leave', room: state.room });
  state.room = room;
  ui.roomName.textContent = room;
  ui.members.replaceChildren();
  ui.messages.replaceChildren();
  showNotice('');
  // Sent now if the socket is open; otherwise the open handler joins it.
  send({ type: 'join', room });
  ui.message.placeholder = 'Type and press Enter';
});

function setDmTarget(user) {
  state.dmTarget = user;
  ui.target.textContent = user ? `to ${user}:` : '';
  ui.clearTarget.hidden = !user;
  ui.message.focus();
}

ui.clearTarget.addEventListener('click', () => setDmTarget(null));

ui.message.addEventListener('keydown', (event) => {
  if (event.key === 'Escape') setDmTarget(null);
  if (event.key !== 'Enter' || event.isComposing) return;
  event.preventDefault();
  const text = ui.message.value;
  if (!text.trim()) return;
  const command = state.dmTarget
    ? { type: 'dm', to: state.dmTarget, text }
    : state.room ? { type: 'say', room: state.room, text } : null;
  if (!command) {
    showNotice('Join a room first, or click a name for a direct message.');
    return;
  }
  if (send(command)) {
    ui.message.value = '';
    showNotice('');
  } else {
    showNotice('Not connected: the message was not sent.');
  }
});

checkSession();
