package sqlstore_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestTalliesCountOutcomesDurably finishes jobs of two tallies through two handles
// (two replicas on PostgreSQL, a restart on SQLite): every handle reads the same
// counts, the last error and delivery time, and pruning the finished jobs keeps them.
func TestTalliesCountOutcomesDurably(t *testing.T) {
	for _, b := range jobBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := &fakeClock{t: time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC)}
			a := b.open(t, clk.now)
			var jobs []store.Job
			for i := range 5 {
				jobs = append(jobs, store.Job{Kind: "notify.deliver", Key: fmt.Sprintf("k%d", i), IdempotencyKey: fmt.Sprintf("j%d", i),
					Tally: "notify/mail"})
			}
			jobs = append(jobs, store.Job{Kind: "notify.deliver", Key: "other", IdempotencyKey: "o1", Tally: "notify/hooks"},
				store.Job{Kind: "channel.send", Key: "chat", IdempotencyKey: "c1"})
			if _, err := a.Enqueue(ctx, jobs...); err != nil {
				t.Fatal(err)
			}
			claimed, err := a.ClaimJobs(ctx, store.JobClaim{Owner: "w", Kinds: []string{"notify.deliver", "channel.send"}, Limit: 10, Lease: time.Minute})
			if err != nil || len(claimed) != 7 {
				t.Fatalf("claimed %d jobs, %v", len(claimed), err)
			}
			byKey := map[string]store.Job{}
			for _, j := range claimed {
				byKey[j.IdempotencyKey] = j
			}
			result := func(key string, state store.JobState, errText string, runAt time.Time) store.JobResult {
				j := byKey[key]
				return store.JobResult{ID: j.ID, Owner: "w", Key: j.Key, State: state, Error: errText, RunAt: runAt}
			}
			clk.advance(time.Second)
			doneAt := clk.now()
			if _, err := a.FinishJobs(ctx, []store.JobResult{
				result("j0", store.JobDone, "", time.Time{}),
				result("j1", store.JobDone, "", time.Time{}),
				result("j2", store.JobFailed, "535 5.7.8 Authentication failed", time.Time{}),
				result("o1", store.JobDone, "", time.Time{}),
				result("c1", store.JobDone, "", time.Time{}),
			}); err != nil {
				t.Fatal(err)
			}
			clk.advance(time.Second)
			retriedAt := clk.now()
			// A retry leaves the job pending and its error the last one; a rate limit's
			// give-back (unattempted, no error) changes nothing.
			if _, err := a.FinishJobs(ctx, []store.JobResult{
				result("j3", store.JobPending, "421 try again later", clk.now().Add(time.Minute)),
				{ID: byKey["j4"].ID, Owner: "w", Key: "k4", State: store.JobPending, Unattempted: true},
			}); err != nil {
				t.Fatal(err)
			}
			want := []store.Tally{
				{Name: "notify/hooks", Done: 1, LastDoneAt: doneAt},
				{Name: "notify/mail", Done: 2, Failed: 1, Pending: 2, OldestPending: time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC),
					LastDoneAt: doneAt, LastError: "421 try again later", LastErrorAt: retriedAt},
			}
			check := func(s interface {
				Tallies(context.Context, string) ([]store.Tally, error)
			}, when string) {
				t.Helper()
				got, err := s.Tallies(ctx, "notify/")
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s: tallies\n got %+v\nwant %+v", when, got, want)
				}
			}
			check(a, "after the outcomes")
			if _, err := a.PruneJobs(ctx, clk.now().Add(time.Hour), 100); err != nil {
				t.Fatal(err)
			}
			check(b.open(t, clk.now), "read by another handle after pruning")
			if got, err := a.Tallies(ctx, "nothing/"); err != nil || len(got) != 0 {
				t.Errorf("another prefix: %+v, %v", got, err)
			}
		})
	}
}

// TestKeyedEventsAreRecordedOnce records the same keyed event from two handles at
// once, many times over: each key is recorded once; events without keys are all kept.
func TestKeyedEventsAreRecordedOnce(t *testing.T) {
	for _, b := range jobBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			handles := []eventStore{b.open(t, nil), b.open(t, nil)}
			var wg sync.WaitGroup
			for _, h := range handles {
				wg.Go(func() {
					for day := range 10 {
						key := fmt.Sprintf("DailyAnalytics/2030-05-%02d", day+1)
						if err := h.AppendEvents(ctx, store.Event{Type: "DailyAnalytics", Key: key}, store.Event{Type: "OperatorOnline"}); err != nil {
							t.Error(err)
						}
					}
				})
			}
			wg.Wait()
			got, _ := eventTypes(t, handles[0], 0)
			counts := map[string]int{}
			for _, typ := range got {
				counts[typ]++
			}
			if counts["DailyAnalytics"] != 10 || counts["OperatorOnline"] != 20 {
				t.Errorf("recorded %v, want 10 DailyAnalytics (one per key) and 20 OperatorOnline", counts)
			}
		})
	}
}

// TestChannelFlagChangesAreEventsOnce: the first value of a flag records nothing, a
// change records its event once however many handles report it, and a repeat nothing.
func TestChannelFlagChangesAreEventsOnce(t *testing.T) {
	for _, b := range jobBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			handles := []eventStore{b.open(t, nil), b.open(t, nil)}
			steps := []struct {
				flag  store.ChannelFlag
				value bool
				want  int // events recorded by all handles together
			}{
				{store.ChannelConnected, true, 0},
				{store.ChannelConnected, true, 0},
				{store.ChannelConnected, false, 1},
				{store.ChannelActive, true, 0},
				{store.ChannelActive, false, 1},
				{store.ChannelConnected, false, 0},
				{store.ChannelConnected, true, 1},
			}
			var last int64
			for i, s := range steps {
				var wg sync.WaitGroup
				var mu sync.Mutex
				changed := 0
				for _, h := range handles {
					wg.Go(func() {
						ok, err := h.SetChannelFlag(ctx, "telegram", s.flag, s.value, store.Event{Type: "ChannelChanged", Detail: fmt.Sprint(i)})
						if err != nil {
							t.Error(err)
						}
						if ok {
							mu.Lock()
							changed++
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				var got []string
				got, last = eventTypes(t, handles[0], last)
				if len(got) != s.want || changed != s.want {
					t.Errorf("step %d (%s=%v): %d events recorded, %d handles told of a change; want %d", i, s.flag, s.value, len(got), changed, s.want)
				}
			}
		})
	}
}
