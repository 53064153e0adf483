package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
)

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// sessionReply is the body of the session endpoints.
type sessionReply struct {
	Operator struct {
		Name string `json:"name"`
	} `json:"operator"`
	CSRFToken string    `json:"csrfToken"`
	Method    string    `json:"method"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// signIn trades alice's token for a session and returns the session cookie and body;
// host, when set, is the request's Host.
func signIn(t *testing.T, url string, host ...string) (*http.Cookie, sessionReply) {
	t.Helper()
	req, err := http.NewRequest("POST", url+"/api/v1/session", strings.NewReader(`{"token":"`+aliceToken+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(host) > 0 {
		req.Host = host[0]
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	body := string(b)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("sign-in: %d %s", res.StatusCode, body)
	}
	var reply sessionReply
	if err := json.Unmarshal([]byte(body), &reply); err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Cookies() {
		if strings.HasSuffix(c.Name, "switchboard-session") {
			return c, reply
		}
	}
	t.Fatalf("sign-in set no session cookie: %v", res.Header["Set-Cookie"])
	return nil, reply
}

// withCookie sends a request with a cookie and extra headers.
func withCookie(t *testing.T, method, url string, c *http.Cookie, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	return do(t, method, url, "", body, append([]string{"Cookie", c.Name + "=" + c.Value}, headers...)...)
}

func errorCode(t *testing.T, body string) string {
	t.Helper()
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	_ = json.Unmarshal([]byte(body), &e)
	return e.Error.Code
}

// TestSessionCookieAttributes: the cookie is HttpOnly, SameSite=Strict and Path=/;
// Secure with the __Host- prefix unless the request is plain HTTP to loopback.
func TestSessionCookieAttributes(t *testing.T) {
	rg := startRig(t, api.Options{})
	tests := []struct {
		name       string
		host       string
		wantName   string
		wantSecure bool
	}{
		{"loopback over plain HTTP", "", "switchboard-session", false},
		{"a public name", "chat.example.com", "__Host-switchboard-session", true},
		{"a public address", "203.0.113.7:8080", "__Host-switchboard-session", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var host []string
			if tt.host != "" {
				host = []string{tt.host}
			}
			c, reply := signIn(t, rg.srv.URL, host...)
			if c.Name != tt.wantName || c.Secure != tt.wantSecure || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" {
				t.Fatalf("cookie %s Secure=%v HttpOnly=%v SameSite=%v Path=%q; want %s Secure=%v, HttpOnly, Strict, /",
					c.Name, c.Secure, c.HttpOnly, c.SameSite, c.Path, tt.wantName, tt.wantSecure)
			}
			if reply.Operator.Name != "alice" || reply.CSRFToken == "" || reply.Method != "token" {
				t.Fatalf("reply %+v", reply)
			}
			if strings.Contains(c.Value, aliceToken) || strings.Contains(rg.log.String(), c.Value) {
				t.Fatal("the token or the session shows in the cookie or the log")
			}
		})
	}
	// A plain cookie sent to a public name is not read: there, only __Host- ones are.
	c, _ := signIn(t, rg.srv.URL)
	req, _ := http.NewRequest("GET", rg.srv.URL+"/api/v1/me", nil)
	req.Host = "chat.example.com"
	req.AddCookie(c)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a plain cookie over a public name: %d", res.StatusCode)
	}
}

// TestSessionSignIn: a wrong token is 401 and spends the address's allowance until
// it is refused with 429; the session reads back with the same CSRF token; another
// site's page cannot sign a browser in.
func TestSessionSignIn(t *testing.T) {
	rg := startRig(t, api.Options{})
	c, reply := signIn(t, rg.srv.URL)
	res, body := withCookie(t, "GET", rg.srv.URL+"/api/v1/session", c, "")
	var again sessionReply
	_ = json.Unmarshal([]byte(body), &again)
	if res.StatusCode != http.StatusOK || again.CSRFToken != reply.CSRFToken || again.Operator.Name != "alice" {
		t.Fatalf("GET /api/v1/session: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, "GET", rg.srv.URL+"/api/v1/session", "", ""); res.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET /api/v1/session without a cookie: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, "POST", rg.srv.URL+"/api/v1/session", "", `{"token":"`+aliceToken+`"}`, "Origin", "https://evil.example"); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in from another site: %d %s", res.StatusCode, body)
	}
	if res, body := do(t, "POST", rg.srv.URL+"/api/v1/session", "", `{"token":"tok-frank-employee"}`); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-in of an employee who is no operator: %d %s", res.StatusCode, body)
	}
	before := rg.counter(t, "switchboard_runtime_auth_failures_total", "reason", "invalid")
	res, body = do(t, "POST", rg.srv.URL+"/api/v1/session", "", `{"token":"wrong-token-0123456789"}`)
	if res.StatusCode != http.StatusUnauthorized || len(res.Cookies()) != 0 {
		t.Fatalf("a wrong token: %d %s %v", res.StatusCode, body, res.Cookies())
	}
	if got := rg.counter(t, "switchboard_runtime_auth_failures_total", "reason", "invalid"); got != before+1 {
		t.Fatalf("failures counted %v, want %v", got, before+1)
	}
	throttled := false
	for range 40 {
		res, _ := do(t, "POST", rg.srv.URL+"/api/v1/session", "", `{"token":"wrong-token-0123456789"}`)
		if res.StatusCode == http.StatusTooManyRequests {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Fatal("40 wrong tokens in a row were never refused with 429")
	}
}

// TestSessionCSRF: with a cookie, requests that change something need X-CSRF-Token
// matching the session; reads do not; bearer tokens need none.
func TestSessionCSRF(t *testing.T) {
	rg := startRig(t, api.Options{})
	c, reply := signIn(t, rg.srv.URL)
	presence := rg.srv.URL + "/api/v1/me/presence"
	tests := []struct {
		name, method, url, body string
		cookie                  bool
		csrf                    string
		want                    int
	}{
		{"GET with the cookie alone", "GET", rg.srv.URL + "/api/v1/me", "", true, "", 200},
		{"GET of the conversations", "GET", rg.srv.URL + "/api/v1/conversations", "", true, "", 200},
		{"PUT without the header", "PUT", presence, `{"presence":"online"}`, true, "", 403},
		{"PUT with a wrong token", "PUT", presence, `{"presence":"online"}`, true, "x" + reply.CSRFToken, 403},
		{"PUT with another session's shape", "PUT", presence, `{"presence":"online"}`, true, strings.Repeat("A", len(reply.CSRFToken)), 403},
		{"PUT with the session's token", "PUT", presence, `{"presence":"online"}`, true, reply.CSRFToken, 200},
		{"POST without the header", "POST", rg.srv.URL + "/api/v1/conversations/nope/close", "", true, "", 403},
		{"PUT with a bearer token and no header", "PUT", presence, `{"presence":"away"}`, false, "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.csrf != "" {
				headers = append(headers, "X-CSRF-Token", tt.csrf)
			}
			var res *http.Response
			var body string
			if tt.cookie {
				res, body = withCookie(t, tt.method, tt.url, c, tt.body, headers...)
			} else {
				res, body = do(t, tt.method, tt.url, aliceToken, tt.body, headers...)
			}
			if res.StatusCode != tt.want {
				t.Fatalf("%d %s, want %d", res.StatusCode, body, tt.want)
			}
			if tt.want == 403 && (errorCode(t, body) != "csrf_token_invalid" || !strings.Contains(body, "X-CSRF-Token")) {
				t.Fatalf("the refusal does not say what is missing: %s", body)
			}
		})
	}
}

// TestSessionForgedCookie: a cookie the runtime did not make signs nobody in.
func TestSessionForgedCookie(t *testing.T) {
	rg := startRig(t, api.Options{})
	c, _ := signIn(t, rg.srv.URL)
	id, _, _ := strings.Cut(c.Value, ".")
	for _, v := range []string{"", "garbage", id, id + ".AAAA", "AAAA." + strings.SplitN(c.Value, ".", 2)[1]} {
		forged := &http.Cookie{Name: c.Name, Value: v}
		if res, body := withCookie(t, "GET", rg.srv.URL+"/api/v1/me", forged, ""); res.StatusCode != http.StatusUnauthorized {
			t.Fatalf("forged cookie %q: %d %s", v, res.StatusCode, body)
		}
	}
}

// TestSessionSignOutRevokes: after sign-out the cookie, copied before, signs nobody
// in on any replica sharing the store, and console feeds opened with it close: at
// once on the replica signed out of, within the recheck on another.
func TestSessionSignOutRevokes(t *testing.T) {
	// Here the feed must close at sign-out, not at a recheck.
	rg := startRig(t, api.Options{SignIn: api.SignIn{Recheck: time.Hour}})
	other := api.New(api.Options{Engine: rg.engine, Verifier: auth.NewTokens(map[string][]byte{"alice": []byte(aliceToken)}), SignIn: api.SignIn{Recheck: 20 * time.Millisecond}})
	replica := httptest.NewServer(other)
	t.Cleanup(replica.Close)

	stolen, reply := signIn(t, rg.srv.URL)
	for _, url := range []string{rg.srv.URL, replica.URL} {
		if res, body := withCookie(t, "GET", url+"/api/v1/me", stolen, ""); res.StatusCode != http.StatusOK {
			t.Fatalf("before sign-out on %s: %d %s", url, res.StatusCode, body)
		}
	}
	feed := func(url string) *websocket.Conn {
		c, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(url, "http")+"/api/v1/operator/ws",
			http.Header{"Cookie": {stolen.Name + "=" + stolen.Value}})
		if err != nil {
			t.Fatalf("opening the feed with the cookie: %v %v", err, res)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	here, there := feed(rg.srv.URL), feed(replica.URL)

	if res, body := withCookie(t, "DELETE", rg.srv.URL+"/api/v1/session", stolen, ""); res.StatusCode != http.StatusForbidden {
		t.Fatalf("sign-out without the CSRF token: %d %s", res.StatusCode, body)
	}
	res, body := withCookie(t, "DELETE", rg.srv.URL+"/api/v1/session", stolen, "", "X-CSRF-Token", reply.CSRFToken)
	if res.StatusCode != http.StatusNoContent {
		t.Fatalf("sign-out: %d %s", res.StatusCode, body)
	}
	if cs := res.Cookies(); len(cs) != 1 || cs[0].MaxAge >= 0 {
		t.Fatalf("sign-out does not clear the cookie: %v", res.Header["Set-Cookie"])
	}
	for _, url := range []string{rg.srv.URL, replica.URL} {
		res, body := withCookie(t, "GET", url+"/api/v1/me", stolen, "")
		if res.StatusCode != http.StatusUnauthorized || errorCode(t, body) != "session_ended" {
			t.Fatalf("the copied cookie after sign-out on %s: %d %s", url, res.StatusCode, body)
		}
	}
	for name, c := range map[string]*websocket.Conn{"this replica": here, "another replica": there} {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			_, _, err := c.ReadMessage()
			if err == nil {
				continue
			}
			if !websocket.IsCloseError(err, 4001) {
				t.Fatalf("the feed on %s ended with %v, want close 4001", name, err)
			}
			break
		}
	}
	// Signing out again is harmless.
	if res, body := withCookie(t, "DELETE", rg.srv.URL+"/api/v1/session", stolen, ""); res.StatusCode != http.StatusNoContent {
		t.Fatalf("a second sign-out: %d %s", res.StatusCode, body)
	}
}

// TestSessionExpiry: a session ends after the idle timeout unused, and after the
// maximum age however much it is used.
func TestSessionExpiry(t *testing.T) {
	tests := []struct {
		name        string
		steps       []time.Duration // uses after these waits; the last must fail
		okUntilLast bool
	}{
		{"used within the idle timeout", []time.Duration{time.Hour, 119 * time.Minute}, false},
		{"idle past the timeout", []time.Duration{time.Hour, 2 * time.Hour}, true},
		{"used hourly past the maximum age", []time.Duration{90 * time.Minute, 90 * time.Minute, 90 * time.Minute, 90 * time.Minute,
			90 * time.Minute, 90 * time.Minute, 90 * time.Minute, 89 * time.Minute, 2 * time.Minute}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &clock{now: time.Now()}
			rg := startRig(t, api.Options{SignIn: api.SignIn{Session: auth.SessionOptions{Now: clk.Now, IdleTimeout: 2 * time.Hour, MaxAge: 12 * time.Hour}}})
			c, _ := signIn(t, rg.srv.URL)
			for i, d := range tt.steps {
				clk.advance(d)
				res, body := withCookie(t, "GET", rg.srv.URL+"/api/v1/me", c, "")
				want := http.StatusOK
				if tt.okUntilLast && i == len(tt.steps)-1 {
					want = http.StatusUnauthorized
				}
				if res.StatusCode != want {
					t.Fatalf("use %d after %v: %d %s, want %d", i+1, d, res.StatusCode, body, want)
				}
			}
		})
	}
}

// TestAuthMethods: the sign-in page learns that tokens work and OIDC is off.
func TestAuthMethods(t *testing.T) {
	rg := startRig(t, api.Options{})
	res, body := do(t, "GET", rg.srv.URL+"/api/v1/auth/methods", "", "")
	if res.StatusCode != 200 || strings.TrimSpace(body) != `{"token":true,"oidc":null}` {
		t.Fatalf("%d %s", res.StatusCode, body)
	}
	if res, body := do(t, "GET", rg.srv.URL+"/auth/oidc/login", "", ""); res.StatusCode != http.StatusNotFound || errorCode(t, body) != "oidc_off" {
		t.Fatalf("OIDC login with OIDC off: %d %s", res.StatusCode, body)
	}
}
