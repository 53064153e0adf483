// Package oidctest starts a real OpenID Connect provider (github.com/oauth2-proxy/mockoidc)
// over TLS for tests: discovery, authorization with PKCE, token, JWKS. Its authorize
// endpoint signs in at once whoever was queued with SignInAs, so an http.Client with a
// cookie jar, or a browser, follows the redirects without a login form.
package oidctest

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// Provider is a running provider. Its client is confidential: ClientID and
// ClientSecret go in the LiveChat's spec.agentAuth.oidc (the secret in a Secret).
type Provider struct {
	Issuer, ClientID, ClientSecret string

	m    *mockoidc.MockOIDC
	cert *x509.Certificate
	// serial makes the provider's handlers, which share maps unguarded, take one
	// request at a time.
	serial sync.Mutex
	down   atomic.Bool
	nonce  atomic.Pointer[string]
}

// Start starts a provider on 127.0.0.1 over TLS, stopped when the test ends.
func Start(t testing.TB) *Provider {
	t.Helper()
	// httptest's certificate is valid for 127.0.0.1; borrow it.
	borrowed := httptest.NewUnstartedServer(nil)
	borrowed.StartTLS()
	certs, cert := borrowed.TLS.Certificates, borrowed.Certificate()
	borrowed.Close()

	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{m: m, cert: cert}
	if err := m.AddMiddleware(p.middleware); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := &tls.Config{Certificates: certs, MinVersion: tls.VersionTLS12}
	if err := m.Start(tls.NewListener(ln, cfg), cfg); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	p.Issuer, p.ClientID, p.ClientSecret = m.Issuer(), m.ClientID, m.ClientSecret
	return p
}

// middleware serializes requests, answers 503 while the provider is down, and swaps
// the nonce of an authorization request when one was set with NextNonce.
func (p *Provider) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			http.Error(w, "provider down", http.StatusServiceUnavailable)
			return
		}
		p.serial.Lock()
		defer p.serial.Unlock()
		if r.URL.Path != mockoidc.AuthorizationEndpoint {
			next.ServeHTTP(w, r)
			return
		}
		if n := p.nonce.Swap(nil); n != nil {
			q := r.URL.Query()
			q.Set("nonce", *n)
			r.URL.RawQuery = q.Encode()
		}
		next.ServeHTTP(w, r)
	})
}

// SignInAs queues the user the next authorization signs in, with username as
// preferred_username (the default usernameClaim) and as the local part of the email.
func (p *Provider) SignInAs(username string) {
	p.m.QueueUser(&mockoidc.MockUser{Subject: "sub-" + username, PreferredUsername: username,
		Email: username + "@example.com", EmailVerified: true})
}

// SetDown makes every endpoint answer 503 (true) or serve again (false).
func (p *Provider) SetDown(down bool) { p.down.Store(down) }

// NextNonce makes the next authorization issue its ID token with this nonce instead
// of the one the client sent: a provider answering another sign-in.
func (p *Provider) NextNonce(nonce string) { p.nonce.Store(&nonce) }

// CertPool trusts the provider's certificate.
func (p *Provider) CertPool() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.cert)
	return pool
}

// Client is an HTTP client that trusts the provider: give it to the runtime
// (server.Options.OIDCClient).
func (p *Provider) Client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: p.CertPool(), MinVersion: tls.VersionTLS12}}}
}

// CAFile writes the provider's certificate as PEM into a file of the test's temporary
// directory and returns its path: SSL_CERT_FILE for a runtime started as a process.
func (p *Provider) CAFile(t testing.TB) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "oidc-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.cert.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// publicURLLine is the LiveChat's publicURL in a manifest.
var publicURLLine = regexp.MustCompile(`(?m)^  publicURL: .*$`)

// ConfigureManifests points the LiveChat of a copy of config/samples in dir at the
// provider: its spec.publicURL becomes publicURL (where the provider sends browsers
// back, the runtime's own address), spec.agentAuth.oidc names the provider with the
// client secret in a Secret oidc-client, written beside it.
func (p *Provider) ConfigureManifests(t testing.TB, dir, publicURL string) {
	t.Helper()
	path := filepath.Join(dir, "livechat.yaml")
	lc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(lc)
	if !publicURLLine.MatchString(text) || !strings.Contains(text, "  agentAuth:\n") {
		t.Fatalf("%s has no publicURL or agentAuth to change", path)
	}
	text = publicURLLine.ReplaceAllLiteralString(text, "  publicURL: "+publicURL)
	text = strings.Replace(text, "  agentAuth:\n", "  agentAuth:\n    oidc:\n      issuerURL: "+p.Issuer+"\n      clientID: "+p.ClientID+
		"\n      clientSecretRef:\n        name: oidc-client\n        key: secret\n", 1)
	secret := "apiVersion: v1\nkind: Secret\nmetadata:\n  name: oidc-client\nstringData:\n  secret: " + p.ClientSecret + "\n"
	if err := os.WriteFile(filepath.Join(dir, "oidc-client-secret.yaml"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
