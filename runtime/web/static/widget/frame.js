// The chat inside the widget's frame, on the runtime's origin. The visitor's token is
// kept in this origin's local storage, so a reload (of this frame or of the page
// around it) resumes the chat; the WebSocket reconnects by itself with backoff.
import { $, el, richText, clock, backoff } from "../lib/dom.js";
import { t, lang, apply } from "./i18n.js";

const params = new URLSearchParams(location.search);
const channel = params.get("channel") || "website";
const base = "/api/v1/channels/" + encodeURIComponent(channel);
const key = "switchboard-visitor-" + channel;
const host = validOrigin(params.get("host"));
const embedded = window.parent !== window && host;
let saved = JSON.parse(localStorage.getItem(key) || "null");
let info = {};
let conv = null;
let ws = null;
let open = !embedded;
let unread = 0;
let lastTyping = 0;
let typingTimer = null;
const messages = new Map();
const retry = backoff();
const blobs = new Map();

function validOrigin(s) {
  try { const u = new URL(s); return (u.protocol === "https:" || u.protocol === "http:") && u.origin === s ? s : null; } catch { return null; }
}

// toHost talks to the page around the frame, and to it alone.
function toHost(msg) { if (embedded) window.parent.postMessage(Object.assign({ source: "switchboard-frame" }, msg), host); }
window.addEventListener("message", (ev) => {
  if (!embedded || ev.origin !== host || ev.source !== window.parent || !ev.data || ev.data.source !== "switchboard-host") return;
  if (ev.data.type === "open") { open = true; unread = 0; toHost({ type: "unread", count: 0 }); $("text").focus(); }
  if (ev.data.type === "close") open = false;
  if (ev.data.type === "goal" && typeof ev.data.goal === "string") goal(ev.data.goal);
});

// Goals the page reported: sent for the visitor's chat, or kept (in this origin's
// storage, across pages) until the visitor starts one. Goals the channel does not
// list are dropped; a goal the runtime refuses is dropped too, never thrown.
const goalsKey = key + ":goals";
function pendingGoals() { try { return JSON.parse(localStorage.getItem(goalsKey) || "[]"); } catch { return []; } }
function goal(name) {
  if (!Array.isArray(info.goals) || !info.goals.includes(name)) { console.warn("switchboard: goal " + JSON.stringify(name) + " is not one of the channel's goals"); return; }
  const pending = pendingGoals();
  if (!pending.includes(name)) pending.push(name);
  localStorage.setItem(goalsKey, JSON.stringify(pending));
  reportGoals();
}
async function reportGoals() {
  if (!saved || !saved.conversation) return;
  const id = saved.conversation;
  for (const name of pendingGoals()) {
    try { await call("POST", "/conversations/" + encodeURIComponent(id) + "/goals", { goal: name }); } catch (err) {
      if (!err.status) continue; // the network: try again with the next chat event
      console.warn("switchboard: goal " + JSON.stringify(name) + ": " + err.message);
    }
    localStorage.setItem(goalsKey, JSON.stringify(pendingGoals().filter((g) => g !== name)));
  }
}

async function call(method, path, body) {
  const headers = {};
  let payload;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) { headers["Content-Type"] = "application/json"; payload = JSON.stringify(body); }
  if (saved) headers.Authorization = "Bearer " + saved.token;
  const res = await fetch(base + path, { method, headers, body: payload });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) { const e = new Error((data.error && data.error.message) || res.statusText); e.status = res.status; throw e; }
  return data;
}

function remember() { localStorage.setItem(key, JSON.stringify(saved)); }

// Rendering.
function render() {
  const box = $("messages");
  const nearEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  box.replaceChildren(...[...messages.values()].sort((a, b) => a.seq - b.seq).map(messageNode));
  if (nearEnd) box.scrollTop = box.scrollHeight;
}

function messageNode(m) {
  const mine = m.direction === "in";
  const who = mine ? t("you") : m.authorName || "";
  return el("div", { className: "msg " + (mine ? "mine" : m.direction === "system" ? "system" : "theirs") },
    el("div", { className: "who" }, who, who ? " · " : "", el("time", { textContent: clock(m.createdAt, lang) })),
    el("div", { className: "text" }, richText(m.text)), ...(m.attachments || []).filter((a) => a.state === "stored").map((a) => fileNode(a)));
}

function fileNode(a) {
  const path = base + "/conversations/" + conv.id + "/attachments/" + a.id;
  const link = el("a", { href: "#", textContent: a.kind === "image" ? "" : (a.name || a.kind), on: { click: (e) => { e.preventDefault(); saveFile(path, a); } } });
  if (a.kind === "image") {
    const img = el("img", { className: "thumb", alt: a.name || t("file.image") });
    fetchBlob(path, a.id).then((u) => { img.src = u; }).catch(() => {});
    link.append(img);
  }
  return el("div", { className: "file" }, link);
}

async function fetchBlob(path, id) {
  if (!blobs.has(id)) {
    const res = await fetch(path, { headers: { Authorization: "Bearer " + saved.token } });
    if (!res.ok) throw new Error(res.statusText);
    blobs.set(id, URL.createObjectURL(await res.blob()));
  }
  return blobs.get(id);
}

async function saveFile(path, a) {
  try { el("a", { href: await fetchBlob(path, a.id), download: a.name || a.kind }).click(); } catch (e) { $("error").textContent = e.message; }
}

function showConversation(c, position) {
  if (!c) return;
  if (conv && conv.id !== c.id) { messages.clear(); render(); }
  conv = c;
  saved.conversation = c.id;
  remember();
  reportGoals();
  document.body.dataset.state = c.state;
  let status = "";
  if (c.state === "Active" && c.operatorName) status = t("status.with", { name: c.operatorName });
  else if (c.state === "Closed") status = t("status.closed");
  else if (c.state === "Missed") status = (info.offline && info.offline.message) || t("status.missed");
  else if (position) status = t("status.position", { n: position });
  else status = t("status.waiting");
  $("status").textContent = status;
  $("prechat").hidden = true;
  $("offline-form").hidden = true;
  $("send-form").hidden = false;
  $("attach").hidden = false;
  showRating();
}

// The end of a chat: a rating (thumbs or 1 to 5), feedback and the survey, once.
function showRating() {
  const done = localStorage.getItem(key + ":rated:" + (conv && conv.id));
  $("rating").hidden = !(conv && conv.state === "Closed" && info.ratings && !done);
  if ($("rating").hidden || $("rating-scale").querySelector("input")) return;
  const scale = info.thumbs ? [["up", "👍", t("rate.up")], ["down", "👎", t("rate.down")]]
    : [1, 2, 3, 4, 5].map((n) => [String(n), "★".repeat(n), t("rate.stars", { n })]);
  for (const [value, face, label] of scale) {
    $("rating-scale").append(el("label", { className: "choice" }, el("input", { type: "radio", name: "score", value, attrs: { "aria-label": label } }),
      el("span", { textContent: face, attrs: { "aria-hidden": "true" } })));
  }
  const questions = (info.survey && (info.survey.questions || info.survey)) || [];
  for (const q of Array.isArray(questions) ? questions : []) {
    const name = q.name || q.id;
    const input = q.options && q.options.length
      ? el("select", { id: "survey-" + name, attrs: { "data-question": name } }, el("option", { value: "" }), ...q.options.map((o) => el("option", { value: o, textContent: o })))
      : el("input", { id: "survey-" + name, attrs: { "data-question": name } });
    $("survey").append(el("label", {}, el("span", { textContent: q.text || name }), " ", input));
  }
}

$("rating").addEventListener("submit", async (e) => {
  e.preventDefault();
  const id = conv.id;
  const picked = $("rating").querySelector("input[name=score]:checked");
  try {
    if (picked) {
      await call("POST", "/conversations/" + id + "/rating", info.thumbs ? { thumbs: picked.value } : { score: Number(picked.value) });
    }
    if ($("feedback").value.trim()) await call("POST", "/conversations/" + id + "/feedback", { text: $("feedback").value.trim() });
    const answers = {};
    for (const q of $("survey").querySelectorAll("[data-question]")) if (q.value) answers[q.dataset.question] = q.value;
    if (Object.keys(answers).length) await call("POST", "/conversations/" + id + "/survey", { answers });
    localStorage.setItem(key + ":rated:" + id, "1");
    $("rating").hidden = true;
    $("thanks").textContent = t("rate.thanks");
    $("thanks").hidden = false;
  } catch (err) { $("error").textContent = err.message; }
});

// The live connection.
function connect() {
  const after = Math.max(0, ...messages.keys());
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const socket = new WebSocket(proto + "//" + location.host + base + "/ws?conversation=" + encodeURIComponent(saved.conversation) +
    "&after=" + after + "&access_token=" + encodeURIComponent(saved.token));
  ws = socket;
  let opened = false;
  socket.onopen = () => { opened = true; retry.reset(); document.body.dataset.connection = "open"; };
  socket.onmessage = (ev) => {
    const e = JSON.parse(ev.data);
    switch (e.type) {
      case "history":
        showConversation(e.conversation, e.position);
        (e.messages || []).forEach((m) => messages.set(m.seq, m));
        break;
      case "message": arrived(e.message); break;
      case "conversation": showConversation(e.conversation); break;
      case "position": if (conv && conv.state === "Queued") $("status").textContent = t("status.position", { n: e.position }); break;
      case "typing": showTyping(e.authorName); return;
      case "error": $("error").textContent = e.message; break;
    }
    render();
  };
  socket.onclose = async () => {
    if (ws !== socket) return;
    document.body.dataset.connection = "closed";
    if (!opened) {
      // Never connected: the conversation may be gone, or the token no longer valid.
      try { await call("GET", "/conversations/" + encodeURIComponent(saved.conversation)); } catch (err) {
        if (err.status === 401 || err.status === 404) { forget(); return; }
      }
    }
    $("status").textContent = t("status.reconnecting");
    setTimeout(connect, retry.next());
  };
}

function arrived(m) {
  messages.set(m.seq, m);
  if (m.direction !== "in") {
    clearTimeout(typingTimer);
    $("typing").textContent = "";
    if (!open || document.hidden) { unread++; toHost({ type: "unread", count: unread }); }
  }
}

function showTyping(name) {
  $("typing").textContent = name ? t("typing", { name }) : t("typing.someone");
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 5000);
}

function forget() {
  localStorage.removeItem(key);
  saved = null; conv = null; messages.clear();
  render();
  showStart();
}

// Sending.
async function send(text) {
  $("error").textContent = "";
  if (!saved) {
    if (info.preChat && info.preChat.requireEmail && !$("email").value.trim()) { $("error").textContent = t("form.needEmail"); $("email").focus(); return false; }
    const opened = await call("POST", "/conversations", { text, name: $("name").value.trim() || undefined, email: $("email").value.trim() || undefined });
    saved = { token: opened.token, conversation: opened.conversation.id };
    remember();
    if (opened.message) messages.set(opened.message.seq, opened.message);
    showConversation(opened.conversation);
    render();
    connect();
    return true;
  }
  const res = await call("POST", "/conversations/" + encodeURIComponent(saved.conversation) + "/messages", { text });
  if (res.conversation && res.conversation.id !== saved.conversation) {
    // The last chat was closed: this message started the next one.
    showConversation(res.conversation);
    messages.clear();
    if (ws) { const old = ws; ws = null; old.close(); }
    connect();
  }
  const m = res.message || res;
  if (m.seq) messages.set(m.seq, m);
  render();
  return true;
}

$("send-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("text").value;
  if (!text.trim()) return;
  try { if (await send(text)) $("text").value = ""; } catch (err) { $("error").textContent = err.message; }
});
$("text").addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) { e.preventDefault(); $("send-form").requestSubmit(); } });
$("text").addEventListener("input", () => {
  if (!ws || ws.readyState !== WebSocket.OPEN || Date.now() - lastTyping < 3000) return;
  lastTyping = Date.now();
  ws.send(JSON.stringify({ type: "typing" }));
});
$("file").addEventListener("change", async () => {
  const f = $("file").files[0];
  $("file").value = "";
  if (!f || !saved) return;
  const form = new FormData();
  form.append("file", f, f.name);
  try {
    const res = await call("POST", "/conversations/" + encodeURIComponent(saved.conversation) + "/attachments", form);
    if (res.message) messages.set(res.message.seq, res.message);
    render();
  } catch (err) { $("error").textContent = t("file.failed", { error: err.message }); }
});

// The offline form, when nobody is online.
$("offline-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const email = $("offline-email").value.trim();
  if (info.requireEmail && !email) { $("error").textContent = t("form.needEmail"); $("offline-email").focus(); return; }
  try {
    const opened = await call("POST", "/conversations", { name: $("offline-name").value.trim() || undefined, email: email || undefined, text: $("offline-text").value });
    saved = { token: opened.token, conversation: opened.conversation.id };
    remember();
    if (opened.message) messages.set(opened.message.seq, opened.message);
    showConversation(opened.conversation);
    $("thanks").textContent = t("offline.sent");
    $("thanks").hidden = false;
    render();
    connect();
  } catch (err) { $("error").textContent = err.message; }
});

function showStart() {
  const offline = info.online === false;
  const form = info.offline && info.offline.form ? info.offline.form.enabled : info.offlineForm;
  $("greeting").textContent = info.greeting || "";
  $("offline-form").hidden = !(offline && form);
  $("send-form").hidden = offline && !!form;
  $("offline-message").textContent = (info.offline && info.offline.message) || t("offline.default");
  const prechatEmail = !!(info.preChat && info.preChat.requireEmail);
  $("prechat").hidden = offline || !info.preChat;
  $("email-label").textContent = prechatEmail ? t("form.emailRequired") : t("form.email");
  $("offline-email-label").textContent = info.requireEmail ? t("form.emailRequired") : t("form.email");
  $("email").required = prechatEmail;
  $("offline-email").required = !!info.requireEmail;
  $("attach").hidden = true;
}

async function start() {
  apply();
  if (embedded) {
    $("close-frame").hidden = false;
    $("close-frame").addEventListener("click", () => { open = false; toHost({ type: "close" }); });
  }
  info = await call("GET", "");
  // requireEmail: the offline form's; the pre-chat form has its own (info.preChat).
  info.requireEmail = !!(info.offline && info.offline.form && info.offline.form.requireEmail);
  info.thumbs = String(info.ratingScale || "").toLowerCase() === "thumbs";
  $("title").textContent = info.title || info.displayName || "Chat";
  document.title = $("title").textContent;
  if (info.color && /^#[0-9a-fA-F]{3,8}$/.test(info.color)) document.documentElement.style.setProperty("--accent", info.color);
  toHost({ type: "ready", color: info.color, title: $("title").textContent });
  if (saved) {
    $("greeting").textContent = info.greeting || "";
    $("prechat").hidden = true;
    connect();
  } else showStart();
  document.body.dataset.ready = "true";
}

start().catch((e) => { $("error").textContent = e.message; });
