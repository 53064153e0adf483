// Package kubestatus writes what only the runtime knows to the cluster: whether a
// messenger accepts a Channel's credentials, as the Channel's Connected condition, and
// where the provider delivers, as its webhookURL. It applies them with server-side
// apply under its own field manager, so it owns those two fields and nothing else; the
// operator owns the rest of the status (DESIGN.md §3, §4 "Channels").
package kubestatus

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// Retry delays: the first retry comes after minBackoff, each next one after twice as
// long, up to maxBackoff. A Role the operator has not yet widened for a new channel is
// the usual refusal, and is over in a second or two.
const (
	minBackoff   = 500 * time.Millisecond
	maxBackoff   = 2 * time.Minute
	writeTimeout = 15 * time.Second
)

// ChannelWriter applies the channels' statuses in the background. Set never blocks:
// statuses wait per channel, the newest replacing any older one still waiting, and Run
// applies them one at a time, retrying with backoff while the API server fails.
//
// A nil *ChannelWriter is valid and does nothing, so a runtime outside a cluster can
// pass its Set as channels.Options.OnStatus all the same.
type ChannelWriter struct {
	write func(context.Context, channels.Status) error
	log   *slog.Logger
	now   func() time.Time
	// minBackoff and maxBackoff bound retry delays; tests shorten them.
	minBackoff, maxBackoff time.Duration

	mu      sync.Mutex
	pending map[string]*pending
	kick    chan struct{}
}

// pending is the newest status of one channel not yet written.
type pending struct {
	status channels.Status
	// version grows with every Set, so the outcome of writing an older status neither
	// drops nor delays a newer one.
	version  uint64
	failures int
	due      time.Time
}

func newWriter(write func(context.Context, channels.Status) error, log *slog.Logger) *ChannelWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &ChannelWriter{write: write, log: log, now: time.Now, minBackoff: minBackoff, maxBackoff: maxBackoff,
		pending: map[string]*pending{}, kick: make(chan struct{}, 1)}
}

// Set queues a channel's status for writing and returns at once. It is meant for
// channels.Options.OnStatus, which the manager calls under its own lock.
func (w *ChannelWriter) Set(s channels.Status) {
	if w == nil {
		return
	}
	w.mu.Lock()
	p := w.pending[s.Channel]
	if p == nil {
		p = &pending{}
		w.pending[s.Channel] = p
	}
	p.status, p.due = s, time.Time{}
	p.version++
	w.mu.Unlock()
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// Run writes queued statuses until ctx ends.
func (w *ChannelWriter) Run(ctx context.Context) {
	if w == nil {
		return
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		next := w.flush(ctx)
		var retry <-chan time.Time
		if !next.IsZero() {
			timer.Reset(max(next.Sub(w.now()), 0))
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-w.kick:
		case <-retry:
		}
	}
}

// flush writes every status that is due and returns when the earliest of the others
// is (zero when none waits).
func (w *ChannelWriter) flush(ctx context.Context) time.Time {
	for {
		name, s, version, ok := w.nextDue()
		if !ok || ctx.Err() != nil {
			return w.earliest()
		}
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := w.write(wctx, s)
		cancel()
		if ctx.Err() != nil {
			return time.Time{}
		}
		w.done(name, version, err)
	}
}

func (w *ChannelWriter) nextDue() (string, channels.Status, uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	for name, p := range w.pending {
		if !p.due.After(now) {
			// Not due again until this write ends: done sets the next time.
			p.due = now.Add(w.maxBackoff)
			return name, p.status, p.version, true
		}
	}
	return "", channels.Status{}, 0, false
}

func (w *ChannelWriter) earliest() time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	var next time.Time
	for _, p := range w.pending {
		if next.IsZero() || p.due.Before(next) {
			next = p.due
		}
	}
	return next
}

// done records the outcome of writing version of a channel's status.
func (w *ChannelWriter) done(name string, version uint64, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.pending[name]
	if p == nil {
		return
	}
	if p.version != version {
		p.due = time.Time{} // a newer status came in meanwhile: write it now
		return
	}
	switch {
	case err == nil:
		delete(w.pending, name)
		return
	case permanent(err):
		w.log.Error("the channel's status cannot be written; giving up until it changes", "channel", name, "error", err)
		delete(w.pending, name)
		return
	}
	p.failures++
	delay := w.backoff(p.failures)
	p.due = w.now().Add(delay)
	w.log.Warn("writing the channel's status failed; retrying", "channel", name, "attempt", p.failures,
		"retryIn", delay.Round(time.Millisecond), "error", err)
}

// backoff is the delay before retry n (1, 2, ...): doubling from minBackoff up to
// maxBackoff, less up to a fifth at random so replicas do not retry in step.
func (w *ChannelWriter) backoff(n int) time.Duration { return backoffOf(w.minBackoff, w.maxBackoff, n) }

func backoffOf(minB, maxB time.Duration, n int) time.Duration {
	d := minB
	for i := 1; i < n && d < maxB; i++ {
		d *= 2
	}
	d = min(d, maxB)
	return d - time.Duration(rand.Int64N(int64(d)/5+1))
}

// Pending is the number of channels whose status is not written yet.
func (w *ChannelWriter) Pending() int {
	if w == nil {
		return 0
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.pending)
}
