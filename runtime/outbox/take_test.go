package outbox_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// claimCounter counts the jobs the outbox had to claim.
type claimCounter struct {
	*sqlstore.DB
	claimed atomic.Int64
}

func (c *claimCounter) ClaimJobs(ctx context.Context, cl store.JobClaim) ([]store.Job, error) {
	jobs, err := c.DB.ClaimJobs(ctx, cl)
	c.claimed.Add(int64(len(jobs)))
	return jobs, err
}

// On SQLite the outbox takes the jobs it has room for as they are enqueued, without
// claiming them; the jobs it had no room for are claimed later. Either way every job
// is sent once.
func TestJobsAreTakenAtTheirEnqueue(t *testing.T) {
	for _, tc := range []struct {
		name        string
		maxInFlight int
		slow        time.Duration
		wantClaimed func(n int64) bool
	}{
		{"room for all", 256, 0, func(n int64) bool { return n == 0 }},
		{"room for a few", 4, 20 * time.Millisecond, func(n int64) bool { return n > 0 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			s := &claimCounter{DB: db}
			rec := newRecorder(func(store.Job, int) error { time.Sleep(tc.slow); return nil })
			start(t, s, outbox.Options{PollInterval: 50 * time.Millisecond, MaxInFlight: tc.maxInFlight, Workers: 4},
				map[string]outbox.Kind{"channel.send": {Handle: rec.handle}})
			time.Sleep(100 * time.Millisecond) // the worker has looked and found nothing
			const n = 100
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					k := fmt.Sprint(i)
					if _, err := s.Enqueue(ctx, store.Job{Kind: "channel.send", Key: k, IdempotencyKey: k}); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			eventually(t, 20*time.Second, func() bool { return rec.sentCount() == n }, "not every job was sent")
			rec.mu.Lock()
			for k, c := range rec.sent {
				if c != 1 {
					t.Errorf("job %s sent %d times", k, c)
				}
			}
			rec.mu.Unlock()
			if got := s.claimed.Load(); !tc.wantClaimed(got) {
				t.Errorf("%d of %d jobs were claimed after their enqueue", got, n)
			}
		})
	}
}
