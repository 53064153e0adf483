package e2e

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// TestOriginsAndCredentials: the widget API trusts only configured origins and the
// LiveChat's public URL, never a Host header; the console feed opens only from the
// console's origin; tokens in the URL count on WebSocket upgrades only; /status and an
// internal channel's settings need credentials.
func TestOriginsAndCredentials(t *testing.T) {
	dir := manifestsDir(t)
	// http://localhost:8080 stays allowed as the LiveChat's publicURL alone.
	edit(t, dir, "channels.yaml", "    - http://localhost:8080\n    - https://www.example.com\n", "    - https://www.example.com\n")
	rt := standalone(t, dir, t.TempDir())
	u, _ := url.Parse(rt.base)
	open := rt.base + "/api/v1/channels/website/conversations"
	body := map[string]string{"text": "hello", "email": "visitor@example.com"}
	requests := []struct {
		name     string
		method   string
		url      string
		token    string
		headers  []string
		wantCode int
	}{
		{"a listed origin", "POST", open, "", []string{"Origin", "https://www.example.com"}, 201},
		{"the public URL's origin", "POST", open, "", []string{"Origin", "http://localhost:8080"}, 201},
		{"an origin equal to a forged Host", "POST", open, "", []string{"Origin", "http://evil.example", "Host", "evil.example"}, 403},
		{"the runtime's own address, not the public URL", "POST", open, "", []string{"Origin", rt.base}, 403},
		{"a token in the URL of a REST call", "GET", rt.base + "/api/v1/me?access_token=" + alice, "", nil, 401},
		{"a token in the header", "GET", rt.base + "/api/v1/me", alice, nil, 200},
		{"status without a token", "GET", rt.base + "/status", "", nil, 401},
		{"status with a token in the URL", "GET", rt.base + "/status?access_token=" + alice, "", nil, 401},
		{"status for an operator", "GET", rt.base + "/status", alice, nil, 200},
		{"status on the metrics port", "GET", rt.metrics + "/status", "", nil, 200},
		{"an internal channel, anonymously", "GET", rt.base + "/api/v1/channels/staff-helpdesk", "", nil, 401},
		{"an internal channel, for an operator outside its client groups", "GET", rt.base + "/api/v1/channels/staff-helpdesk", alice, nil, 403},
		{"an internal channel, for its employee", "GET", rt.base + "/api/v1/channels/staff-helpdesk", frank, nil, 200},
		{"a widget channel, anonymously", "GET", rt.base + "/api/v1/channels/website", "", []string{"Origin", "https://www.example.com"}, 200},
	}
	for _, tt := range requests {
		t.Run(tt.name, func(t *testing.T) {
			var b any
			if tt.method == "POST" {
				b = body
			}
			var out struct{ Error struct{ Message string } }
			if code := call(t, tt.method, tt.url, tt.token, b, &out, tt.headers...); code != tt.wantCode {
				t.Errorf("%s %s: %d %q, want %d", tt.method, tt.url, code, out.Error.Message, tt.wantCode)
			}
			if tt.wantCode == 401 && strings.Contains(tt.url, "access_token") && !strings.Contains(out.Error.Message, "WebSocket upgrades only") {
				t.Errorf("the refusal of a token in the URL does not say why: %q", out.Error.Message)
			}
		})
	}

	feed := wsURL(rt.base, "/api/v1/operator/ws", url.Values{"access_token": {alice}})
	consoles := []struct {
		name   string
		header http.Header
		want   int // the handshake's status
	}{
		{"no Origin (not a browser)", nil, http.StatusSwitchingProtocols},
		{"the public URL's origin", http.Header{"Origin": {"http://localhost:8080"}}, http.StatusSwitchingProtocols},
		{"the runtime's own loopback origin", http.Header{"Origin": {rt.base}}, http.StatusSwitchingProtocols},
		{"another site", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"another site with a matching forged Host", http.Header{"Origin": {"http://evil.example"}, "Host": {"evil.example"}}, http.StatusForbidden},
		{"another port of this host", http.Header{"Origin": {"http://" + u.Hostname() + ":1"}}, http.StatusForbidden},
	}
	for _, tt := range consoles {
		t.Run("console feed from "+tt.name, func(t *testing.T) {
			// The dialer sends a Host header given here instead of the URL's.
			c, res, err := websocket.DefaultDialer.Dial(feed, tt.header)
			status := 0
			if res != nil {
				status = res.StatusCode
			}
			if err == nil {
				c.Close()
			}
			if status != tt.want {
				t.Errorf("handshake answered %d (%v), want %d", status, err, tt.want)
			}
		})
	}
}
