// The operator console: REST for actions, one WebSocket for everything live.
"use strict";
const state = { token: sessionStorage.getItem("switchboard-token") || "", me: null, convs: new Map(), selected: null, messages: new Map() };
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const res = await fetch(path, { method, headers: { "Authorization": "Bearer " + state.token, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
  return data;
}

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, attrs || {});
  for (const c of children) e.append(c);
  return e;
}

function renderList() {
  const list = $("list");
  list.replaceChildren();
  const convs = [...state.convs.values()].filter((c) => c.state !== "Closed")
    .sort((a, b) => (a.queuedAt || a.createdAt).localeCompare(b.queuedAt || b.createdAt));
  for (const c of convs) {
    const row = el("div", { className: "conv" + (c.id === state.selected ? " selected" : ""), onclick: () => select(c.id) },
      el("span", { className: "state " + c.state, textContent: c.state }), " ", c.queue,
      el("div", { className: "who", textContent: c.state === "Missed" ? "offline message" : c.operator ? "with " + c.operator :
        ((c.offered || []).includes(state.me.name) ? "offered to you, " : "") + "waiting since " + new Date(c.queuedAt || c.createdAt).toLocaleTimeString() }));
    row.dataset.id = c.id;
    list.append(row);
  }
}

function renderChat() {
  const c = state.convs.get(state.selected);
  const head = $("chat-head");
  head.replaceChildren();
  $("messages").replaceChildren();
  const mine = c && c.operator === state.me.name && (c.state === "Active" || c.state === "Assigned");
  $("reply").disabled = $("send").disabled = !(mine || (c && state.me.supervisor && c.state === "Active"));
  if (!c) return;
  head.append(el("strong", { textContent: "Conversation " + c.id + " " }), el("span", { className: "state " + c.state, textContent: c.state }), " ");
  if (c.state === "Queued" || c.state === "Missed" || (c.state === "Assigned" && c.operator === state.me.name)) {
    head.append(el("button", { id: "take", textContent: c.state === "Assigned" ? "Accept" : "Take", onclick: () => act("take") }));
  }
  if (c.state !== "Closed" && (mine || state.me.supervisor)) head.append(" ", el("button", { id: "close", textContent: "Close", onclick: () => act("close") }));
  const msgs = [...(state.messages.get(c.id) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  for (const m of msgs) {
    $("messages").append(el("div", { className: "msg " + m.direction },
      el("div", { className: "who", textContent: m.author || m.authorKind }), m.text, ...attachmentLinks(m)));
  }
  $("messages").scrollTop = $("messages").scrollHeight;
}

// attachmentLinks lists a message's files: a kept one downloads on click (fetched with
// the token, which a plain link cannot carry); the others say why they are not there.
function attachmentLinks(m) {
  return (m.attachments || []).map((a) => {
    const label = (a.name || a.kind) + " (" + a.contentType + ")";
    if (a.state !== "stored") return el("div", { className: "file", textContent: label + ": " + (a.state === "pending" ? "fetching…" : "not kept, " + a.note) });
    return el("div", { className: "file" }, el("a", { href: "#", textContent: label, onclick: (ev) => { ev.preventDefault(); openFile(m.conversationID, a); } }));
  });
}

async function openFile(conv, a) {
  const res = await fetch("/api/v1/conversations/" + conv + "/attachments/" + a.id, { headers: { "Authorization": "Bearer " + state.token } });
  if (!res.ok) { $("chat-error").textContent = "The file could not be downloaded: " + res.statusText; return; }
  const url = URL.createObjectURL(await res.blob());
  el("a", { href: url, download: a.name || a.kind }).click();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function addMessage(m) {
  if (!state.messages.has(m.conversationID)) state.messages.set(m.conversationID, new Map());
  state.messages.get(m.conversationID).set(m.seq, m);
}

async function select(id) {
  state.selected = id;
  $("chat-error").textContent = "";
  // Messages come in pages; next is the ?after= of the following one.
  let after = 0;
  do {
    const data = await call("GET", "/api/v1/conversations/" + id + "/messages?after=" + after);
    data.messages.forEach(addMessage);
    after = data.next || 0;
  } while (after);
  renderList(); renderChat();
}

// loadRest adds the chats a snapshot had no room for, page by page from its cursor. A
// page read after a live event must not undo it, so the higher version wins.
async function loadRest(cursor) {
  while (cursor) {
    const page = await call("GET", "/api/v1/conversations?cursor=" + encodeURIComponent(cursor));
    for (const c of page.conversations) {
      const known = state.convs.get(c.id);
      if (!known || known.version < c.version) state.convs.set(c.id, c);
    }
    renderList();
    cursor = page.next;
  }
}

async function act(action) {
  try {
    const c = await call("POST", "/api/v1/conversations/" + state.selected + "/" + action);
    state.convs.set(c.id, c);
    renderList(); renderChat();
  } catch (e) { $("chat-error").textContent = e.message; }
}

function connect() {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const ws = new WebSocket(proto + "//" + location.host + "/api/v1/operator/ws?access_token=" + encodeURIComponent(state.token));
  ws.onmessage = (ev) => {
    const e = JSON.parse(ev.data);
    if (e.type === "snapshot") {
      state.convs = new Map((e.conversations || []).map((c) => [c.id, c]));
      if (e.next) loadRest(e.next).catch((err) => { $("chat-error").textContent = "Not every chat could be listed: " + err.message; });
    }
    if (e.type === "conversation") state.convs.set(e.conversation.id, e.conversation);
    if (e.type === "message" || e.type === "attachment") addMessage(e.message);
    if (e.type === "operator" && e.operator.name === state.me.name) showPresence(e.operator);
    if (e.type === "notice") $("chat-error").textContent = e.notice;
    renderList(); renderChat();
  };
  ws.onclose = (ev) => {
    if (ev.code === 4001) { signOut(ev.reason); return; }
    if (ev.code === 4009) { start(); return; } // queues or role changed: read who we are again
    // 4012 (updates missed) reconnects at once for a fresh snapshot; anything else after a pause.
    setTimeout(connect, ev.code === 4012 ? 0 : 1000);
  };
}

// signOut returns to the sign-in form when the token no longer signs the operator in.
function signOut(reason) {
  sessionStorage.removeItem("switchboard-token");
  state.token = "";
  $("app").hidden = true; $("login").hidden = false;
  $("login-error").textContent = reason || "Signed out: sign in again.";
}

function showPresence(op) {
  $("presence").value = op.presence;
  $("activate").hidden = op.active;
}

async function start() {
  try {
    state.me = await call("GET", "/api/v1/me");
  } catch (e) {
    $("login-error").textContent = e.message;
    return;
  }
  sessionStorage.setItem("switchboard-token", state.token);
  $("login").hidden = true; $("app").hidden = false;
  $("who").textContent = state.me.displayName + (state.me.supervisor ? " (supervisor)" : "");
  $("presence").disabled = false;
  const ops = await call("GET", "/api/v1/operators");
  const mine = (ops.operators || []).find((o) => o.name === state.me.name);
  if (mine) showPresence(mine); else $("presence").value = "offline";
  connect();
}

$("login-form").onsubmit = (e) => { e.preventDefault(); state.token = $("token").value.trim(); start(); };
$("presence").onchange = async () => showPresence(await call("PUT", "/api/v1/me/presence", { presence: $("presence").value }));
$("activate").onclick = async () => showPresence(await call("PUT", "/api/v1/me/presence", { presence: $("presence").value, active: true }));
$("reply-form").onsubmit = async (e) => {
  e.preventDefault();
  const text = $("reply").value;
  if (!text.trim()) return;
  try {
    addMessage(await call("POST", "/api/v1/conversations/" + state.selected + "/messages", { text }));
    $("reply").value = "";
    renderChat();
  } catch (err) { $("chat-error").textContent = err.message; }
};
if (state.token) start();
