package chat_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	sampleplatform "github.com/switchboard-chat/switchboard/internal/samples"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var ctx = context.Background()

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// samples compiles config/samples.
func samples(t testing.TB) *config.Config {
	t.Helper()
	cfg, err := sampleplatform.Config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// harness is an engine on SQLite with a fake clock, routing only when told (Settle).
type harness struct {
	t      testing.TB
	e      *chat.Engine
	s      store.Store
	clock  *clock
	hub    *hub.Hub
	mu     sync.Mutex
	events []chat.Notification
}

func newHarness(t testing.TB, cfg *config.Config, dir string) *harness {
	t.Helper()
	h := &harness{t: t, clock: &clock{t: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}, hub: hub.New()}
	return h.open(cfg, dir)
}

func (h *harness) open(cfg *config.Config, dir string) *harness {
	s, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.Options{Now: h.clock.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	h.s = s
	h.e = chat.New(s, h.hub, cfg, chat.Manual(chat.Options{Now: h.clock.Now}))
	h.e.OnEvent(func(n chat.Notification) {
		h.mu.Lock()
		h.events = append(h.events, n)
		h.mu.Unlock()
	})
	h.t.Cleanup(h.close)
	return h
}

func (h *harness) close() {
	h.e.Close()
	_ = h.s.Close()
}

func (h *harness) settle() {
	h.t.Helper()
	if err := h.e.Settle(ctx); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) presence(op string, p store.Presence) {
	h.t.Helper()
	if _, err := h.e.SetPresence(ctx, op, p, nil); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) activate(op string) {
	h.t.Helper()
	active := true
	if _, err := h.e.SetPresence(ctx, op, store.PresenceOnline, &active); err != nil {
		h.t.Fatal(err)
	}
}

// visit opens a chat for a new widget visitor with a first message, then routes.
func (h *harness) visit(name string) store.Conversation {
	h.t.Helper()
	o, err := h.e.Open(ctx, "website", chat.Identity{Name: name})
	if err != nil {
		h.t.Fatal(err)
	}
	if _, _, err := h.e.InboundTo(ctx, o.Contact, o.Conversation.ID, "hello from "+name, ""); err != nil {
		h.t.Fatal(err)
	}
	h.clock.Advance(time.Second)
	h.settle()
	return h.get(o.Conversation.ID)
}

func (h *harness) get(id string) store.Conversation {
	h.t.Helper()
	c, err := h.s.Conversation(ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *harness) want(c store.Conversation, state store.State, operator string) {
	h.t.Helper()
	got := h.get(c.ID)
	if got.State != state || got.Operator != operator {
		h.t.Fatalf("chat %s is %s with %q, want %s with %q", c.ID, got.State, got.Operator, state, operator)
	}
}

func (h *harness) eventTypes(conversation string) []chatv1alpha1.EventType {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []chatv1alpha1.EventType
	for _, ev := range h.events {
		if ev.Conversation != nil && ev.Conversation.ID == conversation {
			out = append(out, ev.Type)
		}
	}
	return out
}

func TestAvailableAgentOrder(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	for _, op := range []string{"carol", "bob", "alice"} {
		h.presence(op, store.PresenceOnline)
	}
	// Nobody has had a chat: never-assigned ties go by name.
	c1, c2, c3 := h.visit("v1"), h.visit("v2"), h.visit("v3")
	h.want(c1, store.StateAssigned, "alice")
	h.want(c2, store.StateAssigned, "bob")
	h.want(c3, store.StateAssigned, "carol")
	// One chat each: the one who has gone longest without a chat is alice.
	c4 := h.visit("v4")
	h.want(c4, store.StateAssigned, "alice")
	// alice is at her limit of 2; bob (limit 3) and carol have one each, bob waited longer.
	c5 := h.visit("v5")
	h.want(c5, store.StateAssigned, "bob")
	// carol has the fewest chats in progress.
	c6 := h.visit("v6")
	h.want(c6, store.StateAssigned, "carol")
	c7 := h.visit("v7")
	h.want(c7, store.StateAssigned, "bob")
	// Everyone is at their limit: the next chat waits, first in line.
	c8 := h.visit("v8")
	h.want(c8, store.StateQueued, "")
	if pos, _ := h.e.Position(ctx, h.get(c8.ID)); pos != 1 {
		t.Errorf("position %d, want 1", pos)
	}
	if got := h.eventTypes(c1.ID); !slices.Equal(got, []chatv1alpha1.EventType{"ChatStarted", "FirstMessageReceived", "ChatAssigned"}) {
		t.Errorf("events of the first chat: %v", got)
	}
}

func TestAcceptTimeoutLapseAndInactivity(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	h.presence("bob", store.PresenceOnline)
	notices := &recorder{}
	h.hub.Subscribe(notices, chat.TopicOperator("alice"))

	c := h.visit("v")
	h.want(c, store.StateAssigned, "alice")
	h.clock.Advance(2*time.Minute - 2*time.Second) // first-line accepts within 2m
	h.settle()
	h.want(c, store.StateAssigned, "alice")

	h.clock.Advance(3 * time.Second)
	h.settle()
	// alice let it lapse: it goes to bob, and alice is inactive.
	h.want(c, store.StateAssigned, "bob")
	if got := h.get(c.ID).Lapsed; !slices.Equal(got, []string{"alice"}) {
		t.Errorf("lapsed %v", got)
	}
	ops, _ := h.s.Operators(ctx)
	for _, o := range ops {
		if o.Name == "alice" && o.Active {
			t.Error("alice is still active after letting a chat lapse")
		}
	}
	if !notices.contains("You did not accept chat " + c.ID) {
		t.Errorf("alice's console was not told why: %v", notices.all())
	}
	// An inactive operator gets no new chats, even with the fewest.
	c2 := h.visit("v2")
	h.want(c2, store.StateAssigned, "bob")

	// bob lapses too: the chat waits, as nobody eligible is left.
	h.clock.Advance(3 * time.Minute)
	h.settle()
	h.want(c, store.StateQueued, "")
	h.want(c2, store.StateQueued, "")
	// alice sets herself active again: the chat she let lapse may come back to her,
	// since nobody else can take it; it is the oldest, so it comes first.
	h.activate("alice")
	h.settle()
	h.want(c, store.StateAssigned, "alice")
	if got := h.eventTypes(c.ID); slices.Index(got, "AcceptTimedOut") < 0 {
		t.Errorf("no AcceptTimedOut event: %v", got)
	}
}

func TestLimitCountsAcrossQueues(t *testing.T) {
	cfg := samples(t)
	// alice answers accounting too.
	for i := range cfg.Queues {
		if cfg.Queues[i].Name == "accounting" {
			cfg.Queues[i].Operators = append(cfg.Queues[i].Operators, "alice")
		}
	}
	h := newHarness(t, cfg, t.TempDir())
	h.presence("alice", store.PresenceOnline)
	c1 := h.visit("v1")
	if _, err := h.e.Take(ctx, "alice", c1.ID); err != nil {
		t.Fatal(err)
	}
	// An accounting chat (through the internal channel), taken by alice.
	o, err := h.e.Open(ctx, "staff-helpdesk", chat.Identity{ExternalID: "frank"})
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	if _, err := h.e.Take(ctx, "alice", o.Conversation.ID); err != nil {
		t.Fatalf("alice takes the accounting chat: %v", err)
	}
	// Two chats across two queues: at her limit of 2, she gets no third.
	c3 := h.visit("v3")
	h.want(c3, store.StateQueued, "")
	if _, err := h.e.Take(ctx, "alice", c3.ID); chat.KindOf(err) != chat.KindConflict {
		t.Errorf("a take past the limit: %v, want a conflict", err)
	}
	// A chat ends: the waiting one is dispatched at once.
	if _, err := h.e.CloseConversation(ctx, "alice", c1.ID); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.want(c3, store.StateAssigned, "alice")
}

func TestTransfers(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	for _, op := range []string{"alice", "bob", "dave", "erin"} {
		h.presence(op, store.PresenceOnline)
	}
	c := h.visit("v")
	h.want(c, store.StateAssigned, "alice")
	if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.Reply(ctx, "alice", c.ID, "let me pass you to bob"); err != nil {
		t.Fatal(err)
	}
	// To an operator of the queue: bob must accept it.
	if _, err := h.e.Forward(ctx, "alice", c.ID, "bob", ""); err != nil {
		t.Fatal(err)
	}
	h.want(c, store.StateAssigned, "bob")
	if _, err := h.e.Forward(ctx, "bob", c.ID, "dave", ""); chat.KindOf(err) != chat.KindForbidden {
		t.Errorf("forwarding to an operator of another queue: %v, want forbidden", err)
	}
	if _, err := h.e.Forward(ctx, "carol", c.ID, "", "accounting"); chat.KindOf(err) != chat.KindForbidden {
		t.Errorf("an operator not holding the chat forwards it: %v, want forbidden", err)
	}
	// To the expert queue (a transfer target): AllAgents offers it to dave and erin.
	if _, err := h.e.Take(ctx, "bob", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.Forward(ctx, "bob", c.ID, "", "accounting"); err != nil {
		t.Fatal(err)
	}
	h.settle()
	got := h.get(c.ID)
	if got.Queue != "accounting" || got.State != store.StateQueued || !slices.Equal(got.Offered, []string{"dave", "erin"}) {
		t.Fatalf("after the transfer: %s %s offered %v", got.Queue, got.State, got.Offered)
	}
	if _, err := h.e.Take(ctx, "erin", c.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.Take(ctx, "dave", c.ID); chat.KindOf(err) != chat.KindConflict {
		t.Errorf("the second take: %v, want a conflict", err)
	}
	// History and activity followed the chat.
	msgs, _ := h.s.Messages(ctx, c.ID, 0, 0)
	if len(msgs) != 2 {
		t.Errorf("%d messages after two transfers, want 2", len(msgs))
	}
	if got := h.eventTypes(c.ID); slices.Index(got, "ChatForwarded") < 0 {
		t.Errorf("events %v", got)
	}
	// A supervisor reassigns any chat.
	if _, err := h.e.Forward(ctx, "sam", c.ID, "dave", ""); err != nil {
		t.Errorf("supervisor reassignment: %v", err)
	}
	h.want(c, store.StateAssigned, "dave")
}

func TestCompletionTimeout(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	c := h.visit("v")
	if _, err := h.e.Reply(ctx, "alice", c.ID, "anything else?"); err != nil { // accepts too
		t.Fatal(err)
	}
	h.clock.Advance(29 * time.Minute)
	h.settle()
	h.want(c, store.StateActive, "alice")
	h.clock.Advance(2 * time.Minute) // first-line closes 30m after the last reply
	h.settle()
	h.want(c, store.StateClosed, "alice")
	// The contact writes again: a new conversation, routed afresh.
	contact, _ := h.s.Contact(ctx, c.ContactID)
	_, next, err := h.e.InboundTo(ctx, contact, c.ID, "one more thing", "")
	if err != nil {
		t.Fatal(err)
	}
	h.settle()
	if next.ID == c.ID {
		t.Fatal("the message went to the closed conversation")
	}
	h.want(next, store.StateAssigned, "alice")
}

func TestRestartFiresPendingDeadlinesOnce(t *testing.T) {
	dir := t.TempDir()
	cfg := samples(t)
	h := newHarness(t, cfg, dir)
	h.presence("alice", store.PresenceOnline)
	h.presence("bob", store.PresenceOnline)
	c := h.visit("v")
	h.want(c, store.StateAssigned, "alice")
	h.close()

	// Down for ten minutes; the accept deadline passed meanwhile.
	h.clock.Advance(10 * time.Minute)
	h.open(cfg, dir)
	h.settle()
	h.want(c, store.StateAssigned, "bob")
	h.settle()
	acts, _ := h.s.Activity(ctx, c.ID, 0, 0)
	lapses := 0
	for _, a := range acts {
		if a.Type == "AcceptTimedOut" {
			lapses++
		}
	}
	if lapses != 1 {
		t.Errorf("the accept timeout fired %d times, want once", lapses)
	}
}

func TestOfflineMessages(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	c := h.visit("night owl")
	h.want(c, store.StateMissed, "")
	if got := h.eventTypes(c.ID); got[0] != "OfflineMessage" {
		t.Errorf("events %v, want OfflineMessage first", got)
	}
	visible, _ := h.e.Visible(ctx, "alice", nil)
	if len(visible) != 1 {
		t.Fatalf("alice sees %d chats, want the offline message", len(visible))
	}
	h.presence("alice", store.PresenceOnline)
	h.settle()
	// Once someone is online, an offline message is routed like any chat.
	h.want(c, store.StateAssigned, "alice")
	if _, err := h.e.Take(ctx, "alice", c.ID); err != nil {
		t.Fatal(err)
	}
	h.want(c, store.StateActive, "alice")
}

func TestQueueIsFIFOAndEventDriven(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	c1, c2, c3, c4 := h.visit("v1"), h.visit("v2"), h.visit("v3"), h.visit("v4")
	h.want(c1, store.StateAssigned, "alice")
	h.want(c2, store.StateAssigned, "alice")
	for i, c := range []store.Conversation{c3, c4} {
		if pos, _ := h.e.Position(ctx, h.get(c.ID)); pos != i+1 {
			t.Errorf("%s position %d, want %d", c.ID, pos, i+1)
		}
	}
	// bob comes online: the oldest waiting chat goes to him.
	h.presence("bob", store.PresenceOnline)
	h.settle()
	h.want(c3, store.StateAssigned, "bob")
	h.want(c4, store.StateAssigned, "bob")
	// away: keeps his chats, gets no new ones.
	h.presence("bob", store.PresenceAway)
	c5 := h.visit("v5")
	h.want(c5, store.StateQueued, "")
	h.presence("bob", store.PresenceOnline)
	h.settle()
	h.want(c5, store.StateAssigned, "bob")
}

// recorder is a hub subscriber that keeps what it is sent.
type recorder struct {
	mu  sync.Mutex
	got []string
}

func (r *recorder) Deliver(e []byte) bool {
	r.mu.Lock()
	r.got = append(r.got, string(e))
	r.mu.Unlock()
	return true
}
func (r *recorder) Overflow() {}

func (r *recorder) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.got...)
}

func (r *recorder) contains(s string) bool {
	for _, g := range r.all() {
		if strings.Contains(g, s) {
			return true
		}
	}
	return false
}

func TestConfigurationChangesApplyToRouting(t *testing.T) {
	cfg := samples(t)
	h := newHarness(t, cfg, t.TempDir())
	h.presence("alice", store.PresenceOnline)
	h.visit("v1")
	h.visit("v2")
	c3 := h.visit("v3")
	h.want(c3, store.StateQueued, "") // alice is at her limit of 2

	// The CR raises her limit: the waiting chat is routed at once.
	raised := samples(t)
	for i := range raised.People {
		if raised.People[i].Name == "alice" {
			raised.People[i].MaxChats = 3
		}
	}
	h.e.Apply(raised)
	h.settle()
	h.want(c3, store.StateAssigned, "alice")

	// The CR adds an operator to the queue: the next waiting chat goes to them.
	c4 := h.visit("v4")
	h.want(c4, store.StateQueued, "")
	added := samples(t)
	for i := range added.Queues {
		if added.Queues[i].Name == "first-line" {
			added.Queues[i].Operators = append(added.Queues[i].Operators, "dave")
		}
	}
	h.presence("dave", store.PresenceOnline)
	h.e.Apply(added)
	h.settle()
	h.want(c4, store.StateAssigned, "dave")
}

// A messenger contact's messages go to their open conversation, which the engine
// remembers; once it is closed (here or on another replica), the next message
// starts a new one.
func TestMessengerMessagesFollowTheOpenConversation(t *testing.T) {
	for _, closedBy := range []string{"this replica", "another replica"} {
		t.Run(closedBy, func(t *testing.T) {
			h := newHarness(t, samples(t), t.TempDir())
			h.presence("alice", store.PresenceOnline)
			contact, err := h.e.EnsureContact(ctx, "telegram", chat.Identity{ExternalID: "4242", Name: "Tess"})
			if err != nil {
				t.Fatal(err)
			}
			send := func(text string) store.Conversation {
				t.Helper()
				m, _, err := h.e.InboundMessage(ctx, contact, store.Message{Text: text, ProviderID: text})
				if err != nil {
					t.Fatal(err)
				}
				return h.get(m.ConversationID)
			}
			first := send("one")
			if again := send("two"); again.ID != first.ID {
				t.Fatalf("the second message started conversation %s beside the open %s", again.ID, first.ID)
			}
			h.settle()
			if _, err := h.e.Reply(ctx, "alice", first.ID, "hi"); err != nil {
				t.Fatal(err)
			}
			if closedBy == "this replica" {
				if _, err := h.e.CloseConversation(ctx, "alice", first.ID); err != nil {
					t.Fatal(err)
				}
			} else {
				c := h.get(first.ID)
				if _, err := h.s.Transition(ctx, store.Transition{ID: c.ID, Version: c.Version, Change: func(c *store.Conversation) {
					now := time.Now()
					c.State, c.ClosedAt = store.StateClosed, &now
				}}); err != nil {
					t.Fatal(err)
				}
			}
			next := send("three")
			if next.ID == first.ID {
				t.Fatal("the message went to the closed conversation")
			}
			if msgs, _ := h.s.Messages(ctx, next.ID, 0, 10); len(msgs) != 1 || msgs[0].Text != "three" {
				t.Errorf("the new conversation holds %v, want the one message", msgs)
			}
			if again := send("four"); again.ID != next.ID {
				t.Errorf("the fourth message went to %s, want the new open conversation %s", again.ID, next.ID)
			}
		})
	}
}

// positionRecorder is a visitor's connection, keeping the places it is told.
type positionRecorder struct {
	mu  sync.Mutex
	got []int
}

func (p *positionRecorder) Deliver(event []byte) bool {
	var e chat.VisitorEvent
	if json.Unmarshal(event, &e) == nil && e.Type == "position" {
		p.mu.Lock()
		p.got = append(p.got, e.Position)
		p.mu.Unlock()
	}
	return true
}

func (p *positionRecorder) Overflow() {}

func (p *positionRecorder) places() []int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.got)
}

// A waiting visitor hears of their place when it changes, not at every chat that
// joins the queue behind them.
func TestPositionsArePublishedWhenTheyChange(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.presence("alice", store.PresenceOnline)
	v1 := h.visit("v1")
	h.visit("v2") // alice is full: two chats at once
	h.visit("v3")
	second := h.visit("v4")
	if pos, _ := h.e.Position(ctx, h.get(second.ID)); pos != 2 {
		t.Fatalf("v4 is at %d, want 2", pos)
	}
	rec := &positionRecorder{}
	h.hub.Subscribe(rec, chat.TopicVisitor(second.ID))
	h.visit("v5")
	h.visit("v6")
	if got := rec.places(); len(got) != 0 {
		t.Fatalf("places %v published to v4 while chats joined behind it: want none", got)
	}
	// alice closes a chat: v3 goes to her, and v4 moves up.
	if _, err := h.e.Take(ctx, "alice", v1.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.e.CloseConversation(ctx, "alice", v1.ID); err != nil {
		t.Fatal(err)
	}
	h.settle()
	h.visit("v7")
	if got := rec.places(); !slices.Equal(got, []int{1}) {
		t.Errorf("v4 was told %v, want [1] once", got)
	}
}
