package e2e

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

var updateScreenshots = flag.Bool("update-screenshots", false, "write the console and widget screenshots of docs/images")

// uiRuntime runs the sample manifests at a fixed address that is also the LiveChat's
// public URL (the console's and the widget frame's origin); edit changes the
// manifests first.
func uiRuntime(t *testing.T, edit func(t *testing.T, dir string)) *runtime {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := manifestsDir(t)
	editFile(t, dir, "livechat.yaml", "publicURL: http://localhost:8080", "publicURL: http://"+addr)
	if edit != nil {
		edit(t, dir)
	}
	return startRuntimeAt(t, dir, addr)
}

func editFile(t *testing.T, dir, file, old, new string) { t.Helper(); edit(t, dir, file, old, new) }

// hostSite serves a page of another site (localhost, where the runtime is 127.0.0.1)
// that embeds the widget with its one script tag; allow must list its origin in the
// channel's allowedOrigins before the runtime starts.
type hostSite struct {
	srv    *httptest.Server
	origin string
}

func newHostSite(t *testing.T) *hostSite {
	t.Helper()
	h := &hostSite{}
	h.srv = httptest.NewUnstartedServer(nil)
	h.origin = "http://localhost:" + fmt.Sprint(h.srv.Listener.Addr().(*net.TCPAddr).Port)
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hostSite) allow(t *testing.T, dir string) {
	editFile(t, dir, "channels.yaml", "    - https://www.example.com\n", "    - https://www.example.com\n    - "+h.origin+"\n")
}

func (h *hostSite) start(rt *runtime) {
	h.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><html><head><title>Example shop</title></head><body><h1>Example shop</h1>
<p>Kettles, lids and spare parts.</p>
<script src="%s/widget/widget.js" data-channel="website" async></script></body></html>`, rt.base)
	})
	h.srv.Start()
}

// consoleBrowser is a browser for an operator: it may play the alert sound without a
// gesture (headless Chromium has no person to make one) and show notifications.
func consoleBrowser(t *testing.T, rt *runtime) context.Context {
	t.Helper()
	ctx := browser(t, chromedp.Flag("autoplay-policy", "no-user-gesture-required"))
	_, err := chromedp.CallBrowser(ctx, cdpbrowser.SetPermission, cdpbrowser.SetPermissionParams{
		Permission: &cdpbrowser.PermissionDescriptor{Name: "notifications"}, Setting: cdpbrowser.PermissionSettingGranted, Origin: rt.base})
	if err != nil {
		t.Fatalf("granting notifications: %v", err)
	}
	return ctx
}

// signIn signs an operator in on the console's page.
func signIn(rt *runtime, token string) []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(rt.base + "/console/"),
		chromedp.WaitVisible("#token"),
		chromedp.SendKeys("#token", token),
		chromedp.Click("#login-form button"),
		poll(`document.getElementById("who").textContent !== "" && !document.getElementById("app").hidden`),
	}
}

// steps runs actions one by one, failing with the page's text and the step's number.
func steps(t *testing.T, ctx context.Context, who string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	short, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for i, a := range actions {
		if err := chromedp.Do(short, a); err != nil {
			failPage(t, ctx, who, fmt.Errorf("step %d: %w", i, err))
		}
	}
}

func js(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](expr + "; undefined")
}

// evalString evaluates an expression to a string.
func evalString(t *testing.T, ctx context.Context, expr string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	return v
}

// widgetFrame attaches to the widget's frame, a target of its own as it is on another
// site than the page; skip names a frame target to pass over (the one before a reload).
func widgetFrame(t *testing.T, page context.Context, rt *runtime, skip string) (context.Context, string) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		infos, err := chromedp.Targets(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, rt.base+"/widget/frame.html") && string(info.TargetID) != skip {
				ctx, cancel := chromedp.NewContext(page, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				if err := chromedp.Do(ctx, poll(`document.body.dataset.ready === "true"`)); err != nil {
					continue
				}
				return ctx, string(info.TargetID)
			}
		}
	}
	infos, _ := chromedp.Targets(page)
	for _, info := range infos {
		t.Logf("target %s %s", info.Type, info.URL)
	}
	t.Fatal("the widget's frame did not load")
	return nil, ""
}

// docShot writes a screenshot to docs/images when the tests run with
// -update-screenshots, at the page's current size.
func docShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	if !*updateScreenshots {
		screenshot(t, ctx, name)
		return
	}
	short, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	png, err := chromedp.Run(short, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join("..", "..", "docs", "images", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// goOnline switches the console's presence to online.
func goOnline() []chromedp.Action[chromedp.Void] {
	return []chromedp.Action[chromedp.Void]{
		js(`const p = document.getElementById("presence"); p.value = "online"; p.dispatchEvent(new Event("change"))`),
		poll(`document.getElementById("presence").value === "online"`),
	}
}

// pollThroughNavigation is poll for a page that is navigating (a sign-in's redirects):
// a check that fails because the page went away is tried again on the next page.
func pollThroughNavigation(predicate string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		for {
			err := chromedp.Do(ctx, poll(predicate))
			if err == nil || ctx.Err() != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return err
			case <-time.After(50 * time.Millisecond):
			}
		}
	})
}

// press clicks an element from the page's own script, once it is there: the console
// redraws on every event, and a click by coordinates may land between two drawings.
func press(selector string) chromedp.Action[chromedp.Void] {
	return poll(`(() => { const e = document.querySelector(` + "`" + selector + "`" + `); if (!e || e.disabled) return false; e.click(); return true })()`)
}
