package meta

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

const token = "EAAGfakePageTokenForTests0123456789"

func TestNewClientChecksItsSettings(t *testing.T) {
	tests := []struct {
		base, version string
		ok            bool
	}{
		{"", "", true},
		{"https://graph.facebook.com", "v21.0", true},
		{"http://127.0.0.1:8080/", "v19.0", true},
		{"ftp://graph.facebook.com", "v21.0", false},
		{"https://user:pw@graph.facebook.com", "v21.0", false},
		{"https://graph.facebook.com?x=1", "v21.0", false},
		{"graph.facebook.com", "v21.0", false},
		{"https://graph.facebook.com", "21.0", false},
		{"https://graph.facebook.com", "v21.0/../x", false},
	}
	for _, tt := range tests {
		_, err := NewClient(tt.base, tt.version, token, nil, nil)
		if (err == nil) != tt.ok {
			t.Errorf("NewClient(%q, %q) = %v, want ok %v", tt.base, tt.version, err, tt.ok)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("the error shows the URL's credentials: %v", err)
		}
	}
}

// TestCallSendsTheTokenInTheHeader: the token never is in the URL, so never in an
// access log or an error.
func TestCallSendsTheTokenInTheHeader(t *testing.T) {
	var got *http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		_, _ = w.Write([]byte(`{"id":"1"}`))
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, "v21.0", token, srv.Client(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ ID string }
	if err := c.Call(context.Background(), http.MethodPost, "123/messages", nil, map[string]string{"a": "b"}, &out); err != nil {
		t.Fatal(err)
	}
	if got.URL.Path != "/v21.0/123/messages" || strings.Contains(got.URL.String(), token) {
		t.Fatalf("request URL = %s", got.URL)
	}
	if got.Header.Get("Authorization") != "Bearer "+token || got.Header.Get("Content-Type") != "application/json" {
		t.Fatalf("headers = %v", got.Header)
	}
	if out.ID != "1" {
		t.Fatalf("answer = %+v", out)
	}
}

func TestCallDecodesGraphErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusBadRequest)
		// A token echoed back must not survive into the error.
		_, _ = w.Write([]byte(`{"error":{"message":"(#4) Application request limit reached for ` + token + `","type":"OAuthException",
			"code":4,"error_subcode":"2446079","is_transient":true,"error_data":{"details":"slow down"},"fbtrace_id":"Ab"}}`))
	}))
	defer srv.Close()
	c, _ := NewClient(srv.URL, "v21.0", token, srv.Client(), nil)
	err := c.Call(context.Background(), http.MethodGet, "me", nil, nil, nil)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want an *Error", err)
	}
	want := Error{Status: 400, Code: 4, Subcode: 2446079, Type: "OAuthException", Transient: true, Details: "slow down",
		RetryAfter: 30 * time.Second, HasRetryAfter: true}
	e.Message = ""
	if *e != want {
		t.Fatalf("error = %+v, want %+v", *e, want)
	}
	if strings.Contains(err.Error(), token) {
		t.Fatalf("the error shows the token: %v", err)
	}
}

func TestCallFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v21.0/proxy":
			w.WriteHeader(http.StatusBadGateway)
			_, _ = w.Write([]byte("<html>bad gateway</html>"))
		case "/v21.0/garbage":
			_, _ = w.Write([]byte("not json"))
		}
	}))
	c, _ := NewClient(srv.URL, "v21.0", token, srv.Client(), nil)
	var e *Error
	if err := c.Call(context.Background(), http.MethodGet, "proxy", nil, nil, nil); !errors.As(err, &e) || e.Status != 502 || !e.IsTemporary() {
		t.Errorf("a proxy's error page = %v", err)
	}
	if err := c.Call(context.Background(), http.MethodGet, "garbage", nil, nil, &struct{}{}); err == nil || errors.As(err, &e) {
		t.Errorf("an undecodable answer = %v", err)
	}
	srv.Close()
	err := c.Call(context.Background(), http.MethodGet, "me", nil, nil, nil)
	if err == nil || errors.As(err, &e) || strings.Contains(err.Error(), token) {
		t.Errorf("a call to nobody = %v", err)
	}
	if got := Classify(err, "probe", nil); got == nil || outbox.IsPermanent(got) {
		t.Errorf("a call that did not get through is classified %v, want temporary", got)
	}
}

func TestClassify(t *testing.T) {
	window := func(e *Error) string {
		if e.Code == 10 && e.Subcode == 2018278 {
			return "outside the window"
		}
		return ""
	}
	tests := []struct {
		name      string
		err       *Error
		permanent bool
		auth      bool
		wait      time.Duration // > 0: RetryAfter
		text      string
	}{
		{"invalid token", &Error{Status: 401, Code: 190, Message: "Invalid OAuth access token"}, true, true, 0, "send: Meta refused the access token: Invalid OAuth access token (code 190)"},
		{"session", &Error{Status: 400, Code: 102, Message: "Session key invalid"}, true, true, 0, "Meta refused the access token"},
		{"app rate limit with HTTP 400", &Error{Status: 400, Code: 4, Message: "(#4) Application request limit reached"}, false, false, 0, "Meta is limiting the rate of calls"},
		{"page rate limit", &Error{Status: 400, Code: 613}, false, false, 0, "code 613"},
		{"whatsapp throughput with Retry-After", &Error{Status: 429, Code: 130429, RetryAfter: 7 * time.Second, HasRetryAfter: true}, false, false, 7 * time.Second, "code 130429"},
		{"pair rate", &Error{Status: 400, Code: 131056}, false, false, 0, "code 131056"},
		{"spam rate", &Error{Status: 400, Code: 131048}, false, false, 0, "code 131048"},
		{"business use case limit", &Error{Status: 400, Code: 80007}, false, false, 0, "code 80007"},
		{"HTTP 429 without code", &Error{Status: 429}, false, false, 0, "HTTP 429"},
		{"server error", &Error{Status: 500, Code: 2, Message: "An unexpected error has occurred."}, false, false, 0, "An unexpected error has occurred. (code 2)"},
		{"503 with Retry-After", &Error{Status: 503, RetryAfter: time.Minute, HasRetryAfter: true}, false, false, time.Minute, "Service Unavailable (HTTP 503)"},
		{"transient flag", &Error{Status: 400, Code: 1, Transient: true}, false, false, 0, "code 1"},
		{"invalid parameter", &Error{Status: 400, Code: 100, Message: "(#100) Invalid parameter"}, true, false, 0, "send: (#100) Invalid parameter (code 100)"},
		{"explained", &Error{Status: 400, Code: 10, Subcode: 2018278, Message: "(#10) This message is sent outside of allowed window."}, true, false, 0,
			"send: outside the window (Graph API: (#10) This message is sent outside of allowed window. (code 10, subcode 2018278))"},
		{"details", &Error{Status: 400, Code: 131026, Message: "Message Undeliverable", Details: "recipient unreachable"}, true, false, 0, "Message Undeliverable: recipient unreachable (code 131026)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify(tt.err, "send", window)
			if outbox.IsPermanent(err) != tt.permanent || outbox.IsAuth(err) != tt.auth {
				t.Fatalf("%v: permanent %v auth %v, want %v %v", err, outbox.IsPermanent(err), outbox.IsAuth(err), tt.permanent, tt.auth)
			}
			wait, ok := outbox.RetryAfterOf(err)
			if ok != (tt.wait > 0) || wait != tt.wait {
				t.Fatalf("%v: RetryAfter %s %v, want %s", err, wait, ok, tt.wait)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error = %q, want it to say %q", err, tt.text)
			}
		})
	}
	if Classify(nil, "send", nil) != nil {
		t.Fatal("Classify(nil) is not nil")
	}
}

func TestTokenErrorIsStable(t *testing.T) {
	err := TokenError("the page access token", &Error{Code: 190, Subcode: 463,
		Message: "Error validating access token: Session has expired on Tuesday. The current time is Wednesday."})
	if !outbox.IsAuth(err) {
		t.Fatalf("%v is not an auth error", err)
	}
	want := "the page access token is invalid or expired: it expired (code 190, subcode 463); put a valid token in the Secret"
	if err.Error() != want {
		t.Fatalf("error = %q, want %q", err, want)
	}
}

func TestSplitText(t *testing.T) {
	tests := []struct {
		text string
		max  int
		want []string
	}{
		{"hello", 10, []string{"hello"}},
		{"", 10, nil},
		{"   ", 10, nil},
		{"hello world again", 11, []string{"hello world", "again"}},
		{"hello brave world", 12, []string{"hello brave", "world"}},
		{"abcdefghij", 4, []string{"abcd", "efgh", "ij"}},
		{"ünïcödé ünïcödé", 8, []string{"ünïcödé", "ünïcödé"}},
		{"line one\nline two", 12, []string{"line one", "line two"}},
		{"日本語\u3000日本語", 4, []string{"日本語", "日本語"}},
	}
	for _, tt := range tests {
		got := SplitText(tt.text, tt.max)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") || len(got) != len(tt.want) {
			t.Errorf("SplitText(%q, %d) = %q, want %q", tt.text, tt.max, got, tt.want)
		}
	}
}

func TestTimes(t *testing.T) {
	if got := Millis(1458692752478); !got.Equal(time.UnixMilli(1458692752478)) {
		t.Errorf("Millis = %v", got)
	}
	if got := Seconds(1749416383); !got.Equal(time.Unix(1749416383, 0)) {
		t.Errorf("Seconds = %v", got)
	}
	for _, n := range []Int{0, -5, 1 << 62} {
		if !Millis(n).IsZero() || !Seconds(n).IsZero() {
			t.Errorf("%d is a time", n)
		}
	}
}

func TestFlexibleJSON(t *testing.T) {
	var v struct {
		A, B, C Int
		X, Y, Z ID
	}
	in := `{"A":12,"B":"34","C":null,"X":"a1","Y":123456789012345678,"Z":null}`
	if err := jsonUnmarshal(in, &v); err != nil {
		t.Fatal(err)
	}
	if v.A != 12 || v.B != 34 || v.C != 0 || v.X != "a1" || v.Y != "123456789012345678" || v.Z != "" {
		t.Fatalf("decoded %+v", v)
	}
	for _, bad := range []string{`{"A":"x"}`, `{"A":1.5}`, `{"A":true}`, `{"X":true}`, `{"X":[]}`} {
		if err := jsonUnmarshal(bad, &v); err == nil {
			t.Errorf("%s decoded", bad)
		}
	}
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
