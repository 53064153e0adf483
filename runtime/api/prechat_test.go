package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// preChat sets the website channel's pre-chat form.
func preChat(p *config.PreChat) func(*config.Config) {
	return func(c *config.Config) {
		for i := range c.Channels {
			if c.Channels[i].WebWidget != nil {
				c.Channels[i].WebWidget.PreChat = p
			}
		}
	}
}

// Channel info carries the pre-chat form only when the channel has one, in the shape
// the widget reads; with requireEmail, a new conversation needs a valid email even
// while operators are online (when the offline form asks for none).
func TestPreChatForm(t *testing.T) {
	for _, tt := range []struct {
		name     string
		form     *config.PreChat
		wantInfo string // the JSON of info["preChat"], "" for absent
		// body opened with, and the status and text expected.
		body     string
		wantCode int
		wantText string
	}{
		{"no form", nil, "", `{}`, 201, ""},
		{"optional email", &config.PreChat{}, `{"requireEmail":false}`, `{"name":"Vera"}`, 201, ""},
		{"required, missing", &config.PreChat{RequireEmail: true}, `{"requireEmail":true}`, `{"name":"Vera","text":"hi"}`, 400,
			`channel \"website\" asks for your email address before a chat`},
		{"required, invalid", &config.PreChat{RequireEmail: true}, `{"requireEmail":true}`, `{"email":"vera at example"}`, 400,
			`\"vera at example\" is not a valid email address`},
		{"required, given", &config.PreChat{RequireEmail: true}, `{"requireEmail":true}`, `{"name":"Vera","email":"vera@example.com","text":"hi"}`, 201, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rg := startRig(t, api.Options{}, preChat(tt.form))
			if _, err := rg.engine.SetPresence(context.Background(), "alice", store.PresenceOnline, nil); err != nil {
				t.Fatal(err)
			}
			base := rg.srv.URL + "/api/v1/channels/website"
			res, body := do(t, "GET", base, "", "", "Origin", widgetOrigin)
			var info map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &info); err != nil || res.StatusCode != 200 {
				t.Fatalf("channel info: %d %s", res.StatusCode, body)
			}
			if got := string(info["preChat"]); got != tt.wantInfo {
				t.Errorf("channel info preChat = %q, want %q", got, tt.wantInfo)
			}
			res, body = do(t, "POST", base+"/conversations", "", tt.body, "Origin", widgetOrigin)
			if res.StatusCode != tt.wantCode || !strings.Contains(body, tt.wantText) {
				t.Fatalf("open %s: %d %s, want %d saying %s", tt.body, res.StatusCode, body, tt.wantCode, tt.wantText)
			}
			if res.StatusCode != 201 {
				return
			}
			// The visitor comes back with their token: the email on their contact
			// (when the form required one) is enough.
			var out struct{ Token string }
			_ = json.Unmarshal([]byte(body), &out)
			if res, body := do(t, "POST", base+"/conversations", out.Token, `{}`, "Origin", widgetOrigin); res.StatusCode != 201 {
				t.Errorf("a returning visitor: %d %s, want 201", res.StatusCode, body)
			}
		})
	}
}
