package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestTransferActionCloseAndRatingInChromium: an operator transfers a chat to the
// experts' queue; an expert accepts it with Alt+A, runs a chat action and sees its
// result, and closes the chat with Alt+C; the visitor rates the chat and leaves
// feedback, which the conversation then carries.
func TestTransferActionCloseAndRatingInChromium(t *testing.T) {
	var hookCalls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, ok := signedBody(r, "REPLACE-with-another-long-random-string"); ok {
			hookCalls.Add(1)
		}
	}))
	defer hook.Close()
	rt := uiRuntime(t, func(t *testing.T, dir string) {
		editFile(t, dir, "chatqueues.yaml", "https://crm.example.com/hooks/invoice-paid", hook.URL+"/invoice-paid")
	})

	// Alice is online, so the widget offers a live chat.
	first := browser(t)
	steps(t, first, "alice", append(signIn(rt, alice), goOnline()...)...)
	visitor := browser(t)
	steps(t, visitor, "widget", chromedp.Navigate(rt.base+"/widget/frame.html?channel=website"), poll(`document.body.dataset.ready === "true"`),
		chromedp.SendKeys("#text", "My invoice shows the wrong amount\n"),
		poll(`document.getElementById("messages").textContent.includes("wrong amount")`))
	steps(t, first, "alice",
		press("#list .conv"), press("#take"),
		poll(`!document.getElementById("reply").disabled && document.getElementById("transfer-to") !== null`),
		// Picked and clicked in one turn: the toolbar redraws as the chat's state arrives.
		js(`document.getElementById("transfer-to").value = "queue:accounting"; document.getElementById("transfer").click()`),
		poll(`document.getElementById("chat-result").textContent === "Transferred to accounting."`))

	expert := browser(t)
	steps(t, expert, "dave", append(signIn(rt, dave), goOnline()...)...)
	steps(t, expert, "dave",
		poll(`document.querySelector("#list .conv.offer") !== null`),
		chromedp.KeyEvent("a", chromedp.KeyModifiers(chromedp.ModifierAlt)),
		poll(`document.querySelector("#chat-head .state.Active") !== null`),
		poll(`document.getElementById("messages").textContent.includes("wrong amount")`),
		press(`.action[data-action="notify-invoice-paid"]`),
		poll(`document.getElementById("chat-result").textContent === "Notify a manager about invoice payment: done (HTTP 200)."`),
		poll(`[...document.querySelectorAll("#activity li")].some((li) => li.textContent.includes("transferred"))`),
		chromedp.KeyEvent("c", chromedp.KeyModifiers(chromedp.ModifierAlt)),
		poll(`document.getElementById("chat-result").textContent === "The chat is closed."`))
	if hookCalls.Load() != 1 {
		t.Errorf("the action's webhook was called %d times, want 1", hookCalls.Load())
	}

	steps(t, visitor, "widget rating",
		poll(`document.getElementById("status").textContent.includes("ended") && !document.getElementById("rating").hidden`),
		chromedp.Click(`#rating input[value="4"]`),
		chromedp.SendKeys("#feedback", "Quick and friendly"),
		chromedp.Click("#rating button"),
		poll(`document.getElementById("thanks").textContent === "Thank you for your feedback!" && document.getElementById("rating").hidden`))
	id := evalString(t, visitor, `JSON.parse(localStorage.getItem("switchboard-visitor-website")).conversation`)
	var conv map[string]any
	call(t, "GET", rt.base+"/api/v1/conversations/"+id, sam, nil, &conv)
	if r, _ := conv["rating"].(map[string]any); r == nil || r["score"] != float64(4) {
		t.Errorf("the conversation's rating: %v", conv["rating"])
	}
	if !strings.Contains(toJSON(conv["feedback"]), "Quick and friendly") {
		t.Errorf("the conversation's feedback: %v", conv["feedback"])
	}
}

// TestOfflineFormInChromium: with nobody online the widget shows the queue's offline
// message and form, which requires an email address; the message left is an offline
// message the console lists.
func TestOfflineFormInChromium(t *testing.T) {
	rt := uiRuntime(t, nil)
	visitor := browser(t)
	steps(t, visitor, "widget", chromedp.Navigate(rt.base+"/widget/frame.html?channel=website"), poll(`document.body.dataset.ready === "true"`),
		poll(`!document.getElementById("offline-form").hidden && document.getElementById("send-form").hidden`),
		poll(`document.getElementById("offline-message").textContent === "We are offline right now. Leave a message and we will answer by email."`),
		poll(`document.getElementById("offline-email-label").textContent === "Email (required)"`),
		chromedp.SendKeys("#offline-text", "Please call me back about my order"),
		chromedp.Click("#offline-form button"),
		poll(`document.getElementById("offline-email").matches(":invalid") && document.getElementById("messages").textContent === ""`),
		chromedp.SendKeys("#offline-email", "vera@example.org"),
		chromedp.Click("#offline-form button"),
		poll(`document.getElementById("thanks").textContent.includes("We got your message")`),
		poll(`document.getElementById("messages").textContent.includes("call me back")`))
	operator := browser(t)
	// Once someone is online, the message is routed like any chat.
	steps(t, operator, "operator", append(signIn(rt, alice), chromedp.WaitVisible("#list .conv"), press("#list .conv"),
		poll(`document.getElementById("messages").textContent.includes("call me back")`),
		poll(`document.getElementById("contact").textContent.includes("vera@example.org")`))...)
}
