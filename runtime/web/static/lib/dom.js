// Small DOM helpers shared by the console and the widget. Everything a person typed
// is put on the page as text, never as HTML.

export const $ = (id) => document.getElementById(id);

// el creates an element: props are set as properties (className, textContent, …),
// except "attrs" (attributes, for aria-* and data-*) and "on" (event listeners).
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  const { attrs, on, ...rest } = props;
  Object.assign(e, rest);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
  for (const [k, v] of Object.entries(on || {})) e.addEventListener(k, v);
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const linkPattern = /\bhttps?:\/\/[^\s<>"'`]+/gi;

// richText turns a message's text into text nodes and links: only http and https
// addresses become links, opened in a new tab without access to this page.
export function richText(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const m of String(text || "").matchAll(linkPattern)) {
    let url = m[0].replace(/[).,;:!?]+$/, "");
    let safe = null;
    try { safe = new URL(url); } catch { safe = null; }
    if (!safe || (safe.protocol !== "http:" && safe.protocol !== "https:")) continue;
    out.append(text.slice(last, m.index));
    out.append(el("a", { href: safe.href, textContent: url, target: "_blank", rel: "noopener noreferrer" }));
    last = m.index + url.length;
  }
  out.append(String(text || "").slice(last));
  return out;
}

export function clock(iso, lang) {
  if (!iso) return "";
  return new Date(iso).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
}

// backoff returns the delays of reconnects: 0.5 s doubling up to 30 s, with jitter,
// back to the start after reset().
export function backoff() {
  let n = 0;
  return { next: () => Math.min(30000, 500 * 2 ** n++) * (0.75 + Math.random() / 2), reset: () => { n = 0; } };
}
