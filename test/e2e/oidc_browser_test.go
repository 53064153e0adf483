package e2e

import (
	"context"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-chat/switchboard/internal/oidctest"
	"github.com/switchboard-chat/switchboard/runtime/server"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

// TestOIDCSignInInChromium: with spec.agentAuth.oidc set, the console offers "Sign in
// with SSO"; the operator signs in at a real OpenID Connect provider (authorization
// code with PKCE), comes back signed in to a cookie session that survives a reload,
// and signs out.
func TestOIDCSignInInChromium(t *testing.T) {
	provider := oidctest.Start(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	dir := manifestsDir(t)
	provider.ConfigureManifests(t, dir, "http://"+addr)
	rt := startRuntimeWithOIDC(t, addr, dir, provider)
	provider.SignInAs("alice")

	// The provider's certificate is the test's own: the browser takes it as it is.
	operator := browser(t, chromedp.Flag("ignore-certificate-errors", true))
	steps(t, operator, "console",
		chromedp.Navigate(rt.base+"/console/"),
		chromedp.WaitVisible("#sso"),
		chromedp.Click("#sso"),
		pollThroughNavigation(`location.pathname === "/console/" && !document.getElementById("app").hidden`),
		poll(`document.getElementById("who").textContent === "Alice Andersen"`),
		chromedp.Reload(),
		poll(`!document.getElementById("app").hidden && document.getElementById("who").textContent === "Alice Andersen"`),
		chromedp.Click("#logout"),
		poll(`!document.getElementById("login").hidden && document.getElementById("app").hidden`),
		chromedp.Reload(),
		chromedp.WaitVisible("#sso"),
		poll(`document.getElementById("app").hidden`))
	if got := evalString(t, operator, `sessionStorage.length + ":" + localStorage.length`); got != "0:0" {
		t.Errorf("the console kept something in the browser's storage (%s): sessions live in an HttpOnly cookie", got)
	}
}

// startRuntimeWithOIDC runs the manifests in dir at addr with an HTTP client that
// trusts the provider.
func startRuntimeWithOIDC(t *testing.T, addr, dir string, p *oidctest.Provider) *runtime {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ready := make(chan string, 1)
	rt := &runtime{cancel: cancel, done: make(chan error, 1)}
	go func() {
		rt.done <- server.Run(ctx, server.Options{HTTPAddress: addr, MetricsAddress: "127.0.0.1:0", DataDir: t.TempDir(),
			Source: &source.Files{Dir: dir, Log: log}, Log: log, OIDCClient: p.Client(), Ready: func(h, _ string) { ready <- h }})
	}()
	select {
	case h := <-ready:
		rt.base = "http://" + h
	case err := <-rt.done:
		cancel()
		t.Fatalf("runtime exited: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("runtime did not start")
	}
	t.Cleanup(rt.stop)
	return rt
}
