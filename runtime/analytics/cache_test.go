package analytics_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// countingStore serves facts from a list and counts the days read.
type countingStore struct {
	facts []store.ChatFacts
	reads int
}

func (s *countingStore) ChatFacts(_ context.Context, from, to time.Time, queue string) ([]store.ChatFacts, error) {
	s.reads++
	var out []store.ChatFacts
	for _, f := range s.facts {
		if !f.CreatedAt.Before(from) && f.CreatedAt.Before(to) && (queue == "" || f.Queue == queue) {
			out = append(out, f)
		}
	}
	return out, nil
}

// TestCacheReadsOnlyChangedDays: a report reads each day once; a change to a
// conversation makes its day (and only it) be read again; ForgetAll drops every day.
func TestCacheReadsOnlyChangedDays(t *testing.T) {
	day1 := time.Date(2030, 5, 6, 0, 0, 0, 0, time.UTC)
	st := &countingStore{facts: []store.ChatFacts{
		{CreatedAt: day1.Add(time.Hour), Queue: "a"},
		{CreatedAt: day1.Add(25 * time.Hour), Queue: "b"},
	}}
	c := analytics.NewCache(st)
	r, err := analytics.ParseRange("2030-05-06", "2030-05-07", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name      string
		before    func()
		queue     string
		wantReads int
		wantFacts int
	}{
		{"first report: both days read", nil, "", 2, 2},
		{"again: none", nil, "", 2, 2},
		{"one queue: from memory", nil, "b", 2, 1},
		{"a chat of the second day changed", func() {
			st.facts = append(st.facts, store.ChatFacts{CreatedAt: day1.Add(26 * time.Hour), Queue: "a"})
			c.Forget(day1.Add(26 * time.Hour))
		}, "", 3, 3},
		{"everything forgotten", c.ForgetAll, "a", 5, 2},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		rep, err := c.Report(context.Background(), r, s.queue, []string{"a", "b"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.reads != s.wantReads || rep.Total.Chats != s.wantFacts {
			t.Errorf("%s: %d days read so far and %d chats, want %d and %d", s.name, st.reads, rep.Total.Chats, s.wantReads, s.wantFacts)
		}
	}
}

// blockingStore holds every read until released, so a test can change days while
// one is read.
type blockingStore struct {
	countingStore
	started, release chan struct{}
}

func (s *blockingStore) ChatFacts(ctx context.Context, from, to time.Time, queue string) ([]store.ChatFacts, error) {
	s.started <- struct{}{}
	<-s.release
	return s.countingStore.ChatFacts(ctx, from, to, queue)
}

// TestCacheKeepsADayReadWhileOthersChanged: a day read while a conversation of
// another day changed is kept (in a busy LiveChat something changes during every
// read); one read while a conversation of its own day changed is read again.
func TestCacheKeepsADayReadWhileOthersChanged(t *testing.T) {
	day := time.Date(2030, 5, 6, 0, 0, 0, 0, time.UTC)
	r, err := analytics.ParseRange("2030-05-06", "2030-05-06", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		changedAt time.Time
		kept      bool
	}{
		{"another day changed during the read", day.Add(30 * time.Hour), true},
		{"the day read changed during the read", day.Add(2 * time.Hour), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &blockingStore{countingStore: countingStore{facts: []store.ChatFacts{{CreatedAt: day.Add(time.Hour), Queue: "a"}}},
				started: make(chan struct{}), release: make(chan struct{})}
			c := analytics.NewCache(st)
			done := make(chan error)
			go func() {
				_, err := c.Report(context.Background(), r, "", []string{"a"}, nil)
				done <- err
			}()
			<-st.started
			c.Forget(tc.changedAt)
			close(st.release)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			go func() { // a second report reads the day again only if it was not kept
				for range st.started {
				}
			}()
			if _, err := c.Report(context.Background(), r, "", []string{"a"}, nil); err != nil {
				t.Fatal(err)
			}
			close(st.started)
			if kept := st.reads == 1; kept != tc.kept {
				t.Errorf("%d reads: kept %v, want %v", st.reads, kept, tc.kept)
			}
		})
	}
}
