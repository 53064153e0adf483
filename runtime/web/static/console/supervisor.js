// The supervisor's views: every queue with its waiting chats and their wait, every
// operator with presence and load (reassign, take over), and the analytics page.
import { $, el } from "../lib/dom.js";
import { call } from "./api.js";
import { state, displayName } from "./state.js";
import { t, lang } from "./i18n.js";
import { reassign, takeover } from "./chat.js";

let overview = null;
let timer = null;

export function init() {
  const today = new Date();
  const weekAgo = new Date(today.getTime() - 6 * 864e5);
  $("analytics-from").value = weekAgo.toISOString().slice(0, 10);
  $("analytics-to").value = today.toISOString().slice(0, 10);
  $("analytics-form").addEventListener("submit", (e) => { e.preventDefault(); showAnalytics(); });
}

export async function showOverview() {
  clearInterval(timer);
  timer = setInterval(() => { if (!$("supervisor-view").hidden) load(); else clearInterval(timer); }, 5000);
  await load();
}

let pendingLoad = null;
export function changed() {
  if ($("supervisor-view").hidden || pendingLoad) return;
  pendingLoad = setTimeout(() => { pendingLoad = null; load(); }, 300);
}

async function load() {
  try {
    overview = await call("GET", "/api/v1/supervisor/overview");
    $("supervisor-error").textContent = "";
  } catch (e) {
    $("supervisor-error").textContent = e.message;
    return;
  }
  renderOverview();
}

const wait = (s) => (s >= 3600 ? Math.floor(s / 3600) + " h " : "") + (s >= 60 ? Math.floor((s % 3600) / 60) + " min " : "") + Math.floor(s % 60) + " s";

function operatorSelect(id, label) {
  const s = el("select", { attrs: { "aria-label": label, "data-for": id } }, el("option", { value: "", textContent: label }));
  for (const o of overview.operators || []) s.append(el("option", { value: o.name, textContent: (o.displayName || o.name) + " · " + t("presence." + o.presence) }));
  return s;
}

function renderOverview() {
  // What a supervisor picked survives the redraw.
  const picked = {};
  for (const s of document.querySelectorAll("#supervisor-view select[data-for]")) if (s.value) picked[s.dataset.for] = s.value;
  drawOverview();
  for (const s of document.querySelectorAll("#supervisor-view select[data-for]")) if (picked[s.dataset.for]) s.value = picked[s.dataset.for];
}

function drawOverview() {
  const queues = $("queues");
  queues.replaceChildren(el("caption", { textContent: t("sup.queues") }),
    el("tr", {}, ...["sup.queue", "sup.online", "sup.waiting", "sup.longest", ""].map((k) => el("th", { scope: "col", textContent: k ? t(k) : "" }))));
  for (const q of overview.queues || []) {
    const waiting = q.waiting || [];
    queues.append(el("tr", { attrs: { "data-queue": q.name } }, el("th", { scope: "row", textContent: q.displayName || q.name }),
      el("td", { textContent: String(q.operatorsOnline ?? "") }), el("td", { textContent: String(waiting.length) }),
      el("td", { textContent: waiting.length ? wait(Math.max(...waiting.map((w) => w.waitSeconds || 0))) : "–" }), el("td")));
    for (const w of waiting) {
      const pickOp = operatorSelect(w.id, t("chat.reassignTo"));
      queues.append(el("tr", { className: "waiting", attrs: { "data-id": w.id } }, el("td"),
        el("td", { colSpan: 2 }, el("a", { href: "#", textContent: w.id, on: { click: (e) => { e.preventDefault(); window.dispatchEvent(new CustomEvent("switchboard:open", { detail: w.id })); } } })),
        el("td", { textContent: wait(w.waitSeconds || 0) }),
        el("td", {}, pickOp, el("button", { className: "reassign", textContent: t("chat.reassign"), on: { click: () => reassign(w.id, pickOp.value).then(load) } }))));
    }
  }
  const ops = $("operators");
  ops.replaceChildren(el("caption", { textContent: t("sup.operators") }),
    el("tr", {}, ...["sup.operator", "sup.presence", "sup.load", "sup.active"].map((k) => el("th", { scope: "col", textContent: t(k) }))));
  for (const o of overview.operators || []) {
    ops.append(el("tr", { attrs: { "data-operator": o.name } }, el("th", { scope: "row", textContent: o.displayName || displayName(o.name) }),
      el("td", {}, el("span", { className: "presence " + o.presence, textContent: t("presence." + o.presence) })),
      el("td", {}, meter(o.load || 0, o.limit || 0)),
      el("td", { textContent: o.active === false ? t("sup.inactive") + (o.inactiveReason ? ": " + o.inactiveReason : "") : t("sup.yes") })));
  }
  // The chats operators hold, for take-over and reassignment.
  const held = [...state.convs.values()].filter((c) => c.state === "Active" || c.state === "Assigned");
  const list = $("held");
  list.replaceChildren(...held.map((c) => {
    const pickOp = operatorSelect(c.id, t("chat.reassignTo"));
    return el("li", { attrs: { "data-id": c.id } }, el("span", { className: "holder", textContent: c.queue + " · " + displayName(c.operator) + " · " + t("state." + c.state) + " " }),
      pickOp, el("button", { className: "reassign", textContent: t("chat.reassign"), on: { click: () => reassign(c.id, pickOp.value).then(load) } }),
      c.operator !== state.me.name ? el("button", { className: "takeover", textContent: t("chat.takeover"), on: { click: () => takeover(c.id).then(load) } }) : "");
  }));
}

function meter(load, limit) {
  const m = el("meter", { min: 0, max: Math.max(limit, 1), value: load, attrs: { "aria-label": t("sup.loadOf", { load, limit }) } });
  return el("span", {}, m, " " + load + " / " + limit);
}

// Analytics: the figures of GET /api/v1/analytics as tables, with bars drawn as SVG.
export async function showAnalytics() {
  const q = new URLSearchParams({ from: $("analytics-from").value, to: $("analytics-to").value });
  if ($("analytics-queue").value) q.set("queue", $("analytics-queue").value);
  if ($("analytics-queue").options.length <= 1) {
    for (const name of state.me.queues) $("analytics-queue").append(el("option", { value: name, textContent: name }));
  }
  let data;
  try {
    data = await call("GET", "/api/v1/analytics?" + q);
    $("analytics-error").textContent = "";
  } catch (e) {
    $("analytics-error").textContent = e.message;
    return;
  }
  const out = $("analytics-out");
  out.replaceChildren();
  for (const [key, rows] of Object.entries(data)) {
    if (!Array.isArray(rows) || !rows.length || typeof rows[0] !== "object") continue;
    out.append(el("h3", { textContent: t("analytics." + key) === "analytics." + key ? key : t("analytics." + key) }));
    const label = ["date", "day", "queue", "operator", "name"].filter((k) => k in rows[0]);
    const numeric = Object.keys(rows[0]).filter((k) => typeof rows[0][k] === "number");
    const bar = ["chats", "conversations", "handled", "total"].find((k) => numeric.includes(k)) || numeric[0];
    if (bar) out.append(bars(rows, label, bar));
    out.append(table(rows, key));
  }
}

function cell(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toLocaleString(lang, { maximumFractionDigits: 2 });
  if (typeof v === "object" && "count" in v) return v.count ? cell(v.average ?? v.thumbsUp) + " (" + v.count + ")" : "–";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function table(rows, key) {
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return el("table", { className: "data", attrs: { "data-table": key } },
    el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", { scope: "col", textContent: t("col." + c) === "col." + c ? c : t("col." + c) })))),
    el("tbody", {}, ...rows.map((r) => el("tr", {}, ...cols.map((c) => el("td", { textContent: cell(r[c]) }))))));
}

const svgNS = "http://www.w3.org/2000/svg";
function svg(tag, attrs, text) {
  const e = document.createElementNS(svgNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

// bars draws one horizontal bar a row, its label and value as text.
function bars(rows, label, key) {
  const max = Math.max(1, ...rows.map((r) => r[key] || 0));
  const h = 22;
  const chart = svg("svg", { class: "bars", viewBox: "0 0 600 " + rows.length * h, role: "img", "aria-label": t("analytics.chart", { what: key }) });
  rows.forEach((r, i) => {
    const name = label.map((k) => r[k]).join(" · ");
    const w = Math.round(((r[key] || 0) / max) * 380);
    chart.append(svg("text", { x: 0, y: i * h + 15, class: "label" }, name),
      svg("rect", { x: 180, y: i * h + 4, width: w, height: h - 8, class: "bar" }),
      svg("text", { x: 186 + w, y: i * h + 15, class: "value" }, cell(r[key])));
  });
  return chart;
}
