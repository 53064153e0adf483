package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

type eventStore interface {
	store.Store
	store.Events
	store.Jobs
}

func eventTypes(t *testing.T, s eventStore, after int64) ([]string, int64) {
	t.Helper()
	evs, err := s.Events(context.Background(), after, 0)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	last := after
	for _, e := range evs {
		types = append(types, e.Type)
		last = e.ID
	}
	return types, last
}

// TestEventsCommitWithTheirChange: every write records its events in its own
// transaction, and a write that fails records none.
func TestEventsCommitWithTheirChange(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b).(eventStore)
			contact, _ := s.UpsertContact(ctx, store.Contact{ID: "k1", Channel: "website", ExternalID: "k1"})
			conv, err := s.CreateConversation(ctx, store.Conversation{ID: "c1", Channel: "website", Queue: "q", ContactID: contact.ID,
				State: store.StateQueued}, store.Activity{Type: "ChatStarted"}, store.Event{Type: "ChatStarted", ConversationID: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn,
				AuthorKind: "contact", Text: "hi", Events: []store.Event{{Type: "FirstMessageReceived", ConversationID: conv.ID, Detail: "hi"}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Transition(ctx, store.Transition{ID: conv.ID, Version: conv.Version, Change: func(c *store.Conversation) {
				c.State, c.Operator = store.StateActive, "alice"
			}, Events: []store.Event{{Type: "ChatAccepted", ConversationID: conv.ID, Operator: "alice"}}}); err != nil {
				t.Fatal(err)
			}
			// A transition that loses its race records nothing.
			if _, err := s.Transition(ctx, store.Transition{ID: conv.ID, Version: conv.Version, Change: func(*store.Conversation) {},
				Events: []store.Event{{Type: "ChatForwarded"}}}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("stale transition: %v", err)
			}
			if _, err := s.SetPresence(ctx, "alice", store.PresenceAway, nil, store.Event{Type: "OperatorAway", Operator: "alice"}); err != nil {
				t.Fatal(err)
			}
			got, _ := eventTypes(t, s, 0)
			if want := []string{"ChatStarted", "FirstMessageReceived", "ChatAccepted", "OperatorAway"}; !slices.Equal(got, want) {
				t.Fatalf("events %v, want %v", got, want)
			}
		})
	}
}

// TestCursorsMoveWithWhatTheyCause: a cursor moves only from where the mover read
// it, together with the jobs it enqueues; a second mover from the same place gets
// ErrConflict and changes nothing.
func TestCursorsMoveWithWhatTheyCause(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b).(eventStore)
			job := func(key string) store.Job {
				return store.Job{Kind: "notify.deliver", Key: "k", IdempotencyKey: key, Payload: []byte(`{}`)}
			}
			if pos, err := s.Cursor(ctx, "notify"); err != nil || pos != 0 {
				t.Fatalf("a new cursor: %d %v", pos, err)
			}
			if err := s.AdvanceCursor(ctx, "notify", 0, 3, []store.Job{job("a"), job("b")}); err != nil {
				t.Fatal(err)
			}
			if err := s.AdvanceCursor(ctx, "notify", 0, 5, []store.Job{job("c")}); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("a second mover from 0: %v, want ErrConflict", err)
			}
			if _, err := s.Job(ctx, "c"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the loser's job was enqueued: %v", err)
			}
			// A replay from 3 enqueues the same keys again: nothing is sent twice.
			if err := s.AdvanceCursor(ctx, "notify", 3, 4, []store.Job{job("b")}); err != nil {
				t.Fatal(err)
			}
			if pos, _ := s.Cursor(ctx, "notify"); pos != 4 {
				t.Fatalf("cursor at %d, want 4", pos)
			}
			stats, _ := s.JobStats(ctx)
			if len(stats) != 1 || stats[0].Pending != 2 {
				t.Fatalf("pending jobs %+v, want a and b once", stats)
			}
		})
	}
}

// TestEventsAppearInCommitOrderOnPostgres: an event whose transaction is still open
// holds back the events recorded after it, even when those commit first, so a cursor
// that moves past what it read never skips it.
func TestEventsAppearInCommitOrderOnPostgres(t *testing.T) {
	b := backends(t)[1]
	ctx := context.Background()
	s := mustOpen(t, b).(eventStore)
	raw, err := sql.Open(b.driver, b.dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	slow, err := raw.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Rollback()
	if _, err := slow.ExecContext(ctx, `INSERT INTO events (type, created_at) VALUES ('Slow', 0)`); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetPresence(ctx, "bob", store.PresenceOnline, nil, store.Event{Type: "OperatorOnline", Operator: "bob"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := eventTypes(t, s, 0); len(got) != 0 {
		t.Fatalf("events %v visible while an older transaction is open: a cursor would skip it", got)
	}
	if err := slow.Commit(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, _ := eventTypes(t, s, 0)
		if slices.Equal(got, []string{"Slow", "OperatorOnline"}) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("events %v after the commit", got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestPruneEvents: old events go once every cursor passed them, never one a cursor
// has still to read, nor a recent one.
func TestPruneEvents(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b).(eventStore)
			record := func(n int) []int64 {
				t.Helper()
				for range n {
					if err := s.AppendEvents(ctx, store.Event{Type: "DailyAnalytics"}); err != nil {
						t.Fatal(err)
					}
				}
				evs, err := s.Events(ctx, 0, 0)
				if err != nil {
					t.Fatal(err)
				}
				var ids []int64
				for _, e := range evs {
					ids = append(ids, e.ID)
				}
				return ids
			}
			prune := func(before time.Time, limit int) int {
				t.Helper()
				n, err := s.PruneEvents(ctx, before, limit)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			later, earlier := time.Now().Add(time.Hour), time.Now().Add(-time.Hour)
			record(5)
			if n := prune(earlier, 100); n != 0 {
				t.Errorf("pruned %d recent events", n)
			}
			// No cursor: nobody reads them, age alone decides; in batches.
			if n := prune(later, 2); n != 2 {
				t.Errorf("pruned %d, want a batch of 2", n)
			}
			if n := prune(later, 100); n != 3 {
				t.Errorf("pruned %d, want the other 3", n)
			}
			ids := record(4)
			if err := s.AdvanceCursor(ctx, "notify", 0, ids[1], nil); err != nil {
				t.Fatal(err)
			}
			if err := s.AdvanceCursor(ctx, "other", 0, ids[2], nil); err != nil {
				t.Fatal(err)
			}
			if n := prune(later, 100); n != 2 {
				t.Errorf("pruned %d, want the 2 every cursor passed", n)
			}
			left, _ := s.Events(ctx, 0, 0)
			if len(left) != 2 || left[0].ID != ids[2] {
				t.Errorf("left %v, want the events from %d on", left, ids[2])
			}
		})
	}
}
