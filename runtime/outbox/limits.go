package outbox

import (
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Rate is a token bucket: Limit sends per second on average, up to Burst at once.
// The zero Rate limits nothing.
type Rate struct {
	Limit rate.Limit
	Burst int
}

func (r Rate) set() bool { return r.Limit > 0 }

// limits holds the token buckets of one process. With several replicas each holds its
// own, so a provider may see up to the replicas' sum; its 429s and Retry-After then
// slow the senders down.
type limits struct {
	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newLimits() *limits { return &limits{buckets: map[string]*rate.Limiter{}} }

func (l *limits) bucket(name string, r Rate) *rate.Limiter {
	b := l.buckets[name]
	if b == nil {
		b = rate.NewLimiter(r.Limit, r.Burst)
		l.buckets[name] = b
	}
	return b
}

// reserve takes a token from the job's key bucket and its limiter's bucket, and
// returns how long to wait before sending; cancel gives the tokens back when the job
// is not sent after all.
func (l *limits) reserve(j store.Job, k *Kind, now time.Time) (wait time.Duration, cancel func(at time.Time)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var rs []*rate.Reservation
	if k.KeyRate.set() {
		// Per kind: a kind's rate is for its own sends to one recipient.
		rs = append(rs, l.bucket("key\x00"+j.Kind+"\x00"+j.Key, k.KeyRate).ReserveN(now, 1))
	}
	if k.LimiterRate.set() && j.Limiter != "" {
		// Shared by every kind naming the limiter: a bot, a sender number.
		rs = append(rs, l.bucket("limiter\x00"+j.Limiter, k.LimiterRate).ReserveN(now, 1))
	}
	for _, r := range rs {
		wait = max(wait, r.DelayFrom(now))
	}
	return wait, func(at time.Time) {
		for _, r := range rs {
			r.CancelAt(at)
		}
	}
}

// sweep forgets the buckets that are full again, which behave as new ones would.
func (l *limits) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for name, b := range l.buckets {
		if b.TokensAt(now) >= float64(b.Burst()) {
			delete(l.buckets, name)
		}
	}
}

func (l *limits) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
