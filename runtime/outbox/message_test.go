package outbox_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// conversation creates an active conversation on the telegram channel.
func conversation(t *testing.T, s store.Store, id string) store.Conversation {
	t.Helper()
	c, err := s.UpsertContact(ctx, store.Contact{ID: "contact-" + id, Channel: "telegram", ExternalID: id})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, store.Conversation{ID: id, Channel: "telegram", Queue: "support", ContactID: c.ID,
		State: store.StateActive}, store.Activity{Type: "ChatStarted"})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func TestJobsCommitWithTheirMessage(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		conv := conversation(t, s, "conv-1")
		reply := func(text, providerID string) store.Message {
			return store.Message{ConversationID: conv.ID, Direction: store.DirectionOut, AuthorKind: "operator", Author: "ann",
				Text: text, ProviderID: providerID, Jobs: []store.Job{{Kind: "channel.send", Limiter: "telegram:bot-1", Payload: []byte(`{"chat":"42"}`)}}}
		}
		m, _, err := s.AppendMessage(ctx, "telegram", reply("hello", ""))
		if err != nil {
			t.Fatal(err)
		}
		key := "channel.send/message/" + strconv.FormatInt(m.ID, 10)
		j, err := s.Job(ctx, key)
		if err != nil {
			t.Fatalf("the reply's job is not stored under %s: %v", key, err)
		}
		if j.Key != conv.ID || j.MessageID != m.ID || j.Limiter != "telegram:bot-1" || string(j.Payload) != `{"chat":"42"}` || j.State != store.JobPending {
			t.Errorf("stored job %+v", j)
		}

		// A message that is not stored enqueues nothing: its transaction rolls back.
		if _, err := s.Transition(ctx, store.Transition{ID: conv.ID, Version: conv.Version,
			Change: func(c *store.Conversation) { c.State = store.StateClosed }}); err != nil {
			t.Fatal(err)
		}
		if _, _, err := s.AppendMessage(ctx, "telegram", reply("too late", "")); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("appending to a closed conversation: %v", err)
		}
		stats, err := s.JobStats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(stats) != 1 || stats[0].Pending != 1 {
			t.Errorf("pending jobs %+v, want only the first reply's", stats)
		}

		// The worker sends it, with the job the store gave it.
		got := make(chan store.Job, 1)
		start(t, s, outbox.Options{}, map[string]outbox.Kind{"channel.send": {Handle: func(_ context.Context, j store.Job) error { got <- j; return nil }}})
		select {
		case j := <-got:
			if j.MessageID != m.ID || j.Attempts != 1 {
				t.Errorf("handler got %+v", j)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the reply's job was not sent")
		}
	})
}

func TestAProviderRetryOfAnInboundMessageEnqueuesNothingTwice(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		conv := conversation(t, s, "conv-2")
		in := store.Message{ConversationID: conv.ID, Direction: store.DirectionIn, AuthorKind: "contact", Text: "hi", ProviderID: "update-7",
			Jobs: []store.Job{{Kind: "notify.deliver", Key: "ann", IdempotencyKey: "first-message/conv-2", Payload: []byte(`{}`)}}}
		for range 2 {
			if _, _, err := s.AppendMessage(ctx, "telegram", in); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.Enqueue(ctx, in.Jobs...); err != nil || n != 0 {
			t.Errorf("enqueueing the delivery again = %d, %v; want it known already", n, err)
		}
		if j, err := s.Job(ctx, "first-message/conv-2"); err != nil || j.Key != "ann" || j.Kind != "notify.deliver" {
			t.Errorf("delivery job %+v, %v", j, err)
		}
	})
}

// TestWakesWithoutPolling: with polling an hour apart, a committed job is sent because
// the commit wakes the worker (in-process on SQLite, NOTIFY on PostgreSQL), and a retry
// because the worker sets a timer for it.
func TestWakesWithoutPolling(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		conv := conversation(t, s, "conv-3")
		rec := newRecorder(func(j store.Job, attempt int) error {
			if j.IdempotencyKey == "retried" && attempt == 1 {
				return outbox.RetryAfter(errors.New("429"), 200*time.Millisecond)
			}
			return nil
		})
		start(t, s, outbox.Options{PollInterval: time.Hour}, map[string]outbox.Kind{"channel.send": {Handle: rec.handle}})
		time.Sleep(100 * time.Millisecond) // the worker has looked and found nothing
		for _, tc := range []struct {
			name    string
			enqueue func() error
		}{
			{"reply", func() error {
				_, _, err := s.AppendMessage(ctx, "telegram", store.Message{ConversationID: conv.ID, Direction: store.DirectionOut,
					AuthorKind: "operator", Text: "hi", Jobs: []store.Job{{Kind: "channel.send", IdempotencyKey: "reply"}}})
				return err
			}},
			{"retried", func() error {
				_, err := s.Enqueue(ctx, store.Job{Kind: "channel.send", Key: "ann", IdempotencyKey: "retried"})
				return err
			}},
		} {
			if err := tc.enqueue(); err != nil {
				t.Fatal(err)
			}
			eventually(t, 10*time.Second, func() bool { rec.mu.Lock(); defer rec.mu.Unlock(); return rec.sent[tc.name] == 1 },
				"%s: not sent within 10s while polling is an hour apart", tc.name)
		}
	})
}

// TestAMessageGivenUpOnIsMarkedFailedWithItsJob: the failed delivery state of a
// message whose send was given up on is recorded by the transaction that records the
// job failed, with the reason.
func TestAMessageGivenUpOnIsMarkedFailedWithItsJob(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		conv := conversation(t, s, "conv-failed")
		m, _, err := s.AppendMessage(ctx, "telegram", store.Message{ConversationID: conv.ID, Direction: store.DirectionOut,
			AuthorKind: "operator", Text: "hi", Delivery: store.DeliveryQueued,
			Jobs: []store.Job{{Kind: "channel.send", IdempotencyKey: "doomed"}}})
		if err != nil {
			t.Fatal(err)
		}
		start(t, s, outbox.Options{PollInterval: 50 * time.Millisecond}, map[string]outbox.Kind{"channel.send": {
			Handle: func(context.Context, store.Job) error {
				return outbox.Permanent(errors.New("the bot was blocked by the user"))
			},
			FailedDelivery: func(j store.Job, reason string) *store.DeliveryUpdate {
				return &store.DeliveryUpdate{MessageID: j.MessageID, State: store.DeliveryFailed, Error: reason}
			}}})
		eventually(t, 10*time.Second, func() bool {
			j, err := s.Job(ctx, "doomed")
			return err == nil && j.State == store.JobFailed
		}, "the job was not given up on")
		// Recorded with the job: nothing is left to happen after it.
		msgs, err := s.Messages(ctx, conv.ID, m.Seq-1, 1)
		if err != nil || len(msgs) != 1 {
			t.Fatalf("messages %v, %v", msgs, err)
		}
		if got := msgs[0]; got.Delivery != store.DeliveryFailed || !strings.Contains(got.DeliveryError, "blocked") {
			t.Errorf("delivery %q (%q), want failed with the reason", got.Delivery, got.DeliveryError)
		}
	})
}
