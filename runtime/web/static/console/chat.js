// The conversation view: history (older pages load as the operator scrolls back),
// live messages, typing, files with previews, delivery states, and what an operator
// does with a chat: accept, reply, transfer, run actions, close.
import { $, el, richText, clock } from "../lib/dom.js";
import { call, download } from "./api.js";
import { state, addMessage, isOffer, queueDetails, displayName } from "./state.js";
import { t, lang } from "./i18n.js";

const page = 50;
const contacts = new Map(); // conversation id → contact
const previous = new Map(); // conversation id → the contact's other conversations, newest first
const thumbs = new Map(); // attachment id → blob URL
let typingTimer = null;
let lastTypingSent = 0;
let onChange = () => {};

export function init(changed) {
  onChange = changed;
  $("messages").addEventListener("scroll", () => { if ($("messages").scrollTop < 40) loadOlder(); });
  $("reply-form").addEventListener("submit", (e) => { e.preventDefault(); sendReply(); });
  $("reply").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey || !e.shiftKey)) { e.preventDefault(); sendReply(); }
  });
  $("reply").addEventListener("input", sendTyping);
  $("file").addEventListener("change", () => { const f = $("file").files[0]; if (f) sendFile(f); $("file").value = ""; });
  $("transcript-close").addEventListener("click", () => $("transcript").close());
}

const mine = (c) => c && c.operator === state.me.name && (c.state === "Active" || c.state === "Assigned");

export async function open(id) {
  state.selected = id;
  state.unread.delete(id);
  $("chat-error").textContent = "";
  $("chat-result").textContent = "";
  $("typing").textContent = "";
  const c = state.convs.get(id);
  render();
  onChange();
  try {
    const [detail] = await Promise.all([call("GET", "/api/v1/conversations/" + id), loadLatest(id, c)]);
    contacts.set(id, detail.contact || {});
    state.convs.set(id, Object.assign({}, detail, { contact: undefined }));
    await Promise.all([loadActivity(id), loadPrevious(id, detail.contactID)]);
  } catch (e) { $("chat-error").textContent = e.message; }
  if (state.selected === id) { render(); scrollToEnd(); }
}

// loadLatest reads the last page of the history; loadOlder the page before the
// oldest loaded, keeping the operator's place.
async function loadLatest(id, c) {
  if (state.first.has(id)) return;
  const last = c && c.seq ? c.seq : 0;
  const after = Math.max(0, last - page);
  let cursor = after;
  do {
    const data = await call("GET", "/api/v1/conversations/" + id + "/messages?after=" + cursor + "&limit=" + page);
    data.messages.forEach(addMessage);
    cursor = data.next || 0;
  } while (cursor);
  state.first.set(id, after + 1);
}

let loadingOlder = false;
async function loadOlder() {
  const id = state.selected;
  const first = state.first.get(id);
  if (!id || loadingOlder || !first || first <= 1) return;
  loadingOlder = true;
  const box = $("messages");
  const before = box.scrollHeight;
  try {
    const after = Math.max(0, first - 1 - page);
    const data = await call("GET", "/api/v1/conversations/" + id + "/messages?after=" + after + "&limit=" + (first - 1 - after));
    data.messages.forEach(addMessage);
    state.first.set(id, after + 1);
    if (state.selected === id) { renderMessages(); box.scrollTop = box.scrollHeight - before; }
  } catch (e) { $("chat-error").textContent = e.message; }
  loadingOlder = false;
}

async function loadActivity(id) {
  const data = await call("GET", "/api/v1/conversations/" + id + "/activity");
  const list = $("activity");
  list.replaceChildren(...data.activity.map((a) => el("li", {},
    el("time", { textContent: clock(a.at || a.createdAt, lang) }), " ",
    el("strong", { textContent: t("activity." + a.type) === "activity." + a.type ? a.type : t("activity." + a.type) }),
    a.actor ? " · " + displayName(a.actor) : "", a.detail ? " · " + a.detail : "")));
}

// loadPrevious lists the contact's other conversations the operator may see, every
// state, newest first.
async function loadPrevious(id, contactID) {
  if (!contactID) return;
  const list = [];
  try {
    let cursor = "";
    for (let pages = 0; pages < 10; pages++) {
      const data = await call("GET", "/api/v1/conversations?contact=" + encodeURIComponent(contactID) + "&limit=200" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""));
      list.push(...data.conversations.filter((c) => c.id !== id));
      cursor = data.next || "";
      if (!cursor) break;
    }
    previous.set(id, list.reverse());
  } catch (e) {
    previous.set(id, { error: e.message });
  }
}

const when = (c) => c.createdAt ? new Date(c.createdAt).toLocaleString(lang) : "";

function ratingText(c) {
  if (!c.rating) return "";
  return c.rating.thumbs ? (c.rating.thumbs === "up" ? "👍" : "👎") : "★".repeat(c.rating.score || 0);
}

// summary is what the console says of a conversation in one line: queue, state,
// operator, rating.
function summary(c) {
  const who = c.operator || c.lastOperator;
  return [t("chat.queue", { queue: queueDetails(c.queue).displayName || c.queue }), t("state." + c.state),
    who ? t("chat.with", { name: displayName(who) }) : "", ratingText(c)].filter(Boolean).join(" · ");
}

function renderPrevious(c) {
  const list = previous.get(c.id);
  const box = $("previous");
  if (!list) { box.replaceChildren(); return; }
  if (list.error) { box.replaceChildren(el("li", { className: "error", textContent: t("previous.failed", { error: list.error }) })); return; }
  if (!list.length) { box.replaceChildren(el("li", { className: "muted", textContent: t("previous.none") })); return; }
  box.replaceChildren(...list.map((p) => el("li", {},
    el("button", { className: "link", attrs: { "data-conversation": p.id, "aria-label": t("previous.open", { date: when(p) }) }, on: { click: () => openTranscript(p) } },
      el("time", { textContent: when(p) }), el("br"), summary(p)))));
}

// openTranscript shows an earlier conversation read-only: its details and messages.
export async function openTranscript(c) {
  const box = $("transcript-messages");
  $("transcript-heading").textContent = t("transcript.heading", { date: when(c) });
  $("transcript-meta").textContent = summary(c);
  $("transcript-error").textContent = "";
  box.replaceChildren();
  box.dataset.conversation = c.id;
  if (!$("transcript").open) $("transcript").showModal();
  try {
    const msgs = [];
    let after = 0;
    do {
      const data = await call("GET", "/api/v1/conversations/" + encodeURIComponent(c.id) + "/messages?after=" + after + "&limit=500");
      msgs.push(...data.messages);
      after = data.next || 0;
    } while (after);
    if (box.dataset.conversation !== c.id) return;
    box.replaceChildren(...(msgs.length ? msgs.map(transcriptNode) : [el("p", { className: "muted", textContent: t("transcript.empty") })]));
  } catch (e) { $("transcript-error").textContent = e.message; }
}

function transcriptNode(m) {
  const who = m.authorKind === "contact" ? t("author.contact") : m.author ? displayName(m.author) : t("author." + m.authorKind);
  const files = (m.attachments || []).map((a) => el("div", { className: "file", textContent: (a.name || a.kind) + " (" + a.contentType + ")" }));
  return el("div", { className: "msg " + m.direction, attrs: { "data-seq": m.seq || null } },
    el("div", { className: "who" }, who, " · ", el("time", { textContent: clock(m.createdAt, lang) })),
    el("div", { className: "text" }, richText(m.text)), ...files);
}

export function refreshActivity() {
  if (state.selected) loadActivity(state.selected).catch(() => {});
}

function scrollToEnd() { const b = $("messages"); b.scrollTop = b.scrollHeight; }

export function render() {
  const c = state.convs.get(state.selected);
  $("chat").hidden = !c;
  $("details").hidden = !c;
  $("empty").hidden = !!c;
  if (!c) return;
  renderHead(c);
  renderDetails(c);
  const nearEnd = $("messages").scrollHeight - $("messages").scrollTop - $("messages").clientHeight < 80;
  renderMessages();
  if (nearEnd) scrollToEnd();
  const canWrite = mine(c) || (state.me.supervisor && c.state === "Active");
  $("reply").disabled = $("send").disabled = $("file").disabled = !canWrite;
}

function contactName(id) {
  const ct = contacts.get(id) || {};
  return ct.name || ct.displayName || t("chat.visitor");
}

// keepChoices carries what the operator picked in the head's selects across a redraw.
function keepChoices(head) {
  const picked = {};
  for (const s of head.querySelectorAll("select[id]")) picked[s.id] = s.value;
  return () => { for (const [id, v] of Object.entries(picked)) if ($(id) && v) $(id).value = v; };
}

function renderHead(c) {
  const head = $("chat-head");
  const restore = head.dataset.id === c.id ? keepChoices(head) : () => {};
  head.dataset.id = c.id;
  const buttons = [];
  if (isOffer(c) || c.state === "Queued" || c.state === "Missed") {
    buttons.push(el("button", { id: "take", className: "primary", textContent: isOffer(c) ? t("chat.accept") : t("chat.take"),
      attrs: { "aria-keyshortcuts": "Alt+A" }, on: { click: () => act("take") } }));
  }
  if (c.state !== "Closed" && (mine(c) || state.me.supervisor)) {
    buttons.push(el("button", { id: "close", textContent: t("chat.close"), attrs: { "aria-keyshortcuts": "Alt+C" }, on: { click: () => act("close") } }));
  }
  if (mine(c) || (state.me.supervisor && c.state !== "Closed")) buttons.push(transferControl(c));
  if (state.me.supervisor && c.state !== "Closed") buttons.push(supervisorControl(c));
  if (mine(c) && c.state === "Active") {
    for (const a of queueDetails(c.queue).actions) {
      buttons.push(el("button", { className: "action", textContent: a.caption, attrs: { "data-action": a.name }, on: { click: () => runAction(a) } }));
    }
  }
  head.replaceChildren(
    el("h2", { id: "chat-title" }, contactName(c.id), " ", el("span", { className: "state " + c.state, textContent: t("state." + c.state) })),
    el("div", { className: "who" }, t("chat.queue", { queue: c.queue }), c.operator ? " · " + t("chat.with", { name: displayName(c.operator) }) : "",
      isOffer(c) && c.acceptDeadline ? el("span", { className: "countdown", attrs: { "data-deadline": c.acceptDeadline } }) : ""),
    el("div", { className: "toolbar" }, ...buttons));
  restore();
  tickCountdowns();
}

function transferControl(c) {
  const q = queueDetails(c.queue);
  const select = el("select", { id: "transfer-to", attrs: { "aria-label": t("chat.transferTo") } },
    el("option", { value: "", textContent: t("chat.transferTo") }));
  const ops = el("optgroup", { label: t("chat.operators") });
  for (const o of q.operators) if (o.name !== state.me.name) ops.append(el("option", { value: "operator:" + o.name, textContent: (o.displayName || o.name) + (o.skills && o.skills.length ? " (" + o.skills.join(", ") + ")" : "") + " · " + t("presence." + (state.operators.get(o.name) || "offline")) }));
  const queues = el("optgroup", { label: t("chat.queues") });
  const targets = state.me.supervisor ? state.me.queues.filter((n) => n !== c.queue) : q.transferTargets;
  for (const name of targets) queues.append(el("option", { value: "queue:" + name, textContent: (queueDetails(name).displayName || name) }));
  select.append(ops, queues);
  return el("span", { className: "group" }, select, el("button", { id: "transfer", textContent: t("chat.transfer"), on: { click: () => transfer(select.value) } }));
}

function supervisorControl(c) {
  const select = el("select", { id: "reassign-to", attrs: { "aria-label": t("chat.reassignTo") } },
    el("option", { value: "", textContent: t("chat.reassignTo") }));
  for (const o of queueDetails(c.queue).operators) select.append(el("option", { value: o.name, textContent: o.displayName || o.name }));
  const parts = [select, el("button", { id: "reassign", textContent: t("chat.reassign"), on: { click: () => reassign(c.id, select.value) } })];
  if (c.operator && c.operator !== state.me.name) parts.push(el("button", { id: "takeover", textContent: t("chat.takeover"), on: { click: () => takeover(c.id) } }));
  return el("span", { className: "group" }, ...parts);
}

export async function reassign(id, operator) {
  if (!operator) return;
  try {
    await call("POST", "/api/v1/conversations/" + id + "/reassign", { operator });
    result(t("chat.reassigned", { name: displayName(operator) }));
    $("supervisor-error").textContent = "";
  } catch (e) { $("chat-error").textContent = $("supervisor-error").textContent = e.message; }
}

export async function takeover(id) {
  try {
    const c = await call("POST", "/api/v1/conversations/" + id + "/takeover");
    if (c && c.id) state.convs.set(c.id, c);
    result(t("chat.tookOver"));
    render(); onChange();
  } catch (e) { $("chat-error").textContent = $("supervisor-error").textContent = e.message; }
}

function renderDetails(c) {
  const ct = contacts.get(c.id) || {};
  const facts = [[t("details.name"), ct.name], [t("details.email"), ct.email], [t("details.phone"), ct.phone], [t("details.channel"), c.channel],
    [t("details.started"), c.createdAt && new Date(c.createdAt).toLocaleString(lang)]];
  if (c.rating) facts.push([t("details.rating"), ratingText(c)]);
  if (c.feedback) facts.push([t("details.feedback"), typeof c.feedback === "string" ? c.feedback : c.feedback.text]);
  $("contact").replaceChildren(...facts.filter((f) => f[1]).flatMap(([k, v]) => [el("dt", { textContent: k }), el("dd", { textContent: v })]));
  renderPrevious(c);
}

function renderMessages() {
  const id = state.selected;
  const box = $("messages");
  const msgs = [...(state.messages.get(id) || new Map()).values()].sort((a, b) => a.seq - b.seq);
  const nodes = [];
  if ((state.first.get(id) || 1) > 1) nodes.push(el("div", { className: "older", textContent: t("chat.older") }));
  for (const m of msgs) nodes.push(messageNode(m));
  for (const p of state.pending.get(id) || []) nodes.push(messageNode(p));
  box.replaceChildren(...nodes);
}

function messageNode(m) {
  const who = m.authorKind === "contact" ? contactName(m.conversationID) : m.author ? displayName(m.author) : t("author." + m.authorKind);
  const node = el("div", { className: "msg " + m.direction, attrs: { "data-seq": m.seq || null } },
    el("div", { className: "who" }, who, " · ", el("time", { textContent: clock(m.createdAt, lang) })),
    el("div", { className: "text" }, richText(m.text)), ...attachmentNodes(m));
  if (m.direction === "out") node.append(deliveryNode(m));
  return node;
}

// deliveryNode shows where an outgoing message is: on its way, stored (sent to a web
// visitor at once), or what the messenger reported.
function deliveryNode(m) {
  const st = m.local ? m.local : m.delivery || "sent";
  const d = el("div", { className: "delivery " + st, textContent: t("delivery." + st) + (m.deliveryError ? ": " + m.deliveryError : "") });
  if (st === "failedLocal") d.append(" ", el("button", { className: "link", textContent: t("delivery.retry"), on: { click: () => retry(m) } }));
  return d;
}

function attachmentNodes(m) {
  return (m.attachments || []).map((a) => {
    const label = (a.name || a.kind) + " (" + a.contentType + ")";
    if (a.state !== "stored") return el("div", { className: "file", textContent: label + ": " + (a.state === "pending" ? t("file.pending") : t("file.refused", { note: a.note || "" })) });
    const path = "/api/v1/conversations/" + m.conversationID + "/attachments/" + a.id;
    if (a.kind === "image") {
      const img = el("img", { className: "thumb", alt: a.name || t("file.image") });
      showThumb(img, a.id, path);
      return el("div", { className: "file image" }, el("a", { href: "#", attrs: { "aria-label": t("file.open", { name: a.name || a.kind }) }, on: { click: (ev) => { ev.preventDefault(); save(path, a); } } }, img));
    }
    return el("div", { className: "file" }, el("a", { href: "#", textContent: label, on: { click: (ev) => { ev.preventDefault(); save(path, a); } } }));
  });
}

async function showThumb(img, id, path) {
  try {
    if (!thumbs.has(id)) thumbs.set(id, URL.createObjectURL(await download(path)));
    img.src = thumbs.get(id);
  } catch { img.alt = t("file.unavailable"); }
}

async function save(path, a) {
  try {
    const url = URL.createObjectURL(await download(path));
    el("a", { href: url, download: a.name || a.kind }).click();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) { $("chat-error").textContent = t("file.failed", { error: e.message }); }
}

let localIDs = 0;
async function sendReply() {
  const text = $("reply").value;
  const id = state.selected;
  if (!text.trim() || !id || $("reply").disabled) return;
  $("reply").value = "";
  const p = { localID: ++localIDs, conversationID: id, direction: "out", author: state.me.name, authorKind: "operator", text, local: "sending", createdAt: new Date().toISOString() };
  deliver(p, () => call("POST", "/api/v1/conversations/" + id + "/messages", { text }));
}

async function sendFile(file) {
  const id = state.selected;
  const form = new FormData();
  form.append("file", file, file.name);
  const p = { localID: ++localIDs, conversationID: id, direction: "out", author: state.me.name, authorKind: "operator", text: "📎 " + file.name, local: "sending", createdAt: new Date().toISOString() };
  deliver(p, () => call("POST", "/api/v1/conversations/" + id + "/attachments", form));
}

async function deliver(p, send) {
  const list = state.pending.get(p.conversationID) || [];
  if (!list.includes(p)) list.push(p);
  state.pending.set(p.conversationID, list);
  p.local = "sending"; p.send = send;
  render(); scrollToEnd();
  try {
    const m = await send();
    addMessage(m);
    state.pending.set(p.conversationID, list.filter((x) => x !== p));
    $("chat-error").textContent = "";
  } catch (e) {
    p.local = "failedLocal";
    $("chat-error").textContent = e.message;
  }
  render(); scrollToEnd(); onChange();
}

function retry(p) { deliver(p, p.send); }

function sendTyping() {
  const id = state.selected;
  if (!id || !state.ws || state.ws.readyState !== WebSocket.OPEN || Date.now() - lastTypingSent < 3000) return;
  lastTypingSent = Date.now();
  state.ws.send(JSON.stringify({ type: "typing", conversation: id }));
}

// typing shows that the visitor of the open chat is writing, for a few seconds.
export function typing(ev) {
  if (ev.conversationID !== state.selected || ev.authorKind !== "contact") return;
  $("typing").textContent = t("chat.typing", { name: contactName(ev.conversationID) });
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { $("typing").textContent = ""; }, 5000);
}

export function messageArrived(m) {
  if (m.conversationID === state.selected && m.direction === "in") { clearTimeout(typingTimer); $("typing").textContent = ""; }
}

export async function act(action) {
  const id = state.selected;
  if (!id) return;
  try {
    const c = await call("POST", "/api/v1/conversations/" + id + "/" + action);
    state.convs.set(c.id, c);
    result(t("chat.done." + action));
    render(); onChange();
    if (action === "take") $("reply").focus();
  } catch (e) { $("chat-error").textContent = e.message; }
}

async function transfer(target) {
  if (!target) { $("transfer-to").focus(); return; }
  const [kind, name] = target.split(/:(.*)/s);
  try {
    const forward = () => call("POST", "/api/v1/conversations/" + state.selected + "/forward", { [kind]: name });
    // A change that crossed the request (a message, a deadline moved) is a 409: the
    // runtime reads the chat afresh on a second try.
    const c = await forward().catch((e) => { if (e.status === 409) return forward(); throw e; });
    state.convs.set(c.id, c);
    result(t("chat.transferred", { name: kind === "queue" ? (queueDetails(name).displayName || name) : displayName(name) }));
    render(); onChange();
  } catch (e) { $("chat-error").textContent = e.message; }
}

async function runAction(a) {
  $("chat-error").textContent = "";
  try {
    const res = await call("POST", "/api/v1/conversations/" + state.selected + "/actions/" + encodeURIComponent(a.name));
    result(t("action.ok", { caption: a.caption, status: res.status }));
  } catch (e) {
    $("chat-error").textContent = t("action.failed", { caption: a.caption, error: (e.data && e.data.error && (e.data.error.message || e.data.error)) || e.message });
  }
  refreshActivity();
}

function result(text) {
  const r = $("chat-result");
  r.textContent = text;
}

// tickCountdowns updates every accept countdown on the page.
export function tickCountdowns() {
  for (const e of document.querySelectorAll(".countdown[data-deadline]")) {
    const left = Math.max(0, Math.round((new Date(e.dataset.deadline) - Date.now()) / 1000));
    e.textContent = " · " + t("offer.left", { s: left });
  }
}
