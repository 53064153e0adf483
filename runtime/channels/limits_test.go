package channels_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
)

// TestTelegramChatRateHolds: replies to one chat leave at about one a second after a
// short burst, as Telegram asks, whatever the operator's pace.
func TestTelegramChatRateHolds(t *testing.T) {
	r := newRig(t, openSQLite(t), rigOptions{})
	ctx := context.Background()
	conv := r.chatWith(t, 77, "alice")
	const n = 6
	for i := range n {
		if _, err := r.engine.Reply(ctx, "alice", conv, fmt.Sprint("reply ", i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every reply sent", 15*time.Second, func() bool { return len(r.fake.Sent()) == n })
	sent := r.fake.Sent()
	// A burst of 3, then one a second: the last three take at least two seconds.
	if spread := sent[n-1].At.Sub(sent[2].At); spread < 1800*time.Millisecond {
		t.Fatalf("replies 3 to 6 went out within %v: the per-chat limit did not hold", spread)
	}
}

// TestSwitchedOffChannelStopsPolling: with spec.active false the runtime takes no
// updates; switched on again, it fetches what waited.
func TestSwitchedOffChannelStopsPolling(t *testing.T) {
	r := newRig(t, openSQLite(t), rigOptions{})
	ctx := context.Background()
	r.chatWith(t, 88, "alice") // polling works
	off := clone(r.cfg)
	telegramChannel(off).Active = false
	r.mg.Apply(ctx, off, secretOf)
	time.Sleep(300 * time.Millisecond) // the poll in flight ends
	// The last update stored may still be unconfirmed (Telegram confirms an update with
	// the next getUpdates): it waits too, and is stored once when it comes again.
	before := r.fake.Pending()
	r.fake.Queue(r.fake.TextUpdate(telegramfake.User{ID: 89, FirstName: "Late"}, "anyone there?"))
	time.Sleep(1500 * time.Millisecond)
	if got := r.fake.Pending(); got != before+1 {
		t.Fatalf("%d updates pending, want %d: a switched-off channel kept polling", got, before+1)
	}
	r.mg.Apply(ctx, r.cfg, secretOf)
	waitFor(t, "the waiting update fetched after switching on", 10*time.Second, func() bool { return r.fake.Pending() == 0 })
	if _, err := r.st.ContactByExternalID(ctx, "telegram", "89"); err != nil {
		t.Fatalf("the update that waited was not stored: %v", err)
	}
}
