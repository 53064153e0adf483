// Package storetest is the test suite every store.Store implementation must pass.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Opener opens the store under test. Each call opens another handle on the same
// database: a restart, or a second replica.
type Opener func(t *testing.T) store.Store

// NewDatabase returns an Opener on a fresh, empty database.
type NewDatabase func(t *testing.T) Opener

// Capabilities say which guarantees beyond the interface an implementation makes.
type Capabilities struct {
	// SharedChanges: a handle hears the changes other handles (replicas) commit.
	SharedChanges bool
}

// Run runs the suite.
func Run(t *testing.T, newDB NewDatabase, caps Capabilities) {
	tests := []struct {
		name string
		fn   func(*testing.T, Opener)
	}{
		{"contacts", testContacts},
		{"conversations and filters", testConversations},
		{"conversations page by cursor", testPaging},
		{"a contact's conversations in every state", testContactHistory},
		{"transitions are compare-and-swap", testTransitions},
		{"concurrent takes: exactly one wins", testConcurrentTakes},
		{"messages get sequence numbers", testMessages},
		{"provider message ids are idempotent", testIdempotentMessages},
		{"concurrent messages keep a gapless order", testConcurrentMessages},
		{"presence", testPresence},
		{"claims respect the operator's limit, across handles", testClaims},
		{"accepting a held chat is not a new assignment", testReclaim},
		{"routing's claims need an online, active operator", testRoutedClaims},
		{"changes too large to carry are still announced", testLargeChanges},
		{"completion deadlines ride on messages", testCompletionDeadlines},
		{"changes arrive in commit order", testChangesInOrder},
		{"data survives a restart", testRestart},
		{"visitor feedback is recorded once", testFeedback},
		{"chat facts for the analytics", testChatFacts},
		{"a second handle hears the first one's changes", testSecondHandle},
	}
	for _, tt := range tests {
		if tt.name == "a second handle hears the first one's changes" && !caps.SharedChanges {
			continue // embedded storage has exactly one runtime: nobody else to hear
		}
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newDB(t)) })
	}
}

var ctx = context.Background()

func must[T any](t *testing.T) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}

func contact(t *testing.T, s store.Store, id string) store.Contact {
	t.Helper()
	return must[store.Contact](t)(s.UpsertContact(ctx, store.Contact{ID: id, Channel: "website", ExternalID: "visitor-" + id, Name: "V " + id}))
}

func conversation(t *testing.T, s store.Store, id, queue string, state store.State) store.Conversation {
	t.Helper()
	c := contact(t, s, "c-"+id)
	now := time.Now()
	return must[store.Conversation](t)(s.CreateConversation(ctx, store.Conversation{ID: id, Channel: "website", Queue: queue,
		ContactID: c.ID, State: state, QueuedAt: &now}, store.Activity{Type: "ChatStarted", Actor: c.ID}))
}

func testContacts(t *testing.T, open Opener) {
	s := open(t)
	a := must[store.Contact](t)(s.UpsertContact(ctx, store.Contact{ID: "a", Channel: "telegram", ExternalID: "42", Name: "Ann", TokenHash: "h1"}))
	again := must[store.Contact](t)(s.UpsertContact(ctx, store.Contact{ID: "other", Channel: "telegram", ExternalID: "42", Name: "Changed"}))
	if again.ID != "a" || again.Name != "Ann" {
		t.Errorf("upsert of an existing identity = %+v, want the first contact unchanged", again)
	}
	if other := must[store.Contact](t)(s.UpsertContact(ctx, store.Contact{ID: "b", Channel: "website", ExternalID: "42"})); other.ID != "b" {
		t.Errorf("the same external id on another channel is another contact; got %s", other.ID)
	}
	if got := must[store.Contact](t)(s.ContactByToken(ctx, "h1")); got.ID != a.ID {
		t.Errorf("ContactByToken = %s", got.ID)
	}
	a.Email, a.TokenHash = "ann@example.com", "h2"
	if err := s.UpdateContact(ctx, a); err != nil {
		t.Fatal(err)
	}
	if got := must[store.Contact](t)(s.Contact(ctx, "a")); got.Email != "ann@example.com" || got.TokenHash != "h2" {
		t.Errorf("after update: %+v", got)
	}
	if _, err := s.ContactByToken(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the old token still finds the contact: %v", err)
	}
	if _, err := s.Contact(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing contact: %v", err)
	}
	if err := s.UpdateContact(ctx, store.Contact{ID: "missing"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("update of a missing contact: %v", err)
	}
}

func testConversations(t *testing.T, open Opener) {
	s := open(t)
	first := conversation(t, s, "q1", "first-line", store.StateQueued)
	time.Sleep(2 * time.Millisecond)
	conversation(t, s, "q2", "first-line", store.StateQueued)
	conversation(t, s, "x1", "accounting", store.StateQueued)
	got := must[store.Conversation](t)(s.Conversation(ctx, "q1"))
	if got.ID != first.ID || got.Version != 1 || got.State != store.StateQueued || got.QueuedAt == nil {
		t.Errorf("read back %+v", got)
	}
	list := must[[]store.Conversation](t)(s.Conversations(ctx, store.ConversationFilter{Queues: []string{"first-line"}, States: []store.State{store.StateQueued}}))
	if len(list) != 2 || list[0].ID != "q1" || list[1].ID != "q2" {
		t.Errorf("first-line queue = %v, want q1 then q2 (FIFO)", ids(list))
	}
	if list := must[[]store.Conversation](t)(s.Conversations(ctx, store.ConversationFilter{ContactID: first.ContactID})); len(list) != 1 {
		t.Errorf("by contact: %v", ids(list))
	}
	if _, err := s.Conversation(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("missing conversation: %v", err)
	}
	acts := must[[]store.Activity](t)(s.Activity(ctx, "q1", 0, 0))
	if len(acts) != 1 || acts[0].Type != "ChatStarted" {
		t.Errorf("activity = %+v", acts)
	}
}

func ids(cs []store.Conversation) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func take(operator string) func(*store.Conversation) {
	return func(c *store.Conversation) {
		c.State, c.Operator, c.LastOperator = store.StateActive, operator, operator
	}
}

func testTransitions(t *testing.T, open Opener) {
	s := open(t)
	c := conversation(t, s, "t1", "first-line", store.StateQueued)
	deadline := time.Now().Add(time.Minute)
	next := must[store.Conversation](t)(s.Transition(ctx, store.Transition{ID: c.ID, Version: c.Version, Change: func(c *store.Conversation) {
		c.State, c.Operator, c.AcceptDeadline, c.Offered = store.StateAssigned, "alice", &deadline, []string{"alice"}
	}, Activity: &store.Activity{Type: "ChatAssigned", Actor: "alice"}}))
	if next.Version != 2 || next.State != store.StateAssigned || next.AcceptDeadline == nil || len(next.Offered) != 1 {
		t.Errorf("after transition %+v", next)
	}
	if _, err := s.Transition(ctx, store.Transition{ID: c.ID, Version: c.Version, Change: take("bob")}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("a transition from a stale version = %v, want ErrConflict", err)
	}
	if _, err := s.Transition(ctx, store.Transition{ID: "nope", Version: 1, Change: take("bob")}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("transition of a missing conversation = %v", err)
	}
	got := must[store.Conversation](t)(s.Conversation(ctx, c.ID))
	if got.Operator != "alice" || got.AcceptDeadline == nil || !got.AcceptDeadline.Equal(*next.AcceptDeadline) {
		t.Errorf("read back %+v", got)
	}
	acts := must[[]store.Activity](t)(s.Activity(ctx, c.ID, 0, 0))
	if len(acts) != 2 || acts[1].Type != "ChatAssigned" {
		t.Fatalf("activity %+v", acts)
	}
	// Paged: up to limit entries after an id.
	if page := must[[]store.Activity](t)(s.Activity(ctx, c.ID, 0, 1)); len(page) != 1 || page[0].ID != acts[0].ID {
		t.Errorf("the first page of one = %+v, want the first entry", page)
	}
	if page := must[[]store.Activity](t)(s.Activity(ctx, c.ID, acts[0].ID, 1)); len(page) != 1 || page[0].ID != acts[1].ID {
		t.Errorf("the page after the first entry = %+v, want the second", page)
	}
	if page := must[[]store.Activity](t)(s.Activity(ctx, c.ID, acts[1].ID, 0)); len(page) != 0 {
		t.Errorf("the page after the last entry = %+v, want none", page)
	}
}

func testConcurrentTakes(t *testing.T, open Opener) {
	s1, s2 := open(t), open(t)
	for i := range 10 {
		c := conversation(t, s1, fmt.Sprintf("race-%d", i), "first-line", store.StateQueued)
		var wg sync.WaitGroup
		wins := make(chan string, 8)
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := []store.Store{s1, s2}[g%2]
				op := fmt.Sprintf("op%d", g)
				if _, err := s.Transition(ctx, store.Transition{ID: c.ID, Version: c.Version, Change: take(op)}); err == nil {
					wins <- op
				} else if !errors.Is(err, store.ErrConflict) {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		close(wins)
		var winners []string
		for w := range wins {
			winners = append(winners, w)
		}
		if len(winners) != 1 {
			t.Fatalf("conversation %s was taken by %v; exactly one take must win", c.ID, winners)
		}
		if got := must[store.Conversation](t)(s1.Conversation(ctx, c.ID)); got.Operator != winners[0] {
			t.Fatalf("stored operator %s, winner %s", got.Operator, winners[0])
		}
	}
}

func msg(conv string, dir store.Direction, text, providerID string) store.Message {
	kind := "contact"
	if dir == store.DirectionOut {
		kind = "operator"
	}
	return store.Message{ConversationID: conv, Direction: dir, AuthorKind: kind, Text: text, ProviderID: providerID}
}

func testMessages(t *testing.T, open Opener) {
	s := open(t)
	c := conversation(t, s, "m1", "first-line", store.StateActive)
	for i := 1; i <= 5; i++ {
		dir := store.DirectionIn
		if i%2 == 0 {
			dir = store.DirectionOut
		}
		m, dup, err := s.AppendMessage(ctx, "website", msg(c.ID, dir, fmt.Sprintf("hello %d", i), ""))
		if err != nil || dup || m.Seq != int64(i) || m.ID == 0 {
			t.Fatalf("append %d: %+v dup=%v err=%v", i, m, dup, err)
		}
	}
	all := must[[]store.Message](t)(s.Messages(ctx, c.ID, 0, 0))
	if len(all) != 5 || all[4].Text != "hello 5" || all[1].Direction != store.DirectionOut {
		t.Fatalf("messages = %+v", all)
	}
	if page := must[[]store.Message](t)(s.Messages(ctx, c.ID, 2, 2)); len(page) != 2 || page[0].Seq != 3 || page[1].Seq != 4 {
		t.Errorf("after seq 2, limit 2: %+v", page)
	}
	got := must[store.Conversation](t)(s.Conversation(ctx, c.ID))
	if got.Seq != 5 || got.LastMessageAt == nil || got.LastOutgoingAt == nil || got.Version != c.Version {
		t.Errorf("conversation after messages %+v (messages must not bump the version)", got)
	}
	if _, _, err := s.AppendMessage(ctx, "website", msg("nope", store.DirectionIn, "x", "")); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("message to a missing conversation: %v", err)
	}
	closed := conversation(t, s, "m-closed", "first-line", store.StateClosed)
	if _, _, err := s.AppendMessage(ctx, "website", msg(closed.ID, store.DirectionIn, "late", "")); !errors.Is(err, store.ErrClosed) {
		t.Errorf("message to a closed conversation: %v, want ErrClosed", err)
	}
}

func testIdempotentMessages(t *testing.T, open Opener) {
	s1, s2 := open(t), open(t)
	c := conversation(t, s1, "d1", "first-line", store.StateActive)
	first, dup, err := s1.AppendMessage(ctx, "telegram", msg(c.ID, store.DirectionIn, "hi", "update-1001"))
	if err != nil || dup {
		t.Fatal(err, dup)
	}
	for _, s := range []store.Store{s1, s2} {
		again, dup, err := s.AppendMessage(ctx, "telegram", msg(c.ID, store.DirectionIn, "hi", "update-1001"))
		if err != nil || !dup || again.ID != first.ID || again.Seq != first.Seq {
			t.Errorf("redelivery stored again: %+v dup=%v err=%v", again, dup, err)
		}
	}
	if _, dup, _ := s1.AppendMessage(ctx, "whatsapp", msg(c.ID, store.DirectionIn, "hi", "update-1001")); dup {
		t.Error("the same provider id on another channel is another message")
	}
	// Concurrent redeliveries, half through each handle: one message stored.
	var wg sync.WaitGroup
	for g := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []store.Store{s1, s2}[g%2]
			if _, _, err := s.AppendMessage(ctx, "telegram", msg(c.ID, store.DirectionIn, "burst", "update-2002")); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	count := 0
	for _, m := range must[[]store.Message](t)(s1.Messages(ctx, c.ID, 0, 0)) {
		if m.ProviderID == "update-2002" {
			count++
		}
	}
	if count != 1 {
		t.Errorf("a message redelivered concurrently was stored %d times", count)
	}
}

func testConcurrentMessages(t *testing.T, open Opener) {
	s1, s2 := open(t), open(t)
	c := conversation(t, s1, "cm", "first-line", store.StateActive)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := []store.Store{s1, s2}[g%2]
			for i := range 25 {
				if _, _, err := s.AppendMessage(ctx, "website", msg(c.ID, store.DirectionIn, fmt.Sprintf("%d-%d", g, i), "")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	all := must[[]store.Message](t)(s1.Messages(ctx, c.ID, 0, 0))
	if len(all) != 100 {
		t.Fatalf("%d messages stored, want 100", len(all))
	}
	for i, m := range all {
		if m.Seq != int64(i+1) {
			t.Fatalf("message %d has seq %d: sequence numbers must be gapless", i, m.Seq)
		}
	}
}

func testPresence(t *testing.T, open Opener) {
	s := open(t)
	op := must[store.Operator](t)(s.SetPresence(ctx, "alice", store.PresenceOnline, nil))
	if op.Presence != store.PresenceOnline || !op.Active {
		t.Errorf("new operator %+v, want online and active", op)
	}
	inactive := false
	op = must[store.Operator](t)(s.SetPresence(ctx, "alice", store.PresenceOnline, &inactive))
	if op.Active {
		t.Error("active not cleared")
	}
	op = must[store.Operator](t)(s.SetPresence(ctx, "alice", store.PresenceAway, nil))
	if op.Active || op.Presence != store.PresenceAway {
		t.Errorf("a presence change without active must keep it: %+v", op)
	}
	must[store.Operator](t)(s.SetPresence(ctx, "bob", store.PresenceOffline, nil))
	if ops := must[[]store.Operator](t)(s.Operators(ctx)); len(ops) != 2 || ops[0].Name != "alice" {
		t.Errorf("operators %+v", ops)
	}
}

// collect subscribes to s and returns what it heard so far.
func collect(s store.Store) (get func() []store.Change, stop func()) {
	var mu sync.Mutex
	var got []store.Change
	stop = s.Subscribe(func(c store.Change) {
		mu.Lock()
		got = append(got, c)
		mu.Unlock()
	})
	return func() []store.Change {
		mu.Lock()
		defer mu.Unlock()
		return append([]store.Change(nil), got...)
	}, stop
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func testChangesInOrder(t *testing.T, open Opener) {
	s := open(t)
	get, stop := collect(s)
	defer stop()
	c := conversation(t, s, "ord", "first-line", store.StateActive)
	for i := range 50 {
		if _, _, err := s.AppendMessage(ctx, "website", msg(c.ID, store.DirectionIn, fmt.Sprint(i), "")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return len(get()) >= 51 })
	changes := get()
	if changes[0].Kind != store.ChangeConversation || changes[0].Conversation.ID != "ord" {
		t.Fatalf("first change %+v, want the new conversation", changes[0])
	}
	for i, ch := range changes[1:51] {
		if ch.Kind != store.ChangeMessage || ch.Message.Seq != int64(i+1) {
			t.Fatalf("change %d = %+v, want message seq %d", i+1, ch, i+1)
		}
	}
}

func testRestart(t *testing.T, open Opener) {
	s := open(t)
	c := conversation(t, s, "r1", "first-line", store.StateActive)
	if _, _, err := s.AppendMessage(ctx, "website", msg(c.ID, store.DirectionIn, "before restart", "")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t)
	if got := must[[]store.Message](t)(s.Messages(ctx, c.ID, 0, 0)); len(got) != 1 || got[0].Text != "before restart" {
		t.Errorf("after restart: %+v", got)
	}
	if m, _, err := s.AppendMessage(ctx, "website", msg(c.ID, store.DirectionIn, "after", "")); err != nil || m.Seq != 2 {
		t.Errorf("after restart the sequence continues at 2: %+v %v", m, err)
	}
}

func testSecondHandle(t *testing.T, open Opener) {
	s1, s2 := open(t), open(t)
	get, stop := collect(s2)
	defer stop()
	c := conversation(t, s1, "h1", "first-line", store.StateActive)
	if _, _, err := s1.AppendMessage(ctx, "website", msg(c.ID, store.DirectionIn, "across", "")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		for _, ch := range get() {
			if ch.Kind == store.ChangeMessage && ch.Message.Text == "across" {
				return true
			}
		}
		return false
	})
}

func claim(operator string, limit int) store.Transition {
	return store.Transition{Change: func(c *store.Conversation) {
		c.State, c.Operator, c.LastOperator = store.StateAssigned, operator, operator
	}, Claim: &store.Claim{Operator: operator, Limit: limit}}
}

func lastAssigned(t *testing.T, s store.Store, operator string) time.Time {
	t.Helper()
	for _, o := range must[[]store.Operator](t)(s.Operators(ctx)) {
		if o.Name == operator && o.LastAssignedAt != nil {
			return *o.LastAssignedAt
		}
	}
	t.Fatalf("%s has no last assignment time", operator)
	return time.Time{}
}

func testRoutedClaims(t *testing.T, open Opener) {
	s := open(t)
	routed := func(id string) error {
		c := conversation(t, s, id, "first-line", store.StateQueued)
		tr := claim("rita", 5)
		tr.ID, tr.Version, tr.Claim.Routed = c.ID, c.Version, true
		_, err := s.Transition(ctx, tr)
		return err
	}
	if err := routed("rc-offline"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("routing claims an operator never seen online: %v, want ErrUnavailable", err)
	}
	yes := true
	must[store.Operator](t)(s.SetPresence(ctx, "rita", store.PresenceOnline, &yes))
	if err := routed("rc-online"); err != nil {
		t.Errorf("routing claims an online, active operator: %v", err)
	}
	// Only the activity changes: an empty presence keeps the one recorded.
	no := false
	op := must[store.Operator](t)(s.SetPresence(ctx, "rita", "", &no))
	if op.Presence != store.PresenceOnline || op.Active {
		t.Errorf("after making rita inactive: %+v, want online and inactive", op)
	}
	if err := routed("rc-inactive"); !errors.Is(err, store.ErrUnavailable) {
		t.Errorf("routing claims an inactive operator: %v, want ErrUnavailable", err)
	}
	// An operator's own take is not routing's to refuse.
	c := conversation(t, s, "rc-take", "first-line", store.StateQueued)
	tr := claim("rita", 5)
	tr.ID, tr.Version = c.ID, c.Version
	if _, err := s.Transition(ctx, tr); err != nil {
		t.Errorf("an inactive operator taking a chat themselves: %v", err)
	}
}

func testLargeChanges(t *testing.T, open Opener) {
	// The handle's own changes reach it the way other replicas' do (PostgreSQL: NOTIFY).
	s1 := open(t)
	get, stop := collect(s1)
	defer stop()
	// JSON escapes each of these as six bytes: 4096 of them are far over PostgreSQL's
	// 8000-byte NOTIFY limit.
	text := strings.Repeat("<", 4096)
	c := conversation(t, s1, "large", "first-line", store.StateActive)
	m, _, err := s1.AppendMessage(ctx, "website", msg(c.ID, store.DirectionIn, text, ""))
	if err != nil {
		t.Fatalf("storing a message of characters JSON escapes: %v", err)
	}
	offered := make([]string, 600)
	for i := range offered {
		offered[i] = fmt.Sprintf("operator-with-a-long-name-%03d", i)
	}
	if _, err := s1.Transition(ctx, store.Transition{ID: c.ID, Version: c.Version,
		Change: func(c *store.Conversation) { c.Offered = offered }}); err != nil {
		t.Fatalf("offering a chat to 600 operators: %v", err)
	}
	waitFor(t, func() bool {
		var gotMessage, gotOffer bool
		for _, ch := range get() {
			switch {
			case ch.Kind == store.ChangeMessage && ch.Message.ID == m.ID:
				gotMessage = ch.Message.Text == text && ch.Message.Queue == "first-line"
			case ch.Kind == store.ChangeConversation && ch.Conversation.ID == c.ID:
				gotOffer = gotOffer || len(ch.Conversation.Offered) == len(offered)
			}
		}
		return gotMessage && gotOffer
	})
}

func testCompletionDeadlines(t *testing.T, open Opener) {
	s := open(t)
	c := conversation(t, s, "cd", "first-line", store.StateActive)
	deadline := time.Now().Add(30 * time.Minute)
	out := msg(c.ID, store.DirectionOut, "anything else?", "")
	out.CompletionDeadline = &deadline
	if _, _, err := s.AppendMessage(ctx, "website", out); err != nil {
		t.Fatal(err)
	}
	got := must[store.Conversation](t)(s.Conversation(ctx, c.ID))
	if got.CompletionDeadline == nil || got.CompletionDeadline.UnixMilli() != deadline.UnixMilli() {
		t.Fatalf("completion deadline %v, want %v", got.CompletionDeadline, deadline)
	}
	if list := must[[]store.Conversation](t)(s.WithDeadlines(ctx)); len(list) != 1 || list[0].ID != c.ID {
		t.Errorf("WithDeadlines = %v", ids(list))
	}
	in := msg(c.ID, store.DirectionIn, "yes, one more", "")
	in.ClearCompletion = true
	if _, _, err := s.AppendMessage(ctx, "website", in); err != nil {
		t.Fatal(err)
	}
	if got := must[store.Conversation](t)(s.Conversation(ctx, c.ID)); got.CompletionDeadline != nil {
		t.Errorf("the deadline survived a message that clears it")
	}
}
