package e2e

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestBotHandover: a channel's bot answers first; while it holds the chat no operator
// is assigned; the visitor asks for a human and the chat goes to the queue.
func TestBotHandover(t *testing.T) {
	const key = "REPLACE-with-a-long-random-string" // config/samples/secrets.yaml, webhook-signing/notifications
	var rt *runtime
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := signedBody(r, key)
		if !ok {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		var call struct {
			ConversationID string
			Message        struct{ Text string }
		}
		_ = json.Unmarshal(body, &call)
		w.WriteHeader(http.StatusOK)
		go call2(t, "POST", rt.base+"/api/v1/bot/channels/website/conversations/"+call.ConversationID+"/messages", key,
			map[string]string{"text": "Bot here. You said: " + call.Message.Text})
	}))
	defer bot.Close()
	dir := manifestsDir(t)
	edit(t, dir, "channels.yaml", "    ratings: true\n", "    ratings: true\n  bot:\n    webhook:\n      url: "+bot.URL+"/bot\n      secretRef:\n        name: webhook-signing\n        key: notifications\n")
	rt = standalone(t, dir, t.TempDir())
	online(t, rt, alice)

	v := newVisitor(t, rt, "opening hours?")
	w := v.connect(t, 0)
	w.waitEvent(t, "the bot's answer", isMessage("Bot here. You said: opening hours?"))
	var c struct{ State, Operator string }
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation, sam, nil, &c)
	if c.State != "Bot" || c.Operator != "" {
		t.Fatalf("while the bot holds the chat: %+v, want Bot with no operator", c)
	}
	var out struct{ Error struct{ Message string } }
	if code := call(t, "POST", rt.base+"/api/v1/bot/channels/website/conversations/"+v.conversation+"/messages", "wrong-key",
		map[string]string{"text": "x"}, &out); code != 401 {
		t.Errorf("a bot reply with a wrong key: %d %q", code, out.Error.Message)
	}

	v.send(t, w, "Human")
	w.waitEvent(t, "the handover", func(ev map[string]any) bool {
		return ev["type"] == "conversation" && (field(ev, "conversation", "state") == "Queued" || field(ev, "conversation", "state") == "Assigned")
	})
	var conv struct {
		State, Operator string
		BotAnswered     bool
	}
	for range 100 {
		call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation, sam, nil, &conv)
		if conv.State == "Assigned" {
			break
		}
	}
	if conv.State != "Assigned" || conv.Operator != "alice" || !conv.BotAnswered {
		t.Errorf("after the handover: %+v, want assigned to alice and marked bot-answered", conv)
	}
	var msgs struct{ Messages []struct{ AuthorKind string } }
	call(t, "GET", rt.base+"/api/v1/conversations/"+v.conversation+"/messages", sam, nil, &msgs)
	if len(msgs.Messages) < 2 || msgs.Messages[1].AuthorKind != "bot" {
		t.Errorf("messages %+v: the bot's must be flagged", msgs.Messages)
	}
}

// call2 is call without the test's failure handling, for use off the test goroutine.
func call2(_ *testing.T, method, url, token string, body any) {
	data, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, url, stringsReader(string(data)))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err == nil {
		res.Body.Close()
	}
}
