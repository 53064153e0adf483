package outbox

import (
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// enqueueClaimer is a store that can lease jobs to the outbox as they are enqueued,
// sparing each a claim: SQLite's, where the claim is a write the one writer makes.
type enqueueClaimer interface {
	// ClaimOnEnqueue leases due jobs of kinds to owner as they are inserted, for lease,
	// when admit grants room for one; release gives back rooms not used after all, and
	// take gets the jobs leased, once committed. It returns the function that stops it.
	ClaimOnEnqueue(owner string, kinds []string, lease time.Duration,
		admit func() bool, release func(int), take func([]store.Job)) (stop func())
}

// takeOnEnqueue asks the store to hand this outbox its jobs as they are enqueued.
func (o *Outbox) takeOnEnqueue() {
	if c, ok := o.st.(enqueueClaimer); ok {
		o.stopTaking = c.ClaimOnEnqueue(o.opts.Owner, o.names, o.opts.Lease, o.admit, o.release, o.take)
	}
}

// admit reserves room for one job among those in flight.
func (o *Outbox) admit() bool {
	for {
		n := o.inflight.Load()
		if n >= int64(o.opts.MaxInFlight) || o.claimCtx.Err() != nil {
			return false
		}
		if o.inflight.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

// release gives back rooms admit reserved for jobs not taken after all.
func (o *Outbox) release(n int) {
	o.inflight.Add(-int64(n))
	o.poke()
}

// take runs jobs leased to this outbox as they were enqueued. After Close began they
// stay leased and unsent: the lease runs out (or, on SQLite, the next process frees
// it) and they are claimed like any other.
func (o *Outbox) take(jobs []store.Job) {
	o.takeMu.RLock()
	defer o.takeMu.RUnlock()
	if o.takeClosed {
		return
	}
	o.runs.Add(len(jobs))
	for _, j := range jobs {
		go o.run(j)
	}
}

// stopTakingJobs stops jobs coming in at their enqueue, and waits for a take in
// progress, so the runs it starts are waited for.
func (o *Outbox) stopTakingJobs() {
	if o.stopTaking != nil {
		o.stopTaking()
	}
	o.takeMu.Lock()
	o.takeClosed = true
	o.takeMu.Unlock()
}
