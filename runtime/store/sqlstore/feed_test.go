package sqlstore

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestChangeFeedIsBounded pushes far more changes than the feed holds to a subscriber
// that is stuck: the queue never grows past its bound, the writer waits, and once the
// subscriber moves every change arrives in order.
func TestChangeFeedIsBounded(t *testing.T) {
	release := make(chan struct{})
	var mu sync.Mutex
	var got []string
	f := newChangeFeed(func(c store.Change) {
		<-release
		mu.Lock()
		got = append(got, c.Operator.Name)
		mu.Unlock()
	})
	f.max = 4
	const n = 50
	var pushed atomic.Int32
	go func() {
		for i := range n {
			f.push(store.Change{Kind: store.ChangeOperator, Operator: &store.Operator{Name: string(rune('a' + i%26))}})
			pushed.Add(1)
		}
	}()
	time.Sleep(100 * time.Millisecond)
	f.mu.Lock()
	queued := len(f.queue)
	f.mu.Unlock()
	// At most one batch is with the stuck subscriber and max wait behind it.
	if p := int(pushed.Load()); p > 2*f.max || queued > f.max {
		t.Fatalf("with the subscriber stuck, %d pushes returned and %d changes wait; the bound is %d", p, queued, f.max)
	}
	close(release)
	for deadline := time.Now().Add(5 * time.Second); pushed.Load() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d pushes returned after the subscriber moved on", pushed.Load(), n)
		}
	}
	f.close()
	if len(got) != n {
		t.Fatalf("delivered %d changes, want %d", len(got), n)
	}
	for i, name := range got {
		if want := string(rune('a' + i%26)); name != want {
			t.Fatalf("change %d is %q, want %q: out of order", i, name, want)
		}
	}
}

// TestChangeFeedCloseReleasesWaitingWriters closes a full feed: a writer waiting for
// room returns instead of hanging.
func TestChangeFeedCloseReleasesWaitingWriters(t *testing.T) {
	release := make(chan struct{})
	f := newChangeFeed(func(store.Change) { <-release })
	f.max = 1
	done := make(chan struct{})
	go func() {
		for range 5 {
			f.push(store.Change{Kind: store.ChangeResync})
		}
		close(done)
	}()
	time.Sleep(50 * time.Millisecond)
	go f.close()
	time.Sleep(50 * time.Millisecond)
	close(release)
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a writer waiting on a full feed still waits after close")
	}
}
