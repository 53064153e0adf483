// The operator console: sign-in, the live feed, the chat list with offers, presence,
// keyboard shortcuts, and the supervisor's views.
import { $, el, clock, backoff } from "../lib/dom.js";
import * as api from "./api.js";
import { state, addMessage, isOffer } from "./state.js";
import { t, lang, languages, apply, choose } from "./i18n.js";
import { createAlerts } from "./alerts.js";
import * as chat from "./chat.js";
import * as supervisor from "./supervisor.js";

let alerts = null;
const offered = new Set(); // offers already announced
const retry = backoff();

apply();
for (const l of languages) $("lang").append(el("option", { value: l, textContent: l.toUpperCase(), selected: l === lang }));
$("lang").addEventListener("change", () => choose($("lang").value));

// Sign-in.
$("login-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  $("login-error").textContent = "";
  try {
    await api.signIn($("token").value.trim());
    $("token").value = "";
    await start();
  } catch (err) { $("login-error").textContent = err.status === 401 ? t("login.wrong") : err.message; }
});
$("logout").addEventListener("click", async () => { await api.signOut(); showLogin(t("login.signedOut")); });

async function boot() {
  const methods = await api.authMethods();
  if (methods.oidc && methods.oidc.loginURL) { $("sso").href = methods.oidc.loginURL; $("sso").hidden = false; }
  $("token-login").hidden = methods.token === false;
  if (await api.resume()) await start().catch((e) => showLogin(e.message));
  else showLogin("");
}

function showLogin(reason) {
  if (state.ws) { state.ws.onclose = null; state.ws.close(); state.ws = null; }
  $("app").hidden = true; $("nav").hidden = true; $("login").hidden = false;
  $("login-error").textContent = reason || "";
  $("token").focus();
}

async function start() {
  state.me = await api.call("GET", "/api/v1/me");
  $("login").hidden = true; $("app").hidden = false; $("nav").hidden = false;
  $("who").textContent = state.me.displayName + (state.me.supervisor ? " · " + t("role.supervisor") : "");
  $("nav-supervisor").hidden = $("nav-analytics").hidden = !state.me.supervisor;
  alerts = alerts || createAlerts(state.me.console || {}, t);
  showPresence(state.me);
  const ops = await api.call("GET", "/api/v1/operators");
  for (const o of ops.operators || []) state.operators.set(o.name, o.presence);
  const mine = (ops.operators || []).find((o) => o.name === state.me.name);
  showPresence(Object.assign({}, mine || { presence: "offline", active: true }, pick(state.me)));
  connect();
}

const pick = (me) => Object.fromEntries(Object.entries(me).filter(([k]) => ["active", "inactiveReason", "atLimit"].includes(k) && me[k] !== undefined));

// Presence.
function showPresence(op) {
  if (op.presence) $("presence").value = op.presence;
  if (op.active === undefined) return;
  $("activate").hidden = op.active;
  $("inactive").hidden = op.active;
  $("inactive").textContent = op.active ? "" : op.inactiveReason || t("presence.inactive");
}
$("presence").addEventListener("change", async () => {
  try { showPresence(await api.call("PUT", "/api/v1/me/presence", { presence: $("presence").value })); } catch (e) { $("chat-error").textContent = e.message; }
});
$("activate").addEventListener("click", async () => {
  try { showPresence(await api.call("PUT", "/api/v1/me/presence", { presence: $("presence").value, active: true })); } catch (e) { $("chat-error").textContent = e.message; }
});

// The feed.
function connect() {
  const ws = new WebSocket(api.feedURL());
  state.ws = ws;
  ws.onopen = () => { retry.reset(); $("offline-banner").hidden = true; };
  ws.onmessage = (ev) => handle(JSON.parse(ev.data));
  ws.onclose = (ev) => {
    if (state.ws !== ws) return;
    if (ev.code === 4001) { api.signOut().then(() => showLogin(ev.reason || t("login.expired"))); return; }
    $("offline-banner").hidden = false;
    if (ev.code === 4009) { setTimeout(() => start().catch(() => connect()), 0); return; }
    setTimeout(connect, ev.code === 4012 ? 0 : retry.next());
  };
}

function handle(e) {
  switch (e.type) {
    case "snapshot":
      state.convs = new Map((e.conversations || []).map((c) => [c.id, c]));
      for (const o of e.operators || []) state.operators.set(o.name, o.presence);
      if (e.next) loadRest(e.next).catch((err) => { $("chat-error").textContent = t("list.partial", { error: err.message }); });
      break;
    case "conversation": {
      const known = state.convs.get(e.conversation.id);
      if (!known || !(known.version > e.conversation.version)) state.convs.set(e.conversation.id, Object.assign({}, known, e.conversation));
      if (e.conversation.id === state.selected) chat.refreshActivity();
      break;
    }
    case "message":
    case "attachment":
    case "delivery":
      addMessage(e.message);
      if (e.type === "message" && e.message.direction === "in" && (e.message.conversationID !== state.selected || document.hidden)) {
        state.unread.set(e.message.conversationID, (state.unread.get(e.message.conversationID) || 0) + 1);
      }
      chat.messageArrived(e.message);
      break;
    case "typing": chat.typing(e); return;
    case "operator":
      state.operators.set(e.operator.name, e.operator.presence);
      if (e.operator.name === state.me.name) showPresence(e.operator);
      supervisor.changed();
      break;
    case "me": Object.assign(state.me, pick(e.me)); showPresence(e.me); break;
    case "notice": $("chat-error").textContent = e.notice; break;
  }
  changed();
}

async function loadRest(cursor) {
  while (cursor) {
    const p = await api.call("GET", "/api/v1/conversations?cursor=" + encodeURIComponent(cursor));
    for (const c of p.conversations) {
      const known = state.convs.get(c.id);
      if (!known || known.version < c.version) state.convs.set(c.id, c);
    }
    renderList();
    cursor = p.next;
  }
}

// changed redraws after any change: list, offers, alerts, title, the open chat.
function changed() {
  renderList();
  const offers = [...state.convs.values()].filter(isOffer);
  for (const c of offers) {
    if (!offered.has(c.id)) { offered.add(c.id); if (c.id !== state.selected) alerts.offer(c, t("notify.body", { queue: c.queue })); }
  }
  for (const id of offered) if (!offers.some((c) => c.id === id)) offered.delete(id);
  if (!offers.some((c) => c.id !== state.selected)) alerts.stop();
  // The title counts the chats that want the operator: offers and chats with unread messages.
  const wanting = new Set(offers.filter((c) => c.id !== state.selected).map((c) => c.id));
  for (const [id, n] of state.unread) if (n > 0 && (id !== state.selected || document.hidden) && state.convs.has(id)) wanting.add(id);
  alerts.title(wanting.size);
  chat.render();
  supervisor.changed();
}
document.addEventListener("visibilitychange", () => { if (!document.hidden && state.selected) state.unread.delete(state.selected); if (state.me) changed(); });

function renderList() {
  const list = $("list");
  const open = [...state.convs.values()].filter((c) => c.state !== "Closed")
    .sort((a, b) => (isOffer(b) - isOffer(a)) || (a.queuedAt || a.createdAt).localeCompare(b.queuedAt || b.createdAt));
  list.replaceChildren(...open.map((c) => {
    const unread = state.unread.get(c.id) || 0;
    const row = el("button", { className: "conv" + (c.id === state.selected ? " selected" : "") + (isOffer(c) ? " offer" : ""),
      attrs: { "data-id": c.id, role: "listitem", "aria-current": c.id === state.selected ? "true" : null }, on: { click: () => select(c.id) } },
    el("span", { className: "state " + c.state, textContent: t("state." + c.state) }), " ", c.queue,
    unread ? el("span", { className: "badge", textContent: String(unread), attrs: { "aria-label": t("list.unread", { n: unread }) } }) : "",
    el("div", { className: "who" }, c.state === "Missed" ? t("list.offline") : isOffer(c) ? t("list.offered") : c.operator ? t("chat.with", { name: c.operator }) :
      t("list.waiting", { time: clock(c.queuedAt || c.createdAt, lang) }),
    isOffer(c) && c.acceptDeadline ? el("span", { className: "countdown", attrs: { "data-deadline": c.acceptDeadline } }) : ""));
    return row;
  }));
  $("list-empty").hidden = open.length > 0;
  chat.tickCountdowns();
}

function select(id) {
  showView("chats");
  chat.open(id);
}
window.addEventListener("switchboard:open", (e) => select(e.detail));
setInterval(chat.tickCountdowns, 1000);

// Views.
function showView(name) {
  for (const v of ["chats", "supervisor", "analytics"]) {
    $(v + "-view").hidden = v !== name;
    $("nav-" + v).setAttribute("aria-current", v === name ? "page" : "false");
  }
  if (name === "supervisor") supervisor.showOverview();
  if (name === "analytics") supervisor.showAnalytics();
}
for (const v of ["chats", "supervisor", "analytics"]) $("nav-" + v).addEventListener("click", () => showView(v));

// Keyboard shortcuts (docs/console.md lists them; so does the help dialog).
window.addEventListener("keydown", (e) => {
  if (!state.me || $("app").hidden) return;
  if (e.altKey && !e.ctrlKey && !e.metaKey) {
    const offers = [...state.convs.values()].filter(isOffer);
    switch (e.code) {
      case "KeyA": {
        e.preventDefault();
        const c = state.convs.get(state.selected);
        if (c && isOffer(c)) chat.act("take");
        else if (offers.length) chat.open(offers[0].id).then(() => chat.act("take"));
        return;
      }
      case "KeyC": e.preventDefault(); chat.act("close"); return;
      case "KeyR": e.preventDefault(); $("reply").focus(); return;
      case "ArrowDown": case "ArrowUp": {
        e.preventDefault();
        const rows = [...document.querySelectorAll("#list .conv")];
        const i = rows.findIndex((r) => r.dataset.id === state.selected);
        const next = rows[e.code === "ArrowDown" ? Math.min(rows.length - 1, i + 1) : Math.max(0, i - 1)];
        if (next) { select(next.dataset.id); next.focus(); }
        return;
      }
    }
  }
  if (e.key === "?" && !/INPUT|TEXTAREA|SELECT/.test(document.activeElement.tagName)) { e.preventDefault(); $("help").showModal(); }
});
$("help-open").addEventListener("click", () => $("help").showModal());
$("help-close").addEventListener("click", () => $("help").close());

chat.init(changed);
supervisor.init();
boot();
