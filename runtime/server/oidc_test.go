package server

import (
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/oidctest"
)

// TestOIDCSignInThroughTheRuntime: a standalone runtime picks up spec.agentAuth.oidc
// and its client secret from the manifests while it runs, discovers the provider,
// and signs an operator in through it: the login redirects to the provider, the
// callback sets the session cookie, and the cookie reads /api/v1/me.
func TestOIDCSignInThroughTheRuntime(t *testing.T) {
	p := oidctest.Start(t)
	dir, httpAddr, _ := runDir(t, func(o *Options) { o.OIDCClient = p.Client() })
	base := "http://" + httpAddr

	p.ConfigureManifests(t, dir, base)

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.CertPool(), MinVersion: tls.VersionTLS12}}}
	read := func(url string) (int, string) {
		t.Helper()
		res, err := browser.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, methods := read(base + "/api/v1/auth/methods")
		if strings.Contains(methods, `"available":true`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the runtime never offered OIDC sign-in: %s", methods)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.SignInAs("alice")
	// Followed through the provider and back to /console/.
	if status, body := read(base + "/auth/oidc/login"); status != http.StatusOK {
		t.Fatalf("the sign-in ended with %d: %s", status, body)
	}
	if status, me := read(base + "/api/v1/me"); status != http.StatusOK || !strings.Contains(me, `"name":"alice"`) {
		t.Fatalf("GET /api/v1/me with the session cookie: %d %s", status, me)
	}
}
