package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// testPaging: listing page by page with the last conversation's key as the cursor
// returns every conversation exactly once, in order, while new ones start between
// pages; conversations queued in the same millisecond, and one never queued (a bot's),
// keep their places.
func testPaging(t *testing.T, open Opener) {
	s := open(t)
	start := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	create := func(id string, queued *time.Time, state store.State) {
		t.Helper()
		c := contact(t, s, "c-"+id)
		must[store.Conversation](t)(s.CreateConversation(ctx, store.Conversation{ID: id, Channel: "website", Queue: "first-line",
			ContactID: c.ID, State: state, QueuedAt: queued}, store.Activity{Type: "ChatStarted", Actor: c.ID}))
	}
	want := map[string]bool{}
	for i := range 23 {
		at := start.Add(time.Duration(i/3) * time.Millisecond) // three to a millisecond
		id := fmt.Sprintf("p%02d", 22-i)                       // ids against the order of time
		create(id, &at, store.StateQueued)
		want[id] = true
	}
	create("bot", nil, store.StateBot) // placed by when it started: now, after the rest
	want["bot"] = true

	seen := map[string]int{}
	var last *store.Conversation
	var pages int
	for {
		f := store.ConversationFilter{Queues: []string{"first-line"}, Limit: 5}
		if last != nil {
			k := last.Key()
			f.After = &k
		}
		page := must[[]store.Conversation](t)(s.Conversations(ctx, f))
		if len(page) == 0 {
			break
		}
		for _, c := range page {
			seen[c.ID]++
			if last != nil && !before(last.Key(), c.Key()) {
				t.Errorf("%s listed after %s, out of order", c.ID, last.ID)
			}
			last = &c
		}
		if pages++; pages <= 3 {
			id := fmt.Sprintf("new%d", pages) // starts while the list is paged
			now := time.Now()
			create(id, &now, store.StateQueued)
			want[id] = true
		}
		if pages > 20 {
			t.Fatal("paging does not end")
		}
	}
	for id := range want {
		if seen[id] != 1 {
			t.Errorf("%s listed %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if !want[id] {
			t.Errorf("%s listed %d times, but it is no conversation of the queue", id, n)
		}
	}
}

// before reports whether a comes before b in the order of the conversation list.
func before(a, b store.ConversationKey) bool {
	if !a.At.Equal(b.At) {
		return a.At.Before(b.At)
	}
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}
