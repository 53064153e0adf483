// The web widget: a visitor opens a conversation over HTTP, then talks over a
// WebSocket. The visitor's token stays in localStorage, so a reload resumes the chat.
"use strict";
const channel = new URLSearchParams(location.search).get("channel") || "website";
const base = "/api/v1/channels/" + encodeURIComponent(channel);
const key = "switchboard-visitor-" + channel;
let saved = JSON.parse(localStorage.getItem(key) || "null");
const messages = new Map();
let ws = null;
const $ = (id) => document.getElementById(id);

async function call(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if (saved) headers["Authorization"] = "Bearer " + saved.token;
  const res = await fetch(base + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && data.error.message) || res.statusText);
  return data;
}

function render() {
  const box = $("messages");
  box.replaceChildren();
  for (const m of [...messages.values()].sort((a, b) => a.seq - b.seq)) {
    const d = document.createElement("div");
    d.className = "msg " + (m.direction === "in" ? "out" : "in");
    if (m.authorName) { const w = document.createElement("div"); w.className = "who"; w.textContent = m.authorName; d.append(w); }
    d.append(m.text);
    box.append(d);
  }
  box.scrollTop = box.scrollHeight;
}

function showConversation(c) {
  if (!c) return;
  if (saved.conversation && saved.conversation !== c.id) messages.clear(); // a new chat after the last one ended
  saved.conversation = c.id;
  localStorage.setItem(key, JSON.stringify(saved));
  $("status").textContent = c.state === "Active" && c.operatorName ? c.operatorName + " is here to help" :
    c.state === "Closed" ? "This chat has ended. Write to start a new one." :
    c.state === "Missed" ? "We are offline right now. Leave your message and we will get back to you." : "Waiting for an operator…";
}

function connect() {
  const after = Math.max(0, ...messages.keys());
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  ws = new WebSocket(proto + "//" + location.host + base + "/ws?conversation=" + saved.conversation +
    "&after=" + after + "&access_token=" + encodeURIComponent(saved.token));
  ws.onmessage = (ev) => {
    const e = JSON.parse(ev.data);
    if (e.type === "history") { (e.messages || []).forEach((m) => messages.set(m.seq, m)); showConversation(e.conversation); }
    if (e.type === "message") messages.set(e.message.seq, e.message);
    if (e.type === "conversation") showConversation(e.conversation);
    if (e.type === "position" || (e.type === "history" && e.position)) $("status").textContent = "You are number " + e.position + " in the queue…";
    if (e.type === "error") $("error").textContent = e.message;
    render();
  };
  ws.onclose = () => setTimeout(connect, 1000);
}

async function start() {
  const info = await call("GET", "");
  $("title").textContent = info.title || "Chat";
  if (info.greeting) $("status").textContent = info.greeting;
  if (saved) connect();
}

$("send-form").onsubmit = async (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  $("error").textContent = "";
  try {
    if (!saved) {
      const opened = await call("POST", "/conversations", { text });
      saved = { token: opened.token, conversation: opened.conversation.id };
      localStorage.setItem(key, JSON.stringify(saved));
      messages.set(opened.message.seq, opened.message);
      showConversation(opened.conversation);
      connect();
    } else {
      ws.send(JSON.stringify({ type: "message", text }));
    }
    $("text").value = "";
    render();
  } catch (err) { $("error").textContent = err.message; }
};
start().catch((e) => { $("error").textContent = e.message; });
