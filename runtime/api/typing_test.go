package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
)

// TestTypingReachesTheOtherSide: a visitor's {"type":"typing"} reaches the consoles
// of the chat's queue; the operator holding the chat sends {"type":"typing",
// "conversation":…} and the visitor sees who; a console may not send it for a chat
// it does not hold.
func TestTypingReachesTheOtherSide(t *testing.T) {
	rg := startRig(t, api.Options{})
	v := openVisitor(t, rg)
	other := openVisitor(t, rg)
	for conv, op := range map[string]string{v.Conversation.ID: "alice", other.Conversation.ID: "bob"} {
		if _, err := rg.engine.Take(context.Background(), op, conv); err != nil {
			t.Fatal(err)
		}
	}
	base := "ws" + strings.TrimPrefix(rg.srv.URL, "http")
	dial := func(u string) *websocket.Conn {
		t.Helper()
		c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"http://localhost:8080"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	// next reads events until one of the type; the others (snapshot, history) pass.
	next := func(c *websocket.Conn, typ string) map[string]any {
		t.Helper()
		for {
			var ev map[string]any
			if err := c.ReadJSON(&ev); err != nil {
				t.Fatalf("waiting for %s: %v", typ, err)
			}
			if ev["type"] == typ {
				return ev
			}
		}
	}
	console := dial(base + "/api/v1/operator/ws?access_token=" + aliceToken)
	next(console, "snapshot")
	visitor := dial(base + "/api/v1/channels/website/ws?conversation=" + v.Conversation.ID + "&access_token=" + v.Token)
	next(visitor, "history")

	if err := visitor.WriteJSON(map[string]string{"type": "typing"}); err != nil {
		t.Fatal(err)
	}
	if ev := next(console, "typing"); ev["conversationID"] != v.Conversation.ID || ev["authorKind"] != "contact" {
		t.Errorf("the console got %v", ev)
	}

	tests := []struct {
		name, conversation string
		want               string // the event the sender of the console gets back, or "" for none
	}{
		{"a chat she holds", v.Conversation.ID, ""},
		{"a chat bob holds", other.Conversation.ID, "error"},
		{"no such chat", "nothing-here", "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := console.WriteJSON(map[string]string{"type": "typing", "conversation": tt.conversation}); err != nil {
				t.Fatal(err)
			}
			if tt.want == "" {
				if ev := next(visitor, "typing"); ev["authorKind"] != "operator" || ev["authorName"] != "Alice Andersen" {
					t.Errorf("the visitor got %v", ev)
				}
				return
			}
			if ev := next(console, tt.want); !strings.Contains(ev["message"].(string), "for a chat you hold") {
				t.Errorf("the console got %v", ev)
			}
		})
	}
}
