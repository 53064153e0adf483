package outbox_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// enqueueAll enqueues perKey jobs for each key, one job per transaction, and returns
// the idempotency keys in the order enqueued, by key.
func enqueueAll(t *testing.T, s store.Jobs, keys []string, perKey int) map[string][]string {
	t.Helper()
	want := map[string][]string{}
	for n := range perKey {
		for _, k := range keys {
			j := job(k, n)
			if _, err := s.Enqueue(ctx, j); err != nil {
				t.Fatal(err)
			}
			want[k] = append(want[k], j.IdempotencyKey)
		}
	}
	return want
}

func keysOf(prefix string, n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = fmt.Sprintf("%s-%02d", prefix, i)
	}
	return keys
}

func flatten(m map[string][]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v...)
	}
	return out
}

func TestCrashRecovery(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		first := open(t)
		want := enqueueAll(t, first, keysOf("conv", 40), 10)
		rec := newRecorder(nil)
		rec.delay = 2 * time.Millisecond
		// A short lease, so PostgreSQL rescues the dead worker's jobs quickly; SQLite
		// rescues them at once, its previous process being gone.
		opts := outbox.Options{Workers: 16, Lease: time.Second, MaxHold: 100 * time.Millisecond}
		kinds := map[string]outbox.Kind{"channel.send": {Handle: rec.handle, Timeout: 500 * time.Millisecond}}
		o := outbox.New(first, opts)
		if err := o.Handle("channel.send", kinds["channel.send"]); err != nil {
			t.Fatal(err)
		}
		o.Start()
		eventually(t, 30*time.Second, func() bool { return rec.sentCount() >= 100 }, "nothing sent")
		// The runtime goes down with sends in progress: their outcomes are never recorded.
		_ = first.Close()
		stop, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = o.Close(stop)
		cancel()
		before := rec.sentCount()

		second := open(t)
		start(t, second, opts, kinds)
		jobs := settled(t, second, flatten(want))
		rec.mu.Lock()
		defer rec.mu.Unlock()
		duplicates := 0
		for k, j := range jobs {
			if j.State != store.JobDone || rec.sent[k] == 0 {
				t.Errorf("%s: %s, sent %d times", k, j.State, rec.sent[k])
			}
			duplicates += rec.sent[k] - 1
		}
		t.Logf("%d of %d jobs sent before the crash; %d sent twice", before, len(jobs), duplicates)
		// Only the jobs in flight at the crash may go twice.
		if maxInFlight := 4 * opts.Workers; duplicates > maxInFlight {
			t.Errorf("%d duplicates, more than the %d jobs that can be in flight", duplicates, maxInFlight)
		}
		for k, w := range want {
			if got := slices.Compact(slices.Clone(rec.order[k])); !slices.Equal(got, w) {
				t.Errorf("%s sent in the order %v, want %v", k, got, w)
			}
		}
	})
}

func TestTwoReplicasSendEachJobOnce(t *testing.T) {
	uri := pgtest.Database(t, pg)
	var replicas []*sqlstore.DB
	for range 2 {
		s, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		replicas = append(replicas, s)
	}
	rec := newRecorder(nil)
	var mu sync.Mutex
	byReplica := map[string]int{}
	for i, s := range replicas {
		owner := fmt.Sprintf("replica-%d", i)
		start(t, s, outbox.Options{Owner: owner}, map[string]outbox.Kind{"channel.send": {Handle: func(ctx context.Context, j store.Job) error {
			mu.Lock()
			byReplica[owner]++
			mu.Unlock()
			return rec.handle(ctx, j)
		}}})
	}
	// Each replica enqueues 1,000 jobs for its own 50 conversations while both send.
	var wg sync.WaitGroup
	wants := make([]map[string][]string, 2)
	for i, s := range replicas {
		wg.Go(func() { wants[i] = enqueueAll(t, s, keysOf(fmt.Sprintf("r%d", i), 50), 20) })
	}
	wg.Wait()
	all := append(flatten(wants[0]), flatten(wants[1])...)
	settled(t, replicas[0], all)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, k := range all {
		if rec.sent[k] != 1 {
			t.Errorf("%s sent %d times, want once", k, rec.sent[k])
		}
	}
	for _, want := range wants {
		for k, w := range want {
			if !slices.Equal(rec.order[k], w) {
				t.Errorf("%s sent in the order %v, want %v", k, rec.order[k], w)
			}
		}
	}
	if rec.overlap {
		t.Error("two jobs of one key were being sent at once")
	}
	mu.Lock()
	defer mu.Unlock()
	t.Logf("sends by replica: %v", byReplica)
	if len(all) != 2000 || byReplica["replica-0"] == 0 || byReplica["replica-1"] == 0 {
		t.Errorf("%d jobs, sends by replica %v: want 2,000 shared by both", len(all), byReplica)
	}
}
