package api_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/oidctest"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth/oidclogin"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// oidcRig is the API with OIDC sign-in against a real provider over TLS.
type oidcRig struct {
	*rig
	provider *oidctest.Provider
	rp       *oidclogin.RP
}

// startOIDCRig serves the samples with spec.agentAuth.oidc set to the provider, as a
// confidential client, with the public URL the runtime's own; the provider is down
// at the start when down is set.
func startOIDCRig(t *testing.T, down bool) *oidcRig {
	t.Helper()
	p := oidctest.Start(t)
	p.SetDown(down)
	rp := oidclogin.New(oidclogin.Options{HTTPClient: p.Client(), MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	t.Cleanup(rp.Close)
	rg := startRig(t, api.Options{SignIn: api.SignIn{OIDC: rp}})
	cfg, _ := rg.engine.Config()
	next := *cfg
	next.LiveChat.PublicURL = rg.srv.URL
	next.LiveChat.AgentAuth.OIDC = &config.OIDCSpec{IssuerURL: p.Issuer, ClientID: p.ClientID, UsernameClaim: "preferred_username",
		ClientSecret: &config.SecretKeyReference{Name: "oidc-client", Key: "secret"}}
	rg.engine.Apply(&next)
	rp.Configure(oidclogin.SettingsFrom(&next, func(name, key string) []byte {
		if name == "oidc-client" && key == "secret" {
			return []byte(p.ClientSecret)
		}
		return nil
	}))
	return &oidcRig{rig: rg, provider: p, rp: rp}
}

// waitAvailable waits until the provider was discovered.
func (o *oidcRig) waitAvailable(t *testing.T) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for o.rp.Available() != nil {
		select {
		case <-ctx.Done():
			t.Fatalf("the provider was never discovered: %v", o.rp.Available())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// browser is an HTTP client with a cookie jar that trusts the provider and follows
// no redirects, so each step can be seen (and tampered with).
func (o *oidcRig) browser(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: o.provider.CertPool(), MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	res, _ := getBody(t, c, u)
	return res
}

func getBody(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// toCallback signs in at the provider as username and returns the callback URL the
// provider sends the browser back to.
func (o *oidcRig) toCallback(t *testing.T, c *http.Client, username string) *url.URL {
	t.Helper()
	o.provider.SignInAs(username)
	res := get(t, c, o.srv.URL+"/auth/oidc/login")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", res.StatusCode)
	}
	authorize, _ := url.Parse(res.Header.Get("Location"))
	q := authorize.Query()
	if !strings.HasPrefix(authorize.String(), o.provider.Issuer) || q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" ||
		q.Get("state") == "" || q.Get("nonce") == "" || q.Get("redirect_uri") != o.srv.URL+"/auth/oidc/callback" {
		t.Fatalf("login sends the browser to %s", authorize)
	}
	res = get(t, c, authorize.String())
	if res.StatusCode != http.StatusFound {
		t.Fatalf("the provider's authorize: %d", res.StatusCode)
	}
	callback, _ := url.Parse(res.Header.Get("Location"))
	return callback
}

// finish follows the callback and then asks who the browser is signed in as; a
// refused callback returns its error body instead.
func (o *oidcRig) finish(t *testing.T, c *http.Client, callback string) (callbackStatus int, me string) {
	t.Helper()
	res, body := getBody(t, c, callback)
	if res.StatusCode != http.StatusFound {
		return res.StatusCode, body
	}
	if loc := res.Header.Get("Location"); loc != "/console/" {
		t.Fatalf("the callback sends the browser to %q, want /console/", loc)
	}
	req, _ := http.NewRequest("GET", o.srv.URL+"/api/v1/me", nil)
	meRes, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer meRes.Body.Close()
	b, _ := io.ReadAll(meRes.Body)
	if meRes.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/v1/me after sign-in: %d %s", meRes.StatusCode, b)
	}
	return res.StatusCode, string(b)
}

// TestOIDCSignIn drives the authorization code flow with PKCE against a real provider:
// an operator signs in and the cookie works; a tampered state, a replayed callback, a
// code replayed into another sign-in, an ID token for another sign-in (nonce), and
// users who are no operator of this LiveChat are refused.
func TestOIDCSignIn(t *testing.T) {
	o := startOIDCRig(t, false)
	o.waitAvailable(t)
	res, body := do(t, "GET", o.srv.URL+"/api/v1/auth/methods", "", "")
	if res.StatusCode != 200 || !strings.Contains(body, `"oidc":{"loginURL":"/auth/oidc/login","available":true}`) {
		t.Fatalf("auth methods: %d %s", res.StatusCode, body)
	}

	for _, username := range []string{"alice", "Alice"} { // operator names are lower case; providers may not be
		t.Run("an operator signs in as "+username, func(t *testing.T) {
			c := o.browser(t)
			status, me := o.finish(t, c, o.toCallback(t, c, username).String())
			if status != http.StatusFound || !strings.Contains(me, `"name":"alice"`) {
				t.Fatalf("callback %d, me %s", status, me)
			}
		})
	}

	tests := []struct {
		name       string
		run        func(t *testing.T, c *http.Client) string // returns the callback URL to follow
		wantStatus int
		wantCode   string
	}{
		{"a tampered state", func(t *testing.T, c *http.Client) string {
			cb := o.toCallback(t, c, "alice")
			q := cb.Query()
			q.Set("state", "forged"+q.Get("state"))
			cb.RawQuery = q.Encode()
			return cb.String()
		}, http.StatusUnauthorized, "oidc_invalid"},
		{"no state", func(t *testing.T, c *http.Client) string {
			cb := o.toCallback(t, c, "alice")
			q := cb.Query()
			q.Del("state")
			cb.RawQuery = q.Encode()
			return cb.String()
		}, http.StatusUnauthorized, "oidc_invalid"},
		{"a callback in a browser that did not start the sign-in", func(t *testing.T, c *http.Client) string {
			cb := o.toCallback(t, o.browser(t), "alice") // the attacker's browser
			return cb.String()
		}, http.StatusBadRequest, "oidc_login_unknown"},
		{"a replayed callback", func(t *testing.T, c *http.Client) string {
			cb := o.toCallback(t, c, "alice")
			login := cookieNamed(c, o.srv.URL, "switchboard-oidc")
			if status, _ := o.finish(t, c, cb.String()); status != http.StatusFound {
				t.Fatalf("the first use: %d", status)
			}
			c.Jar.SetCookies(mustURL(o.srv.URL), []*http.Cookie{{Name: "switchboard-oidc", Value: login, Path: "/"}})
			return cb.String()
		}, http.StatusBadRequest, "oidc_login_unknown"},
		{"a used code replayed into a new sign-in", func(t *testing.T, c *http.Client) string {
			first := o.toCallback(t, c, "alice")
			if status, _ := o.finish(t, c, first.String()); status != http.StatusFound {
				t.Fatalf("the first use: %d", status)
			}
			second := o.toCallback(t, c, "alice")
			q := second.Query()
			q.Set("code", first.Query().Get("code"))
			second.RawQuery = q.Encode()
			return second.String()
		}, http.StatusUnauthorized, "oidc_invalid"},
		{"an ID token with another sign-in's nonce", func(t *testing.T, c *http.Client) string {
			o.provider.NextNonce("another-sign-in")
			return o.toCallback(t, c, "alice").String()
		}, http.StatusUnauthorized, "oidc_invalid"},
		{"a user nobody knows", func(t *testing.T, c *http.Client) string {
			return o.toCallback(t, c, "mallory").String()
		}, http.StatusForbidden, "not_an_operator"},
		{"an ID token without the username claim", func(t *testing.T, c *http.Client) string {
			return o.toCallback(t, c, "").String()
		}, http.StatusForbidden, "no_username"},
		{"an employee who is no operator", func(t *testing.T, c *http.Client) string {
			return o.toCallback(t, c, "frank").String()
		}, http.StatusForbidden, "not_an_operator"},
		{"the provider refuses", func(t *testing.T, c *http.Client) string {
			cb := o.toCallback(t, c, "alice")
			return o.srv.URL + "/auth/oidc/callback?error=access_denied&state=" + cb.Query().Get("state")
		}, http.StatusUnauthorized, "oidc_refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := o.browser(t)
			cb := tt.run(t, c)
			before := cookieNamed(c, o.srv.URL, "switchboard-session")
			status, me := o.finish(t, c, cb)
			if status != tt.wantStatus || errorCode(t, me) != tt.wantCode {
				t.Fatalf("callback answered %d %s, want %d %s", status, me, tt.wantStatus, tt.wantCode)
			}
			if got := cookieNamed(c, o.srv.URL, "switchboard-session"); got != before {
				t.Fatal("a refused sign-in set a session cookie")
			}
		})
	}
}

// TestOIDCSignInPage: a browser sees the refusal as a page that says what to do,
// with nothing secret in it.
func TestOIDCSignInPage(t *testing.T) {
	o := startOIDCRig(t, false)
	o.waitAvailable(t)
	c := o.browser(t)
	cb := o.toCallback(t, c, "mallory")
	req, _ := http.NewRequest("GET", cb.String(), nil)
	req.Header.Set("Accept", "text/html")
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	page := string(b)
	if res.StatusCode != http.StatusForbidden || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") ||
		!strings.Contains(page, "mallory is not an operator of this LiveChat") || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("%d %s %s", res.StatusCode, res.Header, page)
	}
	for _, secret := range []string{o.provider.ClientSecret, cb.Query().Get("code")} {
		if strings.Contains(page, secret) || strings.Contains(o.log.String(), secret) {
			t.Fatal("the page or the log shows the client secret or the code")
		}
	}
}

// TestOIDCProviderDownAtStart: the runtime serves while the provider cannot be
// reached, answering the login with 503 and a clear message; once the provider is
// back, sign-in works.
func TestOIDCProviderDownAtStart(t *testing.T) {
	o := startOIDCRig(t, true)
	res, body := do(t, "GET", o.srv.URL+"/auth/oidc/login", "", "")
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") == "" ||
		!strings.Contains(body, "cannot be reached") && !strings.Contains(body, "has not been reached yet") {
		t.Fatalf("login while the provider is down: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, "GET", o.srv.URL+"/api/v1/auth/methods", "", ""); !strings.Contains(body, `"available":false`) {
		t.Fatalf("auth methods while the provider is down: %d %s", res.StatusCode, body)
	}
	if res, _ := do(t, "GET", o.srv.URL+"/api/v1/me", aliceToken, ""); res.StatusCode != http.StatusOK {
		t.Fatalf("tokens stop working while the provider is down: %d", res.StatusCode)
	}
	o.provider.SetDown(false)
	o.waitAvailable(t)
	c := o.browser(t)
	if status, me := o.finish(t, c, o.toCallback(t, c, "alice").String()); status != http.StatusFound || !strings.Contains(me, `"alice"`) {
		t.Fatalf("sign-in after the provider came back: %d %s", status, me)
	}
}

func mustURL(s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return u
}

// cookieNamed returns the value of a cookie the jar holds for u, "" if none.
func cookieNamed(c *http.Client, u, name string) string {
	for _, ck := range c.Jar.Cookies(mustURL(u)) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}
