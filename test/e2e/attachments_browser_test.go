package e2e

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestConsoleShowsFilesInChromium: a file an operator sent shows in the console as a
// link, which downloads it with the operator's token (fetched, not navigated to).
func TestConsoleShowsFilesInChromium(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	rt := startRuntimeAt(t, manifestsDir(t), addr)
	online(t, rt, alice)
	v := newVisitor(t, rt, "Can you send me the invoice?")
	accept(t, rt, alice, v.conversation)
	uploadFile(t, rt, alice, v.conversation, "invoice.pdf", "application/pdf", invoiceBytes, "Here it is")

	operator := browser(t)
	ctx, cancel := context.WithTimeout(operator, 60*time.Second)
	defer cancel()
	for i, step := range []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(rt.base + "/console/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", alice),
		chromedp.Click("#login-form button"),
		chromedp.WaitVisible("#list .conv"),
		press("#list .conv"),
		poll(`document.querySelector("#messages .file a") !== null && document.querySelector("#messages .file a").textContent === "invoice.pdf (application/pdf)"`),
		// The download goes through a blob the console fetched with the token: watch it.
		chromedp.Evaluate[chromedp.Void](`const made = URL.createObjectURL;
			URL.createObjectURL = (b) => { b.text().then((t) => { window.downloaded = t; }); return made(b); }; ({})`),
		chromedp.Click("#messages .file a"),
		poll(`typeof window.downloaded === "string" && window.downloaded.startsWith("%PDF-1.7")`),
		poll(`document.getElementById("chat-error").textContent === ""`),
	} {
		if err = chromedp.Do(ctx, step); err != nil {
			failPage(t, operator, "operator", fmt.Errorf("step %d: %w", i, err))
		}
	}
}
