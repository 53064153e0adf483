package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestSupervisorReassignsAndSeesAnalyticsInChromium: a supervisor sees the queues and
// the operators with presence and load, reassigns a chat from one operator to another,
// and finds the day's chats on the analytics page, drawn as bars.
func TestSupervisorReassignsAndSeesAnalyticsInChromium(t *testing.T) {
	rt := uiRuntime(t, nil)
	online(t, rt, alice)
	online(t, rt, bob)
	v := newVisitor(t, rt, "Where is my parcel?")
	var held struct{ Operator string }
	for deadline := time.Now().Add(10 * time.Second); held.Operator == ""; time.Sleep(20 * time.Millisecond) {
		call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation, sam, nil, &held)
		if time.Now().After(deadline) {
			t.Fatal("the chat was not assigned")
		}
	}
	to, toName := "bob", "Bob Brown"
	if held.Operator == "bob" {
		to, toName = "alice", "Alice Andersen"
	}

	supervisor := browser(t)
	steps(t, supervisor, "supervisor", append(signIn(rt, sam),
		chromedp.EmulateViewport(1200, 760),
		chromedp.Click("#nav-supervisor"),
		poll(`document.querySelector('#queues tr[data-queue="first-line"]') !== null`),
		poll(`document.querySelector('#operators tr[data-operator="alice"]').textContent.includes("online")`),
		poll(`document.querySelector('#held li[data-id="`+v.conversation+`"]') !== null`),
		js(`document.querySelector('#held li[data-id="`+v.conversation+`"] select').value = "`+to+`"`),
		press(`#held li[data-id="`+v.conversation+`"] .reassign`),
		poll(`document.querySelector('#held li[data-id="`+v.conversation+`"] .holder').textContent.includes("`+toName+`")`),
	)...)
	var after struct{ Operator string }
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation, sam, nil, &after)
	if after.Operator != to {
		t.Fatalf("after the reassignment the chat is with %q, want %s", after.Operator, to)
	}
	docShot(t, supervisor, "console-supervisor")

	steps(t, supervisor, "analytics",
		chromedp.Click("#nav-analytics"),
		poll(`document.querySelector('#analytics-out table[data-table="days"]') !== null`),
		poll(`document.querySelectorAll("#analytics-out svg.bars rect.bar").length > 0`),
		poll(`[...document.querySelectorAll('#analytics-out table[data-table="queues"] td')].some((td) => td.textContent === "first-line")`))
	docShot(t, supervisor, "console-analytics")
}
