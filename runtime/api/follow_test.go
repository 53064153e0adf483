package api_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/chat"
)

// feed is one of a visitor's open WebSockets, keeping every event.
type feed struct {
	c      *websocket.Conn
	mu     sync.Mutex
	events []map[string]any
}

func openFeed(t *testing.T, rg *rig, conversation, token string) *feed {
	t.Helper()
	u := "ws" + strings.TrimPrefix(rg.srv.URL, "http") + "/api/v1/channels/website/ws?conversation=" + conversation + "&access_token=" + token
	c, _, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {"http://localhost:8080"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	f := &feed{c: c}
	go func() {
		for {
			var ev map[string]any
			if err := c.ReadJSON(&ev); err != nil {
				return
			}
			f.mu.Lock()
			f.events = append(f.events, ev)
			f.mu.Unlock()
		}
	}()
	f.wait(t, "the history", func(ev map[string]any) bool { return ev["type"] == "history" })
	return f
}

// wait waits for an event that match accepts.
func (f *feed) wait(t *testing.T, what string, match func(map[string]any) bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		f.mu.Lock()
		for _, ev := range f.events {
			if match(ev) {
				f.mu.Unlock()
				return
			}
		}
		f.mu.Unlock()
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	t.Fatalf("no %s within 5 s; got %v", what, f.events)
}

// carries matches a message event with this text, or a history holding it.
func carries(text string) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		if m, _ := ev["message"].(map[string]any); ev["type"] == "message" && m["text"] == text {
			return true
		}
		msgs, _ := ev["messages"].([]any)
		for _, m := range msgs {
			if mm, _ := m.(map[string]any); ev["type"] == "history" && mm["text"] == text {
				return true
			}
		}
		return false
	}
}

func conversationEvent(id string) func(map[string]any) bool {
	return func(ev map[string]any) bool {
		c, _ := ev["conversation"].(map[string]any)
		return ev["type"] == "conversation" && c["id"] == id
	}
}

// TestOpeningMessageReachesEveryTab: when the visitor's last chat was closed, the
// message that opens the next one, over a WebSocket or over HTTP, reaches each of the
// visitor's open connections, which follow the new chat from then on.
func TestOpeningMessageReachesEveryTab(t *testing.T) {
	rg := startRig(t, api.Options{Limits: api.Limits{MessagesPerSecond: 1000, MessageBurst: 1000}})
	ctx := context.Background()
	v := openVisitor(t, rg)
	current := v.Conversation.ID
	tabs := []*feed{openFeed(t, rg, current, v.Token), openFeed(t, rg, current, v.Token)}
	for round := range 6 {
		if _, err := rg.engine.CloseConversation(ctx, "sam", current); err != nil {
			t.Fatal(err)
		}
		text := "round " + string(rune('A'+round))
		if round%2 == 0 {
			if err := tabs[0].c.WriteJSON(map[string]string{"type": "message", "text": text}); err != nil {
				t.Fatal(err)
			}
		} else {
			_, body := do(t, "POST", rg.srv.URL+"/api/v1/channels/website/conversations/"+current+"/messages", v.Token,
				`{"text":"`+text+`"}`, "Origin", "http://localhost:8080")
			if !strings.Contains(body, text) {
				t.Fatalf("sending over HTTP: %s", body)
			}
		}
		next := latestConversation(t, rg, v)
		if next == current {
			t.Fatalf("round %d: no new conversation", round)
		}
		for i, tab := range tabs {
			tab.wait(t, "tab "+string(rune('1'+i))+" hearing of the new conversation", conversationEvent(next))
			tab.wait(t, "tab "+string(rune('1'+i))+" receiving "+text, carries(text))
		}
		current = next
	}
	// Both tabs follow the last conversation: an operator's answer reaches them.
	takeEventually(t, rg, "sam", current)
	if _, err := rg.engine.Reply(ctx, "sam", current, "answer to both"); err != nil {
		t.Fatal(err)
	}
	for _, tab := range tabs {
		tab.wait(t, "the answer", carries("answer to both"))
	}
}

// latestConversation is the visitor's open conversation, as resuming finds it.
func latestConversation(t *testing.T, rg *rig, v chat.Opened) string {
	t.Helper()
	opened, err := rg.engine.Open(context.Background(), "website", chat.Identity{ExternalID: v.Contact.ExternalID})
	if err != nil {
		t.Fatal(err)
	}
	return opened.Conversation.ID
}
