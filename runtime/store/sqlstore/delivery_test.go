package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestDeliveryStatesOnlyMoveForward: a sent message's provider id finds it again,
// news arriving out of order never moves it back, a watermark reaches every earlier
// message to the contact, and each change is announced on the feed with the queue.
func TestDeliveryStatesOnlyMoveForward(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			conv := seedConversation(t, s, store.StateActive)
			announced := make(chan store.Message, 64)
			cancel := s.Subscribe(func(c store.Change) {
				if c.Kind == store.ChangeDelivery {
					announced <- *c.Message
				}
			})
			defer cancel()
			out := func(text string, at time.Time) store.Message {
				m, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionOut,
					AuthorKind: "operator", Author: "alice", Text: text, Delivery: store.DeliveryQueued, CreatedAt: at})
				if err != nil {
					t.Fatal(err)
				}
				return m
			}
			t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
			first, second, third := out("one", t0), out("two", t0.Add(time.Minute)), out("three", t0.Add(2*time.Minute))
			plain, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionOut,
				AuthorKind: "operator", Text: "a widget reply has no delivery state", CreatedAt: t0})
			if err != nil {
				t.Fatal(err)
			}

			steps := []struct {
				name    string
				update  store.DeliveryUpdate
				changed []int64
			}{
				{"sent, recording the provider's id", store.DeliveryUpdate{MessageID: first.ID, Channel: "website", State: store.DeliverySent, SetProviderID: "p1"}, []int64{first.ID}},
				{"the second sent", store.DeliveryUpdate{MessageID: second.ID, Channel: "website", State: store.DeliverySent, SetProviderID: "p2"}, []int64{second.ID}},
				{"read by provider id", store.DeliveryUpdate{Channel: "website", ProviderID: "p1", State: store.DeliveryRead}, []int64{first.ID}},
				{"a late delivered never moves read back", store.DeliveryUpdate{Channel: "website", ProviderID: "p1", State: store.DeliveryDelivered}, nil},
				{"a failure after read is ignored", store.DeliveryUpdate{Channel: "website", ProviderID: "p1", State: store.DeliveryFailed, Error: "x"}, nil},
				{"an id of another channel finds nothing", store.DeliveryUpdate{Channel: "telegram", ProviderID: "p2", State: store.DeliveryRead}, nil},
				{"an unknown id finds nothing", store.DeliveryUpdate{Channel: "website", ProviderID: "nope", State: store.DeliveryRead}, nil},
				{"a watermark delivers every earlier message", store.DeliveryUpdate{Channel: "website", Contact: "c1", Watermark: t0.Add(90 * time.Second),
					State: store.DeliveryDelivered}, []int64{second.ID}},
				{"a failure with the provider's reason", store.DeliveryUpdate{MessageID: third.ID, State: store.DeliveryFailed, Error: "the user blocked the bot"}, []int64{third.ID}},
				{"the widget reply stays without a state", store.DeliveryUpdate{MessageID: plain.ID, State: store.DeliverySent}, nil},
			}
			for _, st := range steps {
				got, err := s.UpdateDelivery(ctx, st.update)
				if err != nil {
					t.Fatalf("%s: %v", st.name, err)
				}
				var ids []int64
				for _, m := range got {
					ids = append(ids, m.ID)
					if m.Queue != "support" {
						t.Fatalf("%s: changed message without its queue: %+v", st.name, m)
					}
				}
				if len(ids) != len(st.changed) || (len(ids) > 0 && ids[0] != st.changed[0]) {
					t.Fatalf("%s: changed %v, want %v", st.name, ids, st.changed)
				}
			}
			msgs, err := s.Messages(ctx, conv.ID, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			want := map[int64]store.DeliveryState{first.ID: store.DeliveryRead, second.ID: store.DeliveryDelivered, third.ID: store.DeliveryFailed, plain.ID: ""}
			for _, m := range msgs {
				if m.Delivery != want[m.ID] {
					t.Errorf("message %q is %q, want %q", m.Text, m.Delivery, want[m.ID])
				}
			}
			if msgs[0].ProviderID != "p1" || msgs[2].DeliveryError != "the user blocked the bot" {
				t.Errorf("provider id %q, failure reason %q", msgs[0].ProviderID, msgs[2].DeliveryError)
			}
			deadline := time.After(10 * time.Second)
			for n := 0; n < 5; n++ {
				select {
				case <-announced:
				case <-deadline:
					t.Fatalf("%d of 5 delivery changes announced", n)
				}
			}
		})
	}
}

// TestContactsOptOutAndLookUpByExternalID.
func TestContactsOptOutAndLookUpByExternalID(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			c, err := s.UpsertContact(ctx, store.Contact{ID: "k1", Channel: "sms", ExternalID: "+15550001111", Phone: "+15550001111"})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.SetOptedOut(ctx, c.ID, true); err != nil {
				t.Fatal(err)
			}
			got, err := s.ContactByExternalID(ctx, "sms", "+15550001111")
			if err != nil || !got.OptedOut || got.ID != "k1" {
				t.Fatalf("after STOP: %+v %v", got, err)
			}
			if err := s.SetOptedOut(ctx, c.ID, false); err != nil {
				t.Fatal(err)
			}
			if got, _ := s.Contact(ctx, "k1"); got.OptedOut {
				t.Fatal("still opted out after START")
			}
			if err := s.SetOptedOut(ctx, "nobody", true); err != store.ErrNotFound {
				t.Fatalf("opting out an unknown contact: %v", err)
			}
			if _, err := s.ContactByExternalID(ctx, "telegram", "+15550001111"); err != store.ErrNotFound {
				t.Fatalf("another channel's contact: %v", err)
			}
		})
	}
}
