// The web widget's loader, for any page of a channel's allowed origins:
//
//   <script src="https://chat.example.com/widget/widget.js" data-channel="website" async></script>
//
// It adds a chat button and a frame served by the runtime. The chat runs inside the
// frame, on the runtime's origin: the visitor's token lives in that origin's storage,
// which this page cannot read. The page and the frame exchange only open, close,
// unread-count and goal messages, each checking the other's origin.
//
// The page reports a goal of the channel's spec.webWidget.goals (a sign-up, a
// purchase) with
//
//   window.Switchboard.goal("signup");
//
// Calls made before this script ran wait in window.Switchboard.q, so a page may set
//
//   window.Switchboard = window.Switchboard || { q: [], goal: function (g) { this.q.push(["goal", g]); } };
//
// first. The frame reports the goal for the visitor's chat, or keeps it until the
// visitor starts one; it ignores goals the channel does not list.
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__switchboardWidget) return;
  window.__switchboardWidget = true;
  var runtime = new URL(script.src).origin;
  var channel = script.getAttribute("data-channel") || "website";
  var openKey = "switchboard-widget-open-" + channel;
  var color = /^#[0-9a-fA-F]{3,8}$/.test(script.getAttribute("data-color") || "") ? script.getAttribute("data-color") : "#2f6fed";

  var frameURL = runtime + "/widget/frame.html?channel=" + encodeURIComponent(channel) + "&host=" + encodeURIComponent(location.origin);
  if (script.getAttribute("data-lang")) frameURL += "&lang=" + encodeURIComponent(script.getAttribute("data-lang"));

  // Styles are set through the DOM (no <style>, no style attribute in markup), which
  // a strict Content-Security-Policy on the page allows.
  function css(el, props) { for (var k in props) el.style.setProperty(k, props[k]); }

  var button = document.createElement("button");
  button.type = "button";
  button.setAttribute("aria-label", "Chat");
  button.setAttribute("aria-expanded", "false");
  button.setAttribute("data-switchboard", "button");
  // A speech bubble, drawn (an emoji may be missing from the visitor's fonts).
  var svgNS = "http://www.w3.org/2000/svg";
  function icon(d) {
    var svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 24 24");
    svg.setAttribute("width", "26");
    svg.setAttribute("height", "26");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", d);
    path.setAttribute("fill", "#fff");
    svg.appendChild(path);
    return svg;
  }
  var bubble = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z";
  var cross = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12 19 17.6 17.6 19 12 13.4 6.4 19 5 17.6 10.6 12 5 6.4z";
  button.appendChild(icon(bubble));
  css(button, { position: "fixed", right: "16px", bottom: "16px", width: "56px", height: "56px", "border-radius": "50%", border: "0",
    background: color, color: "#fff", "line-height": "0", cursor: "pointer", "box-shadow": "0 4px 14px rgba(0,0,0,.25)", "z-index": "2147483646" });
  var badge = document.createElement("span");
  css(badge, { position: "absolute", top: "-4px", right: "-4px", "min-width": "20px", height: "20px", padding: "0 5px", "border-radius": "10px",
    background: "#d93025", color: "#fff", font: "bold 12px/20px system-ui, sans-serif", display: "none" });
  button.appendChild(badge);

  var frame = document.createElement("iframe");
  frame.src = frameURL;
  frame.title = "Chat";
  frame.setAttribute("data-switchboard", "frame");
  frame.setAttribute("allow", "clipboard-write");
  css(frame, { position: "fixed", border: "0", "border-radius": "12px", "box-shadow": "0 8px 30px rgba(0,0,0,.25)", background: "#fff",
    "z-index": "2147483647", display: "none" });

  function place() {
    if (window.innerWidth <= 480) {
      css(frame, { left: "0", top: "0", right: "0", bottom: "0", width: "100%", height: "100%", "border-radius": "0" });
    } else {
      css(frame, { left: "auto", top: "auto", right: "16px", bottom: "84px", width: "380px", height: Math.min(620, window.innerHeight - 100) + "px", "border-radius": "12px" });
    }
  }

  var isOpen = false;
  var ready = false;
  var goals = [];
  function post(msg) { if (frame.contentWindow) frame.contentWindow.postMessage(msg, runtime); }
  // goal hands a goal to the frame, or holds it until the frame is ready.
  function goal(name) {
    if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name) || name.length > 63) return;
    if (ready) post({ source: "switchboard-host", type: "goal", goal: name }); else goals.push(name);
  }
  var queued = window.Switchboard && Array.isArray(window.Switchboard.q) ? window.Switchboard.q : [];
  window.Switchboard = { goal: goal };
  queued.forEach(function (call) { if (call && call[0] === "goal") goal(call[1]); });
  function setOpen(open) {
    isOpen = open;
    place();
    frame.style.display = open ? "block" : "none";
    button.style.display = open && window.innerWidth <= 480 ? "none" : "block";
    button.setAttribute("aria-expanded", String(open));
    button.replaceChildren(icon(open ? cross : bubble), badge);
    try { sessionStorage.setItem(openKey, open ? "1" : ""); } catch (e) { /* storage may be off */ }
    if (open) badge.style.display = "none";
    post({ source: "switchboard-host", type: open ? "open" : "close" });
  }
  button.addEventListener("click", function () { setOpen(!isOpen); if (!isOpen) button.focus(); });
  window.addEventListener("resize", function () { if (isOpen) place(); });

  window.addEventListener("message", function (ev) {
    if (ev.origin !== runtime || ev.source !== frame.contentWindow || !ev.data || ev.data.source !== "switchboard-frame") return;
    switch (ev.data.type) {
      case "ready":
        if (ev.data.color && /^#[0-9a-fA-F]{3,8}$/.test(ev.data.color)) button.style.background = ev.data.color;
        if (typeof ev.data.title === "string") { button.setAttribute("aria-label", ev.data.title.slice(0, 80)); frame.title = ev.data.title.slice(0, 80); }
        if (isOpen) post({ source: "switchboard-host", type: "open" });
        ready = true;
        goals.splice(0).forEach(goal);
        break;
      case "close": setOpen(false); button.focus(); break;
      case "unread":
        var n = Number(ev.data.count) || 0;
        badge.textContent = n > 9 ? "9+" : String(n);
        badge.style.display = n > 0 && !isOpen ? "block" : "none";
        break;
    }
  });

  function mount() {
    document.body.appendChild(frame);
    document.body.appendChild(button);
    var wasOpen = false;
    try { wasOpen = sessionStorage.getItem(openKey) === "1"; } catch (e) { /* storage may be off */ }
    setOpen(wasOpen);
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
