package chat_test

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestConcurrentOpensShareOneConversation opens twenty times at once for one contact:
// every caller gets the same conversation.
func TestConcurrentOpensShareOneConversation(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	const opens = 20
	ids := make([]string, opens)
	errs := make([]error, opens)
	var wg sync.WaitGroup
	for i := range opens {
		wg.Go(func() {
			o, err := h.e.Open(ctx, "website", chat.Identity{ExternalID: "returning-visitor", Name: "Vera"})
			ids[i], errs[i] = o.Conversation.ID, err
		})
	}
	wg.Wait()
	for i := range opens {
		if errs[i] != nil {
			t.Fatalf("open %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("open %d got conversation %s, open 0 got %s: one contact, two open conversations", i, ids[i], ids[0])
		}
	}
	all, err := h.s.Conversations(ctx, store.ConversationFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 {
		t.Fatalf("%d conversations stored, want 1", len(all))
	}
}

// withBot gives the website channel a bot behind url.
func withBot(cfg *config.Config, url string) *config.Config {
	for i := range cfg.Channels {
		if cfg.Channels[i].Name == "website" {
			cfg.Channels[i].Bot = &config.Bot{Webhook: config.Webhook{URL: url}}
		}
	}
	return cfg
}

// TestCloseWaitsForTheBotCall closes the engine while a bot's webhook is still
// answering: Close returns only after the call ended and its outcome (a failing bot
// hands the chat over) is stored.
func TestCloseWaitsForTheBotCall(t *testing.T) {
	called := make(chan struct{})
	bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(called)
		time.Sleep(300 * time.Millisecond)
		http.Error(w, "the bot is down", http.StatusBadGateway)
	}))
	defer bot.Close()
	h := newHarness(t, withBot(samples(t), bot.URL), t.TempDir())
	o, err := h.e.Open(ctx, "website", chat.Identity{Name: "Vera"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.e.InboundTo(ctx, o.Contact, o.Conversation.ID, "hello bot", ""); err != nil {
		t.Fatal(err)
	}
	<-called
	h.e.Close()
	// The store is still open: what the bot call did is there once Close returned.
	c := h.get(o.Conversation.ID)
	if c.State == store.StateBot {
		t.Fatal("Close returned while the bot call was still running: the chat is still with the bot")
	}
}
