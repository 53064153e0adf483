package e2e

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromium finds a headless-capable Chromium; without one the browser tests skip
// loudly, except under CI, which installs it.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no Chromium installed: .ci/run installs the chromium package")
	}
	fmt.Fprintln(os.Stderr, "\n*** SKIPPING browser tests: no Chromium installed (apt-get install chromium) ***")
	t.Skip("no Chromium installed; see the warning above")
	return ""
}

func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		// Two pages share the browser; neither may be throttled for being in the background.
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	alloc, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	return ctx
}

// screenshot saves the page to $SWITCHBOARD_SCREENSHOTS, when set, for a person to look at.
func screenshot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("SWITCHBOARD_SCREENSHOTS")
	if dir == "" {
		return
	}
	// A tab in the background may render no frame: do not wait for one forever.
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if png, err := chromedp.Run(short, chromedp.FullScreenshot(100)); err == nil {
		_ = os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
	}
}

// TestWidgetAndConsoleInChromium: a visitor chats in the widget page and an operator
// answers in the console page, both in a real browser.
func TestWidgetAndConsoleInChromium(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	// The widget page is served at the LiveChat's public URL, the one origin of the
	// runtime's own that its channels admit.
	dir := manifestsDir(t)
	edit(t, dir, "livechat.yaml", "publicURL: http://localhost:8080", "publicURL: http://"+addr)
	rt := startRuntimeAt(t, dir, addr)
	online(t, rt, alice)

	// Visitor and operator each have a browser of their own, as they would.
	visitor := browser(t)
	deadline, cancel := context.WithTimeout(visitor, 60*time.Second)
	defer cancel()
	err = chromedp.Do(deadline,
		chromedp.Navigate(rt.base+"/widget/?channel=website"),
		chromedp.WaitVisible("#text"),
		poll(`document.getElementById("title").textContent === "Example Support"`),
		chromedp.SendKeys("#text", "Hello from a real browser"),
		chromedp.Click("#send"),
		poll(`document.getElementById("messages").textContent.includes("Hello from a real browser")`),
		poll(`document.getElementById("status").textContent.includes("Waiting for an operator") || document.getElementById("status").textContent.includes("in the queue")`),
	)
	if err != nil {
		failPage(t, visitor, "visitor", err)
	}

	operator := browser(t)
	opDeadline, cancel2 := context.WithTimeout(operator, 60*time.Second)
	defer cancel2()
	for i, step := range []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(rt.base + "/console/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", alice),
		chromedp.Click("#login-form button"),
		poll(`document.getElementById("who").textContent === "Alice Andersen"`),
		chromedp.WaitVisible("#list .conv"),
		chromedp.Click("#list .conv"),
		poll(`document.getElementById("messages").textContent.includes("Hello from a real browser")`),
		chromedp.Click("#take"), // the chat was assigned to her: accept it
		poll(`!document.getElementById("reply").disabled`),
		chromedp.SendKeys("#reply", "Hi! Alice here, how can I help?"),
		chromedp.Click("#send"),
		poll(`document.getElementById("messages").textContent.includes("Alice here")`),
	} {
		if err = chromedp.Do(opDeadline, step); err != nil {
			err = fmt.Errorf("step %d: %w", i, err)
			break
		}
	}
	if err != nil {
		failPage(t, operator, "operator", err)
	}
	screenshot(t, operator, "console")

	// The answer reaches the widget live; after a reload the history is still there.
	err = chromedp.Do(deadline,
		poll(`document.getElementById("messages").textContent.includes("Alice here")`),
		poll(`document.getElementById("status").textContent.includes("Alice Andersen is here to help")`),
		chromedp.Reload(),
		poll(`document.getElementById("messages").textContent.includes("Alice here")`),
	)
	if err != nil {
		failPage(t, visitor, "visitor after the answer", err)
	}
	text, err := chromedp.Run(deadline, chromedp.Text("#messages"))
	if err != nil {
		t.Fatal(err)
	}
	screenshot(t, visitor, "widget")
	if !strings.Contains(text, "Hello from a real browser") {
		t.Errorf("after a reload the widget shows %q", text)
	}
}

// failPage ends the test with what the page shows, so a failure can be understood.
func failPage(t *testing.T, ctx context.Context, who string, err error) {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	body, evalErr := chromedp.Run(short, chromedp.Evaluate[string](`document.body.innerText`))
	t.Logf("%s: the page shows (%v):\n%s", who, evalErr, body)
	screenshot(t, ctx, "failed-"+strings.ReplaceAll(who, " ", "-"))
	t.Fatalf("%s: %v\nthe page shows:\n%s", who, err, body)
}

// poll waits for a predicate, checking on a timer: animation frames, the default, do
// not run in a page that is not in front.
func poll(predicate string) chromedp.Action[chromedp.Void] {
	return chromedp.Poll[chromedp.Void](predicate, chromedp.WithPollingInterval(50*time.Millisecond))
}
