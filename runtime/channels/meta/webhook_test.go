package meta

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
)

const (
	appSecret   = "0123456789abcdef0123456789abcdef"
	verifyToken = "verify-me-please"
)

var hook = Webhook{AppSecret: []byte(appSecret), VerifyToken: []byte(verifyToken)}

// requestError asserts err is a *channels.RequestError with status.
func requestError(t *testing.T, err error, status int) *channels.RequestError {
	t.Helper()
	var re *channels.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("error = %v (%T), want a *channels.RequestError", err, err)
	}
	if re.Status != status {
		t.Fatalf("status = %d (%s), want %d", re.Status, re.Message, status)
	}
	return re
}

func TestHandshake(t *testing.T) {
	tests := []struct {
		name   string
		query  url.Values
		status int // 0: answered
	}{
		{"right token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1158201444"}}, 0},
		{"wrong token", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {"verify-me-pleasE"}, "hub.challenge": {"1"}}, 403},
		{"token with a suffix", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken + "x"}, "hub.challenge": {"1"}}, 403},
		{"no token", url.Values{"hub.mode": {"subscribe"}, "hub.challenge": {"1"}}, 403},
		{"wrong mode", url.Values{"hub.mode": {"unsubscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {"1"}}, 400},
		{"no mode", url.Values{"hub.verify_token": {verifyToken}, "hub.challenge": {"1"}}, 400},
		{"no challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}}, 400},
		{"huge challenge", url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {strings.Repeat("9", 2000)}}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/webhooks/fb?"+tt.query.Encode(), nil)
			reply, handshake, err := hook.Authenticate(r, nil)
			if tt.status != 0 {
				re := requestError(t, err, tt.status)
				if handshake || reply.Response != nil {
					t.Fatalf("a refused handshake answered %q", reply.Response)
				}
				if strings.Contains(re.Message, verifyToken) {
					t.Fatalf("the refusal shows the verify token: %s", re.Message)
				}
				return
			}
			if err != nil || !handshake {
				t.Fatalf("Authenticate = %v, handshake %v", err, handshake)
			}
			if string(reply.Response) != tt.query.Get("hub.challenge") || !strings.HasPrefix(reply.ContentType, "text/plain") {
				t.Fatalf("reply = %q (%s), want the challenge as text/plain", reply.Response, reply.ContentType)
			}
		})
	}
}

func TestHandshakeNeedsAConfiguredToken(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/?hub.mode=subscribe&hub.verify_token=&hub.challenge=1", nil)
	_, _, err := Webhook{AppSecret: []byte(appSecret)}.Authenticate(r, nil)
	requestError(t, err, 403)
}

func TestSignature(t *testing.T) {
	body := []byte(`{"object":"page","entry":[]}`)
	valid := metafake.Sign(appSecret, body)
	tests := []struct {
		name      string
		signature string // "" sets no header
		body      []byte
		ok        bool
	}{
		{"valid", valid, body, true},
		{"valid in upper case hex", "sha256=" + strings.ToUpper(strings.TrimPrefix(valid, "sha256=")), body, true},
		{"missing", "", body, false},
		{"forged", "sha256=" + strings.Repeat("ab", 32), body, false},
		{"wrong secret", metafake.Sign("another app's secret", body), body, false},
		{"body altered after signing", valid, []byte(`{"object":"page","entry":[{}]}`), false},
		{"body extended after signing", valid, append(append([]byte{}, body...), ' '), false},
		{"sha1 scheme", "sha1=" + strings.Repeat("ab", 20), body, false},
		{"no scheme", strings.TrimPrefix(valid, "sha256="), body, false},
		{"not hex", "sha256=" + strings.Repeat("zz", 32), body, false},
		{"truncated", valid[:len(valid)-2], body, false},
		{"empty digest", "sha256=", body, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/fb", nil)
			if tt.signature != "" {
				r.Header.Set(SignatureHeader, tt.signature)
			}
			_, handshake, err := hook.Authenticate(r, tt.body)
			if handshake {
				t.Fatal("a POST was taken for a handshake")
			}
			if tt.ok {
				if err != nil {
					t.Fatalf("Authenticate = %v", err)
				}
				return
			}
			re := requestError(t, err, 403)
			if re.Reason != "forged" || strings.Contains(re.Message, appSecret) {
				t.Fatalf("refusal = %+v", re)
			}
		})
	}
}

func TestOtherMethodsAreRefused(t *testing.T) {
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch} {
		_, _, err := hook.Authenticate(httptest.NewRequest(m, "/webhooks/fb", nil), nil)
		requestError(t, err, http.StatusMethodNotAllowed)
	}
}
