package sqlstore_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// jobBackends opens SQLite and PostgreSQL stores on fresh databases; each open reaches
// the same database again.
func jobBackends(t *testing.T) []struct {
	name string
	open func(t *testing.T, now func() time.Time) *sqlstore.DB
} {
	dir, uri := t.TempDir(), pgtest.Database(t, pg)
	closing := func(t *testing.T, s *sqlstore.DB, err error) *sqlstore.DB {
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	return []struct {
		name string
		open func(t *testing.T, now func() time.Time) *sqlstore.DB
	}{
		{"SQLite", func(t *testing.T, now func() time.Time) *sqlstore.DB {
			s, err := sqlstore.OpenSQLite(context.Background(), dir, sqlstore.Options{Now: now})
			return closing(t, s, err)
		}},
		{"PostgreSQL", func(t *testing.T, now func() time.Time) *sqlstore.DB {
			s, err := sqlstore.OpenPostgres(context.Background(), uri, sqlstore.Options{Now: now})
			return closing(t, s, err)
		}},
	}
}

func ids(jobs []store.Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.IdempotencyKey
	}
	return out
}

// TestJobLifecycle walks jobs through claims, leases, retries and pruning on a clock
// the test moves.
func TestJobLifecycle(t *testing.T) {
	for _, b := range jobBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := &fakeClock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
			s := b.open(t, clk.now)
			send := []string{"channel.send"}
			jobs := []store.Job{
				{Kind: "channel.send", Key: "a", IdempotencyKey: "a1"},
				{Kind: "channel.send", Key: "a", IdempotencyKey: "a2"},
				{Kind: "channel.send", Key: "b", IdempotencyKey: "b1"},
				{Kind: "notify.deliver", Key: "ann", IdempotencyKey: "n1"},
				{Kind: "channel.send", Key: "d", IdempotencyKey: "d1", RunAt: clk.now().Add(time.Hour)},
			}
			if n, err := s.Enqueue(ctx, jobs...); err != nil || n != len(jobs) {
				t.Fatalf("Enqueue = %d, %v", n, err)
			}
			claim := func(owner string, want ...string) []store.Job {
				t.Helper()
				got, err := s.ClaimJobs(ctx, store.JobClaim{Owner: owner, Kinds: send, Limit: 10, Lease: 30 * time.Second})
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(ids(got), want) {
					t.Fatalf("%s claimed %v, want %v", owner, ids(got), want)
				}
				for _, j := range got {
					if j.Owner != owner || !j.RunAt.Equal(clk.now().Add(30*time.Second)) {
						t.Fatalf("claimed %+v: want it leased to %s for 30s", j, owner)
					}
				}
				return got
			}
			finish := func(r store.JobResult, want bool) {
				t.Helper()
				applied, err := s.FinishJobs(ctx, []store.JobResult{r})
				if err != nil || applied[0] != want {
					t.Fatalf("FinishJobs(%+v) = %v, %v; want applied %v", r, applied, err, want)
				}
			}
			attempts := func(key string, want int) {
				t.Helper()
				if j, err := s.Job(ctx, key); err != nil || j.Attempts != want {
					t.Fatalf("%s: %d attempts (%v), want %d", key, j.Attempts, err, want)
				}
			}

			// Heads only, of the kinds asked, and due.
			first := claim("w1", "a1", "b1")
			claim("w2")
			if at, ok, err := s.NextJobAt(ctx, send); err != nil || !ok || !at.Equal(clk.now().Add(30*time.Second)) {
				t.Fatalf("NextJobAt = %s, %v, %v; want the leases' end", at, ok, err)
			}
			// Only the owner finishes; done hands the key on, a retry keeps it.
			finish(store.JobResult{ID: first[0].ID, Owner: "w2", Key: "a", State: store.JobDone}, false)
			finish(store.JobResult{ID: first[0].ID, Owner: "w1", Key: "a", State: store.JobDone}, true)
			finish(store.JobResult{ID: first[1].ID, Owner: "w1", Key: "b", State: store.JobPending,
				RunAt: clk.now().Add(10 * time.Second), Error: "503"}, true)
			second := claim("w2", "a2")
			clk.advance(10 * time.Second)
			claim("w2", "b1")
			attempts("b1", 2)

			// A lease that runs out is claimed again; the old owner's result is ignored.
			clk.advance(31 * time.Second)
			third := claim("w3", "a2", "b1")
			finish(store.JobResult{ID: second[0].ID, Owner: "w2", Key: "a", State: store.JobDone}, false)
			attempts("a2", 2)
			// A job handed back unsent gets its attempt back.
			finish(store.JobResult{ID: third[0].ID, Owner: "w3", Key: "a", State: store.JobPending, Unattempted: true}, true)
			attempts("a2", 1)
			finish(store.JobResult{ID: third[1].ID, Owner: "w3", Key: "b", State: store.JobFailed, Error: "403 Forbidden"}, true)
			if j, _ := s.Job(ctx, "b1"); j.State != store.JobFailed || j.LastError != "403 Forbidden" || j.FinishedAt == nil {
				t.Fatalf("failed job %+v", j)
			}

			stats, err := s.JobStats(ctx)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
			want := []store.JobStats{{Kind: "channel.send", Pending: 2, OldestCreatedAt: start}, {Kind: "notify.deliver", Pending: 1, OldestCreatedAt: start}}
			if !slices.EqualFunc(stats, want, func(a, b store.JobStats) bool {
				return a.Kind == b.Kind && a.Pending == b.Pending && a.OldestCreatedAt.Equal(b.OldestCreatedAt)
			}) {
				t.Fatalf("JobStats = %+v, want %+v", stats, want)
			}

			// Finished jobs go after the retention, and their keys may come back.
			clk.advance(time.Hour)
			if n, err := s.PruneJobs(ctx, clk.now().Add(-30*time.Minute), 10); err != nil || n != 2 {
				t.Fatalf("PruneJobs = %d, %v; want the done and the failed job", n, err)
			}
			if n, err := s.Enqueue(ctx, jobs[0]); err != nil || n != 1 {
				t.Fatalf("enqueueing a pruned job's key again = %d, %v", n, err)
			}
		})
	}
}

// TestLeasesOfAnEarlierProcess: SQLite has one process, so what an earlier one held is
// free at once; on PostgreSQL another replica may still be sending, so its lease holds.
func TestLeasesOfAnEarlierProcess(t *testing.T) {
	for _, b := range jobBackends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			before := b.open(t, nil)
			if _, err := before.Enqueue(ctx, store.Job{Kind: "channel.send", Key: "a", IdempotencyKey: "a1"}); err != nil {
				t.Fatal(err)
			}
			c := store.JobClaim{Owner: "w", Kinds: []string{"channel.send"}, Limit: 1, Lease: time.Hour}
			if got, err := before.ClaimJobs(ctx, c); err != nil || len(got) != 1 {
				t.Fatalf("claim = %v, %v", got, err)
			}
			_ = before.Close()
			after := b.open(t, nil)
			got, err := after.ClaimJobs(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			if wantRescued := b.name == "SQLite"; (len(got) == 1) != wantRescued {
				t.Fatalf("claimed %v after a restart; want it rescued: %v", ids(got), wantRescued)
			}
		})
	}
}
