package chat_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// flakyStore fails reads of conversations while failing is set, as a store would
// during a database outage.
type flakyStore struct {
	store.Store
	failing atomic.Bool
}

func (f *flakyStore) Conversation(ctx context.Context, id string) (store.Conversation, error) {
	if f.failing.Load() {
		return store.Conversation{}, errors.New("the database is unreachable")
	}
	return f.Store.Conversation(ctx, id)
}

func TestAFailedDeadlineIsTriedAgain(t *testing.T) {
	clk := &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	s, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	flaky := &flakyStore{Store: s}
	e := chat.New(flaky, hub.New(), samples(t), chat.Manual(chat.Options{Now: clk.Now}))
	defer e.Close()
	if _, err := e.SetPresence(ctx, "alice", store.PresenceOnline, nil); err != nil {
		t.Fatal(err)
	}
	o, err := e.Open(ctx, "website", chat.Identity{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := e.InboundTo(ctx, o.Contact, o.Conversation.ID, "hello", ""); err != nil {
		t.Fatal(err)
	}
	if err := e.Settle(ctx); err != nil {
		t.Fatal(err)
	}
	state := func() store.State {
		c, err := s.Conversation(ctx, o.Conversation.ID)
		if err != nil {
			t.Fatal(err)
		}
		return c.State
	}
	if got := state(); got != store.StateAssigned {
		t.Fatalf("chat is %s, want Assigned", got)
	}

	clk.Advance(3 * time.Minute) // past first-line's accept timeout of 2m
	flaky.failing.Store(true)
	if err := e.FireDue(ctx); err == nil {
		t.Fatal("FireDue reported no error while the store failed")
	}
	flaky.failing.Store(false)
	if err := e.FireDue(ctx); err != nil || state() != store.StateAssigned {
		t.Fatalf("the deadline was tried again before its pause: %v, %s", err, state())
	}
	clk.Advance(5 * time.Second)
	if err := e.FireDue(ctx); err != nil {
		t.Fatal(err)
	}
	if got := state(); got != store.StateQueued {
		t.Errorf("after the store recovered the chat is %s, want Queued (the accept deadline lapsed)", got)
	}
}

func TestAcceptingDoesNotCountAsANewAssignment(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	h.presence("bob", store.PresenceOnline)
	c1, c2 := h.visit("v1"), h.visit("v2")
	h.want(c1, store.StateAssigned, "alice")
	h.want(c2, store.StateAssigned, "bob")
	// alice accepts after bob was assigned: she still went longest without a new chat.
	h.clock.Advance(time.Minute)
	if _, err := h.e.Take(ctx, "alice", c1.ID); err != nil {
		t.Fatal(err)
	}
	c3 := h.visit("v3")
	h.want(c3, store.StateAssigned, "alice")
}

func TestBotHandoverWithNobodyOnlineLeavesAnOfflineMessage(t *testing.T) {
	cfg := samples(t)
	for i := range cfg.Channels {
		if cfg.Channels[i].Name == "website" {
			cfg.Channels[i].Bot = &config.Bot{Webhook: config.Webhook{URL: "http://127.0.0.1:1/bot"},
				HandoverKeywords: []string{"human"}}
		}
	}
	h := newHarness(t, cfg, t.TempDir())
	o, err := h.e.Open(ctx, "website", chat.Identity{Name: "v"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := h.e.InboundTo(ctx, o.Contact, o.Conversation.ID, "human", ""); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.want(o.Conversation, store.StateMissed, "")
}
