package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/notify/webhook"
)

// hookLog records the sample policy's team webhook calls: by conversation for
// offline messages, and every call's idempotency key.
type hookLog struct {
	mu      sync.Mutex
	offline map[string]bool // conversations whose OfflineMessage arrived
	keys    map[string]int  // idempotency key → calls
	// keyOf is the key each OfflineMessage conversation came with.
	keyOf map[string]string
	calls int
}

func (h *hookLog) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var v struct {
		Event string `json:"event"`
		Data  struct {
			ConversationID string `json:"conversationID"`
		} `json:"data"`
	}
	_ = json.Unmarshal(body, &v)
	key := r.Header.Get(webhook.IdempotencyKeyHeader)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	h.keys[key]++
	if v.Event == "OfflineMessage" {
		if prev, ok := h.keyOf[v.Data.ConversationID]; ok && prev != key {
			h.keyOf[v.Data.ConversationID] = prev + " and " + key // a repeat under another key: the test fails
		} else {
			h.keyOf[v.Data.ConversationID] = key
		}
		h.offline[v.Data.ConversationID] = true
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *hookLog) offlineCount() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.offline)
}

// TestNotificationsSurviveKill9 kills the runtime while deliveries are in flight and
// events are still to be dispatched: after the restart every offline message has
// reached the team webhook at least once, every repeat with the idempotency key of
// the first, and the repeats are counted.
func TestNotificationsSurviveKill9(t *testing.T) {
	dir := manifestsDir(t)
	notifySetup(t, dir)
	hooks := &hookLog{offline: map[string]bool{}, keys: map[string]int{}, keyOf: map[string]string{}}
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second) // deliveries stay in flight a while
		hooks.ServeHTTP(w, r)
	})
	receiver := httptest.NewServer(slow)
	t.Cleanup(receiver.Close)
	edit(t, dir, "notificationpolicy.yaml", "url: https://crm.example.com/hooks/notifications", "url: "+receiver.URL)
	dataDir, addr := t.TempDir(), freeAddr(t)
	cmd, rt := runtimeProcess(t, dir, dataDir, addr)

	const visitors = 120
	convs := map[string]bool{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range visitors {
		wg.Go(func() {
			v := newVisitor(t, rt, fmt.Sprintf("Hello %d, anyone there?", i))
			mu.Lock()
			convs[v.conversation] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	for deadline := time.Now().Add(15 * time.Second); hooks.offlineCount() < 10; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no offline message reached the webhook")
		}
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	before := hooks.offlineCount()
	runtimeProcess(t, dir, dataDir, addr)

	for deadline := time.Now().Add(60 * time.Second); hooks.offlineCount() < visitors; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %d of %d offline messages reached the webhook", hooks.offlineCount(), visitors)
		}
	}
	time.Sleep(500 * time.Millisecond)
	hooks.mu.Lock()
	defer hooks.mu.Unlock()
	repeats := 0
	for _, n := range hooks.keys {
		repeats += n - 1
	}
	t.Logf("killed with %d of %d offline messages delivered; after the restart all arrived; %d webhook calls were repeats of an earlier one, each with its key",
		before, visitors, repeats)
	for conv := range convs {
		if !hooks.offline[conv] {
			t.Fatalf("conversation %s: no offline message", conv)
		}
		if key := hooks.keyOf[conv]; len(key) > 80 || key == "" {
			t.Fatalf("conversation %s was notified under keys %q: a repeat must carry the first key", conv, key)
		}
	}
}
