package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// TestMeCarriesConsoleSettings: GET /api/v1/me tells the console the LiveChat's sound
// and notification settings, and each visible queue's transfer targets, chat actions
// (captions, never webhooks) and operators.
func TestMeCarriesConsoleSettings(t *testing.T) {
	tests := []struct {
		name    string
		console config.Console
		want    string
	}{
		{"the sample's", config.Console{SoundEnabled: true, DesktopNotifications: true},
			`{"sound":{"enabled":true,"loop":false},"desktopNotifications":true}`},
		{"a looping sound of its own", config.Console{SoundEnabled: true, SoundURL: "https://cdn.example.com/ding.mp3", SoundLoop: true},
			`{"sound":{"enabled":true,"url":"https://cdn.example.com/ding.mp3","loop":true},"desktopNotifications":false}`},
		{"everything off", config.Console{}, `{"sound":{"enabled":false,"loop":false},"desktopNotifications":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := startRig(t, api.Options{}, func(c *config.Config) { c.LiveChat.Console = tt.console })
			res, body := do(t, "GET", rg.srv.URL+"/api/v1/me", aliceToken, "")
			if res.StatusCode != http.StatusOK {
				t.Fatalf("%d %s", res.StatusCode, body)
			}
			var me struct {
				Name         string
				Console      json.RawMessage
				QueueDetails []struct {
					Name            string
					TransferTargets []string
					Actions         []map[string]any
					Operators       []struct {
						Name, DisplayName string
						Skills            []string
					}
				}
			}
			if err := json.Unmarshal([]byte(body), &me); err != nil {
				t.Fatal(err)
			}
			if string(me.Console) != tt.want {
				t.Errorf("console %s, want %s", me.Console, tt.want)
			}
			if me.Name != "alice" || len(me.QueueDetails) != 1 {
				t.Fatalf("me %s", body)
			}
			q := me.QueueDetails[0]
			if q.Name != "first-line" || len(q.TransferTargets) != 1 || q.TransferTargets[0] != "accounting" ||
				len(q.Actions) != 1 || q.Actions[0]["caption"] != "Create case" || len(q.Actions[0]) != 2 {
				t.Errorf("queue details %+v", q)
			}
			if len(q.Operators) == 0 || q.Operators[0].Name != "alice" || q.Operators[0].DisplayName != "Alice Andersen" ||
				!slices.Equal(q.Operators[0].Skills, []string{"de", "en"}) {
				t.Errorf("operators %+v", q.Operators)
			}
		})
	}
}
