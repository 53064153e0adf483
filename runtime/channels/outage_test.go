package channels_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestRepliesSurviveAProviderOutage: the Bot API answers 500 for a while; every reply
// queued meanwhile is delivered once it recovers, in order per chat, none twice.
func TestRepliesSurviveAProviderOutage(t *testing.T) {
	r := newRig(t, openSQLite(t), rigOptions{})
	ctx := context.Background()
	operators := []string{"alice", "alice", "bob", "bob", "bob", "carol", "carol"}
	convs := make([]string, len(operators))
	for i, op := range operators {
		convs[i] = r.chatWith(t, int64(1000+i), op)
	}
	r.fake.SetDown(true)
	const perChat = 6 // Telegram allows about one per second to a chat
	for n := range perChat {
		for i, op := range operators {
			if _, err := r.engine.Reply(ctx, op, convs[i], fmt.Sprintf("chat %d reply %02d", i, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	waitFor(t, "sends tried during the outage", 10*time.Second, func() bool { return r.fake.SendAttempts() >= 2*len(operators) })
	if len(r.fake.Sent()) != 0 {
		t.Fatal("the fake accepted sends while down")
	}
	r.fake.SetDown(false)
	total := perChat * len(operators)
	waitFor(t, "every reply delivered after the outage", 30*time.Second, func() bool { return len(r.fake.Sent()) >= total })
	time.Sleep(200 * time.Millisecond) // room for a duplicate to show up

	sent := r.fake.Sent()
	if len(sent) != total {
		t.Fatalf("%d messages reached Telegram, want %d: none twice", len(sent), total)
	}
	next := map[int64]int{}
	for _, s := range sent {
		i := int(s.ChatID - 1000)
		want := fmt.Sprintf("chat %d reply %02d", i, next[s.ChatID])
		if s.Text != want {
			t.Fatalf("chat %d got %q, want %q: out of order or duplicated", s.ChatID, s.Text, want)
		}
		next[s.ChatID]++
	}
	for i, conv := range convs {
		msgs, err := r.st.Messages(ctx, conv, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range msgs {
			if strings.HasPrefix(m.Text, "chat ") && (m.Delivery != "sent" || !strings.HasPrefix(m.ProviderID, strconv.Itoa(1000+i)+":")) {
				t.Fatalf("message %q: delivery %q provider id %q", m.Text, m.Delivery, m.ProviderID)
			}
		}
	}
}
