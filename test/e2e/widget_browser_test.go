package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// Stub desktop notifications and a hidden tab on the console page, recording each
// notification: the console must notify only while the tab is hidden.
const hideTabAndRecordNotifications = `
window.__notes = [];
window.Notification = class { constructor(title, o) { window.__notes.push({ title, body: o && o.body }); } };
window.Notification.permission = "granted";
window.Notification.requestPermission = () => Promise.resolve("granted");
Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
Object.defineProperty(document, "visibilityState", { configurable: true, get: () => "hidden" })`

// TestWidgetOnAnotherSiteInChromium: a visitor on a page of another site starts a chat
// in the widget the page embeds with one script tag; the operator gets the offer with
// the alert sound and a desktop notification, accepts, and they exchange messages, see
// each other typing and send files both ways; reloading either side loses nothing.
// The page around the widget never holds the visitor's token.
func TestWidgetOnAnotherSiteInChromium(t *testing.T) {
	host := newHostSite(t)
	rt := uiRuntime(t, host.allow)
	host.start(rt)

	operator := consoleBrowser(t, rt)
	steps(t, operator, "operator", signIn(rt, alice)...)
	steps(t, operator, "operator",
		js(`const p = document.getElementById("presence"); p.value = "online"; p.dispatchEvent(new Event("change"))`),
		poll(`document.getElementById("presence").value === "online" && document.body.dataset.sound === "stopped"`),
		js(hideTabAndRecordNotifications),
	)

	visitor := browser(t)
	steps(t, visitor, "visitor page",
		chromedp.Navigate(host.origin+"/"),
		chromedp.WaitVisible(`[data-switchboard="button"]`),
		chromedp.Click(`[data-switchboard="button"]`),
		poll(`document.querySelector('[data-switchboard="frame"]').style.display === "block"`),
	)
	frame, frameID := widgetFrame(t, visitor, rt, "")
	steps(t, frame, "widget",
		poll(`document.getElementById("title").textContent === "Example Support"`),
		poll(`document.getElementById("greeting").textContent.includes("How can we help")`),
		chromedp.SendKeys("#text", "Hello from another site"),
		chromedp.Click("#send"),
		poll(`document.getElementById("messages").textContent.includes("Hello from another site")`),
	)

	// The offer: listed, counted down, sounded and notified.
	steps(t, operator, "operator offer",
		poll(`document.querySelector("#list .conv.offer") !== null`),
		poll(`document.querySelector("#list .conv.offer .countdown").textContent.includes("s left")`),
		poll(`document.body.dataset.sound === "playing" && window.__switchboard.soundPlays === 1`),
		poll(`window.__notes.length === 1 && window.__notes[0].title === "New chat"`),
		poll(`document.title.startsWith("(1) ")`),
		press("#list .conv.offer"),
		poll(`document.body.dataset.sound === "stopped"`),
		poll(`document.getElementById("messages").textContent.includes("Hello from another site")`),
		press("#take"),
		poll(`!document.getElementById("reply").disabled`),
	)
	if got := evalString(t, operator, `window.__switchboard.notifications.map((n) => n.body).join()`); !strings.Contains(got, "first-line") {
		t.Errorf("the console recorded the notifications %q", got)
	}

	// Typing both ways, then messages.
	steps(t, operator, "operator typing", chromedp.SendKeys("#reply", "Hi! Alice here"))
	steps(t, frame, "widget sees typing", poll(`document.getElementById("typing").textContent === "Alice Andersen is typing…"`))
	steps(t, operator, "operator sends", chromedp.SendKeys("#reply", ", how can I help?\n"),
		poll(`[...document.querySelectorAll("#messages .msg.out")].some((m) => m.textContent.includes("how can I help?") && m.querySelector(".delivery.sent"))`))
	steps(t, frame, "widget", poll(`document.getElementById("messages").textContent.includes("Alice here, how can I help?")`),
		poll(`document.getElementById("status").textContent === "Alice Andersen is here to help"`),
		chromedp.SendKeys("#text", "My invoice is wrong"))
	steps(t, operator, "operator sees typing", poll(`document.getElementById("typing").textContent.includes("is typing")`))
	steps(t, frame, "widget sends", chromedp.SendKeys("#text", "\n"))
	steps(t, operator, "operator", poll(`document.getElementById("messages").textContent.includes("My invoice is wrong")`))

	// Files both ways: a picture from the operator shows as a thumbnail in the widget,
	// a PDF from the visitor as a link in the console.
	dir := t.TempDir()
	picture := filepath.Join(dir, "screenshot.png")
	pdf := filepath.Join(dir, "invoice.pdf")
	if err := os.WriteFile(picture, tinyPNG, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pdf, invoiceBytes, 0o644); err != nil {
		t.Fatal(err)
	}
	steps(t, operator, "operator file", chromedp.SetUploadFiles("#file", []string{picture}),
		poll(`document.querySelector("#messages .file.image img.thumb") !== null && document.querySelector("#messages img.thumb").src.startsWith("blob:")`))
	steps(t, frame, "widget file", poll(`[...document.querySelectorAll("#messages img.thumb")].some((i) => i.src.startsWith("blob:") && i.naturalWidth === 160)`),
		chromedp.SetUploadFiles("#file", []string{pdf}),
		poll(`document.getElementById("messages").textContent.includes("invoice.pdf")`))
	steps(t, operator, "operator sees the file", poll(`[...document.querySelectorAll("#messages .file a")].some((a) => a.textContent === "invoice.pdf (application/pdf)")`))
	steps(t, operator, "operator", chromedp.EmulateViewport(1280, 760))
	docShot(t, operator, "console-operator")
	steps(t, visitor, "visitor page", chromedp.EmulateViewport(1100, 720))
	docShot(t, visitor, "widget")
	// At 360 px the widget takes the whole screen; every control stays in reach.
	steps(t, visitor, "visitor page", chromedp.EmulateViewport(360, 640),
		poll(`document.querySelector('[data-switchboard="frame"]').getBoundingClientRect().width === 360`))
	steps(t, frame, "widget at 360 px", poll(`document.getElementById("send").getBoundingClientRect().right <= 360 && document.documentElement.scrollWidth <= 360`))
	docShot(t, visitor, "widget-360")

	// The token is in the frame's storage, on the runtime's origin, and nowhere the
	// page around it can read.
	token := evalString(t, frame, `JSON.parse(localStorage.getItem("switchboard-visitor-website")).token`)
	if len(token) < 20 {
		t.Fatalf("the frame keeps the token %q", token)
	}
	hostSees := evalString(t, visitor, `JSON.stringify({local: {...localStorage}, session: {...sessionStorage}, cookies: document.cookie, html: document.documentElement.outerHTML})`)
	if strings.Contains(hostSees, token) {
		t.Errorf("the host page can read the visitor's token: %s", hostSees)
	}
	if got := evalString(t, visitor, `(() => { try { return String(document.querySelector("iframe").contentWindow.localStorage.length) } catch (e) { return e.name } })()`); got != "SecurityError" {
		t.Errorf("the host page reaching into the frame's storage: %s, want SecurityError", got)
	}

	// Reloads lose nothing: the host page (and so the frame), then the console.
	steps(t, visitor, "visitor reload", chromedp.EmulateViewport(1100, 720), chromedp.Reload(), chromedp.WaitVisible(`[data-switchboard="button"]`),
		poll(`document.querySelector('[data-switchboard="frame"]').style.display === "block"`)) // it was open: it stays open
	frame, _ = widgetFrame(t, visitor, rt, frameID)
	steps(t, frame, "widget after reload",
		poll(`["Hello from another site", "Alice here, how can I help?", "My invoice is wrong", "invoice.pdf"].every((s) => document.getElementById("messages").textContent.includes(s))`),
		poll(`document.querySelectorAll("#messages img.thumb").length === 1`),
		poll(`document.body.dataset.connection === "open"`))
	steps(t, operator, "console reload", chromedp.Reload(), poll(`!document.getElementById("app").hidden`),
		chromedp.WaitVisible("#list .conv"), press("#list .conv"),
		poll(`["Hello from another site", "how can I help?", "My invoice is wrong", "invoice.pdf"].every((s) => document.getElementById("messages").textContent.includes(s))`),
		chromedp.SendKeys("#reply", "Still here after a reload\n"))
	steps(t, frame, "widget", poll(`document.getElementById("messages").textContent.includes("Still here after a reload")`))
}

// tinyPNG is a small picture: a blue gradient of 160×90.
var tinyPNG = func() []byte {
	var b bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 160, 90))
	for x := range 160 {
		for y := range 90 {
			img.Set(x, y, color.RGBA{R: uint8(47 + x/2), G: uint8(111 + y), B: 237, A: 255})
		}
	}
	_ = png.Encode(&b, img)
	return b.Bytes()
}()
