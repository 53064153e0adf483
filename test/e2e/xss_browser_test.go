package e2e

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestScriptInMessagesStaysTextInChromium: markup and javascript: links in messages
// and in a visitor's name show as text in the console and the widget: nothing runs,
// no element is made of them, and only http and https addresses become links (which
// open without access to the page).
func TestScriptInMessagesStaysTextInChromium(t *testing.T) {
	payloads := []string{
		`<script>window.__xss = "script"</script>`,
		`<img src=x onerror="window.__xss = 'img'">`,
		`javascript:window.__xss='link'`,
		`[click](javascript:alert(1)) see https://example.com/help?a=1 now`,
	}
	rt := uiRuntime(t, nil)
	var open visitorOpen
	online(t, rt, alice)
	if code := call(t, "POST", rt.base+"/api/v1/channels/website/conversations", "", map[string]string{
		"name": `<img src=x onerror="window.__xss='name'">`, "text": payloads[0]}, &open, "Origin", origin); code != 201 {
		t.Fatalf("opening the chat: %d", code)
	}
	v := &visitor{rt: rt, channel: "website", token: open.Token, conversation: open.Conversation.ID}
	for _, p := range payloads[1:] {
		call(t, "POST", rt.base+"/api/v1/channels/website/conversations/"+v.conversation+"/messages", v.token, map[string]string{"text": p}, nil, "Origin", origin)
	}
	accept(t, rt, alice, v.conversation)
	for _, p := range payloads {
		call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", alice, map[string]string{"text": "echo " + p}, nil)
	}
	const inert = `window.__xss === undefined && document.querySelector("#messages img:not(.thumb), #messages script, #contact img, #chat-head img") === null &&
		[...document.querySelectorAll("#messages a")].every((a) => a.protocol === "https:" && a.rel.includes("noopener")) &&
		document.querySelectorAll("#messages a").length === 2 &&
		document.getElementById("messages").textContent.includes('<img src=x onerror="window.__xss = \'img\'">') &&
		document.getElementById("messages").textContent.includes("<script>")`

	operator := browser(t)
	steps(t, operator, "console", append(signIn(rt, alice), chromedp.WaitVisible("#list .conv"), press("#list .conv"),
		poll(`document.querySelectorAll("#messages .msg").length === 8`),
		poll(`document.getElementById("chat-title").textContent.includes("<img src=x")`),
		poll(inert))...)

	// The widget, with the visitor's token in its storage as if they had started there.
	widget := browser(t)
	steps(t, widget, "widget", chromedp.Navigate(rt.base+"/widget/frame.html?channel=website"), poll(`document.body.dataset.ready === "true"`),
		js(`localStorage.setItem("switchboard-visitor-website", JSON.stringify({token: "`+v.token+`", conversation: "`+v.conversation+`"}))`),
		chromedp.Reload(), poll(`document.querySelectorAll("#messages .msg").length === 8`), poll(inert))
}
