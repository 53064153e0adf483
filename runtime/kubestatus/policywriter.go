package kubestatus

import (
	"context"
	"errors"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Policy status timing: the store is read every policyInterval, and a policy whose
// status is unchanged is checked against the cluster again after policyResync (it
// may have been recreated meanwhile, without the runtime's fields).
const (
	policyInterval = 5 * time.Second
	policyResync   = 10 * time.Minute
)

// PolicyWriter keeps each NotificationPolicy's delivery status (status.deliveries,
// lastDeliveryTime, lastError, lastErrorTime) as the store counts it. Every few
// seconds it reads the store's tallies; a policy whose status changed since it last
// wrote or read it is written, coalescing every change in between into one write, and
// retried with backoff while the API server fails. Unchanged counts write nothing.
//
// A nil *PolicyWriter is valid and does nothing: a runtime outside a cluster has no
// policies to write to.
type PolicyWriter struct {
	write    func(ctx context.Context, policy string) (PolicyStatus, error)
	tallies  Tallies
	policies func() []string
	log      *slog.Logger
	now      func() time.Time
	interval time.Duration
	// minBackoff and maxBackoff bound retry delays; tests shorten them.
	minBackoff, maxBackoff time.Duration

	// Only Run's goroutine uses these.
	known    map[string]knownStatus
	failures map[string]int
	due      map[string]time.Time
}

// knownStatus is what a policy said when this writer last wrote or read it.
type knownStatus struct {
	status PolicyStatus
	at     time.Time
}

func newPolicyWriter(write func(context.Context, string) (PolicyStatus, error), tallies Tallies, policies func() []string,
	log *slog.Logger) *PolicyWriter {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &PolicyWriter{write: write, tallies: tallies, policies: policies, log: log, now: time.Now, interval: policyInterval,
		minBackoff: minBackoff, maxBackoff: maxBackoff,
		known: map[string]knownStatus{}, failures: map[string]int{}, due: map[string]time.Time{}}
}

// Run writes the policies' statuses until ctx ends.
func (w *PolicyWriter) Run(ctx context.Context) {
	if w == nil {
		return
	}
	ticker := time.NewTicker(w.interval)
	defer ticker.Stop()
	for {
		w.sync(ctx)
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		}
	}
}

// sync reads the store once and writes every policy whose status it changes; it
// returns how many writes it attempted.
func (w *PolicyWriter) sync(ctx context.Context) int {
	rctx, cancel := context.WithTimeout(ctx, writeTimeout)
	tallies, err := w.tallies(rctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil && !errors.Is(err, store.ErrStoreClosed) {
			w.log.Warn("reading the notification policies' deliveries", "error", err)
		}
		return 0
	}
	now := w.now()
	attempts := 0
	for _, name := range w.policies() {
		want := policyStatusOf(tallies[name])
		if k, ok := w.known[name]; ok && k.status == want && now.Sub(k.at) < policyResync {
			continue
		}
		if now.Before(w.due[name]) {
			continue // backing off
		}
		attempts++
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		got, err := w.write(wctx, name)
		cancel()
		if ctx.Err() != nil {
			return attempts
		}
		w.done(name, got, err, now)
	}
	return attempts
}

// done records the outcome of writing a policy's status.
func (w *PolicyWriter) done(name string, got PolicyStatus, err error, now time.Time) {
	switch {
	case err == nil:
		w.known[name] = knownStatus{status: got, at: now}
		delete(w.failures, name)
		delete(w.due, name)
		return
	case apierrors.IsNotFound(err):
		// Not in the cluster (any more): nothing to report on for now.
		w.due[name] = now.Add(time.Minute)
		return
	case permanent(err):
		w.log.Error("the notification policy's status cannot be written; trying again later", "policy", name, "error", err)
		w.due[name] = now.Add(w.maxBackoff)
		return
	}
	w.failures[name]++
	delay := backoffOf(w.minBackoff, w.maxBackoff, w.failures[name])
	w.due[name] = now.Add(delay)
	w.log.Warn("writing the notification policy's status failed; retrying", "policy", name, "attempt", w.failures[name],
		"retryIn", delay.Round(time.Millisecond), "error", err)
}
