package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

// TestConsoleListsChatsBeyondTheSnapshot: the console's snapshot holds 200 chats;
// the console reads the rest from its cursor and lists every one, in a real browser.
func TestConsoleListsChatsBeyondTheSnapshot(t *testing.T) {
	const chats = 205
	rt := startRuntime(t, &source.Files{Dir: manifestsDir(t), Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, t.TempDir(),
		api.Limits{ConversationsPerSecond: -1})
	for i := range chats {
		newVisitor(t, rt, fmt.Sprintf("question %d", i))
	}
	operator := browser(t)
	deadline, cancel := context.WithTimeout(operator, 60*time.Second)
	defer cancel()
	err := chromedp.Do(deadline,
		chromedp.Navigate(rt.base+"/console/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", alice),
		chromedp.Click("#login-form button"),
		poll(fmt.Sprintf(`document.querySelectorAll("#list .conv").length === %d`, chats)),
	)
	if err != nil {
		failPage(t, operator, "operator", err)
	}
}
