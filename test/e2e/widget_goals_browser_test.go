package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestWidgetPreChatAndGoalsInChromium: on a channel with a pre-chat form that
// requires an email and the goals signup and purchase, the widget asks for the email
// before the first message and refuses to start without one. The page around the
// widget reports goals with Switchboard.goal: one called before the loader ran
// (queued) waits for the chat and is reported once it starts, one called during the
// chat is reported at once, and one the channel does not list is dropped without an
// error on the page.
func TestWidgetPreChatAndGoalsInChromium(t *testing.T) {
	host := newHostSite(t)
	rt := uiRuntime(t, func(t *testing.T, dir string) {
		host.allow(t, dir)
		editFile(t, dir, "channels.yaml", "      requireEmail: true\n    ratings: true\n",
			"      requireEmail: true\n    preChat:\n      enabled: true\n      requireEmail: true\n    ratings: true\n    goals: [signup, purchase]\n")
	})
	// The page queues a goal before the loader runs, as the documented snippet does.
	host.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Example shop</title></head><body><h1>Thanks for signing up</h1>
<script>window.Switchboard = window.Switchboard || { q: [], goal: function (g) { this.q.push(["goal", g]); } }; Switchboard.goal("signup");</script>
<script src="%s/widget/widget.js" data-channel="website" async></script></body></html>`, rt.base)
	})
	host.srv.Start()
	online(t, rt, alice)

	visitor := browser(t)
	steps(t, visitor, "visitor page",
		chromedp.Navigate(host.origin+"/"),
		chromedp.WaitVisible(`[data-switchboard="button"]`),
		chromedp.Click(`[data-switchboard="button"]`),
		poll(`document.querySelector('[data-switchboard="frame"]').style.display === "block"`),
		poll(`typeof window.Switchboard.goal === "function" && !window.Switchboard.q`),
	)
	frame, _ := widgetFrame(t, visitor, rt, "")
	steps(t, frame, "widget pre-chat form",
		poll(`!document.getElementById("prechat").hidden && document.getElementById("email-label").textContent === "Email (required)"`),
		// The queued goal waits for a chat.
		poll(`localStorage.getItem("switchboard-visitor-website:goals") === '["signup"]'`),
		chromedp.SendKeys("#name", "Vera"),
		chromedp.SendKeys("#text", "Where is my kettle?"),
		chromedp.Click("#send"),
		poll(`document.getElementById("error").textContent === "Please give your email address, so that we can answer you."`),
		poll(`localStorage.getItem("switchboard-visitor-website") === null`),
		chromedp.SendKeys("#email", "vera@example.com"),
		chromedp.Click("#send"),
		poll(`document.getElementById("messages").textContent.includes("Where is my kettle?") && document.getElementById("prechat").hidden`),
		poll(`localStorage.getItem("switchboard-visitor-website:goals") === "[]"`),
	)
	id := evalString(t, frame, `JSON.parse(localStorage.getItem("switchboard-visitor-website")).conversation`)
	goals := func() []string {
		var c struct{ Goals []string }
		if code := call(t, "GET", rt.base+"/api/v1/conversations/"+id, alice, nil, &c); code != 200 {
			t.Fatalf("the conversation: %d", code)
		}
		slices.Sort(c.Goals)
		return c.Goals
	}
	if got := goals(); !slices.Equal(got, []string{"signup"}) {
		t.Errorf("after the chat started, the conversation has the goals %q, want [signup]", got)
	}

	// During the chat: a goal of the channel, and one it does not list (dropped,
	// never thrown on the page).
	steps(t, visitor, "visitor page goals", js(`Switchboard.goal("nope"); Switchboard.goal("purchase")`))
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		got := goals()
		if slices.Equal(got, []string{"purchase", "signup"}) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after Switchboard.goal(\"purchase\"), the conversation has the goals %q, want [purchase signup]", got)
		}
	}
}
