package outbox_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// maxInWindow is the most sends found in any window of length w.
func maxInWindow(times []time.Time, w time.Duration) int {
	times = slices.Clone(times)
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	most := 0
	for i, t := range times {
		n := 0
		for _, u := range times[i:] {
			if u.Sub(t) >= w {
				break
			}
			n++
		}
		most = max(most, n)
	}
	return most
}

func span(times []time.Time) time.Duration {
	return slices.MaxFunc(times, time.Time.Compare).Sub(slices.MinFunc(times, time.Time.Compare))
}

func TestRateLimitsHold(t *testing.T) {
	for _, tc := range []struct {
		name string
		// kinds maps each kind to its rates; the jobs are spread over the kinds.
		kinds   map[string]outbox.Kind
		keys    int
		perKey  int
		limiter string
		// the bucket that binds: every window of a second holds at most burst + rate
		// (+1, as sends happen a moment after their token is due) sends, and all of
		// them take at least (jobs - burst) / rate, less 10% for timer slack.
		bucket       outbox.Rate
		perKeyBucket bool
	}{
		{"per key: one chat at 10/s", map[string]outbox.Kind{"channel.send": {KeyRate: outbox.Rate{Limit: 10, Burst: 1}}},
			3, 15, "", outbox.Rate{Limit: 10, Burst: 1}, true},
		{"per limiter: one bot at 40/s shared by two kinds", map[string]outbox.Kind{
			"channel.send":   {LimiterRate: outbox.Rate{Limit: 40, Burst: 4}},
			"notify.deliver": {LimiterRate: outbox.Rate{Limit: 40, Burst: 4}},
		}, 10, 8, "telegram:bot-1", outbox.Rate{Limit: 40, Burst: 4}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open opener) {
				s := open(t)
				var mu sync.Mutex
				sends := map[string][]time.Time{} // by key, or all under ""
				kinds := map[string]outbox.Kind{}
				var names []string
				for name, k := range tc.kinds {
					k.Handle = func(_ context.Context, j store.Job) error {
						mu.Lock()
						defer mu.Unlock()
						bucket := ""
						if tc.perKeyBucket {
							bucket = j.Key
						}
						sends[bucket] = append(sends[bucket], time.Now())
						return nil
					}
					kinds[name] = k
					names = append(names, name)
				}
				slices.Sort(names)
				// A short hold, so that most waits send jobs back to the store: that
				// must neither break the limit nor count as an attempt.
				start(t, s, outbox.Options{MaxHold: 150 * time.Millisecond}, kinds)
				var all []string
				for n := range tc.perKey {
					for _, k := range keysOf("chat", tc.keys) {
						j := job(k, n)
						j.Kind, j.Limiter = names[(n+len(all))%len(names)], tc.limiter
						if _, err := s.Enqueue(ctx, j); err != nil {
							t.Fatal(err)
						}
						all = append(all, j.IdempotencyKey)
					}
				}
				for k, j := range settled(t, s, all) {
					if j.State != store.JobDone || j.Attempts != 1 {
						t.Errorf("%s: %s after %d attempts, want done after 1", k, j.State, j.Attempts)
					}
				}
				mu.Lock()
				defer mu.Unlock()
				limit := tc.bucket.Burst + int(tc.bucket.Limit) + 1
				for bucket, times := range sends {
					jobs := len(times)
					least := time.Duration(float64(jobs-tc.bucket.Burst) / float64(tc.bucket.Limit) * 0.9 * float64(time.Second))
					most := maxInWindow(times, time.Second)
					t.Logf("bucket %q: %d sends over %s, at most %d in a second", bucket, jobs, span(times).Round(time.Millisecond), most)
					if most > limit {
						t.Errorf("bucket %q: %d sends within a second, the limit allows %d", bucket, most, limit)
					}
					if got := span(times); got < least {
						t.Errorf("bucket %q: %d sends took %s, the limit needs at least %s", bucket, jobs, got, least)
					}
				}
			})
		})
	}
}
