// Package outbox sends what the runtime owes providers: messenger replies, notification
// deliveries. Jobs live in the store (store.Jobs), committed in the same transaction as
// the change that causes them (store.Message.Jobs, or Enqueue), so a reply is never
// stored without its send nor sent without being stored.
//
// A worker pool claims due jobs under a lease, one per key at a time and in order
// (the next job of a conversation waits until the one before is done or has failed for
// good), holds each to its key's and its limiter's token buckets, calls the handler
// registered for its kind, and records the outcome: done, tried again after a backoff
// or the provider's Retry-After, or failed. Sends are at least once: a worker that dies
// mid-send leaves its jobs leased, and they are claimed again when the lease expires
// (at once on SQLite, where a restarted process is the only one).
//
// On PostgreSQL several replicas share the jobs: claims skip rows another replica
// is claiming (FOR UPDATE SKIP LOCKED), so each job goes to one of them.
package outbox

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Handler sends one job. Its error decides what happens next: see Permanent and
// RetryAfter. It must honour ctx, which ends at the kind's Timeout.
type Handler func(ctx context.Context, job store.Job) error

// Kind is how jobs of one kind are sent. Zero fields take defaults.
type Kind struct {
	Handle Handler
	// MaxAttempts is how many attempts a job gets (a job's own MaxAttempts wins);
	// 12 by default.
	MaxAttempts int
	// MinBackoff and MaxBackoff bound the wait before a retry, which doubles with
	// every attempt (with jitter); 1s and 1h by default.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds one attempt; 30s by default.
	Timeout time.Duration
	// KeyRate limits the sends of this kind to one key (a chat); LimiterRate the
	// sends of every kind to one limiter (a bot, a sender number). Kinds that name the
	// same limiter must give it the same rate: the first one used sets it.
	KeyRate, LimiterRate Rate
	// FailedDelivery, when set, is the delivery news of a job given up on (a message
	// that could not be sent), recorded in the transaction that records the job failed,
	// so a crash cannot leave the message looking as if it were still being sent.
	FailedDelivery func(j store.Job, reason string) *store.DeliveryUpdate
}

// Store is what the outbox needs of the store: its jobs, and the change feed that
// says when jobs were enqueued.
type Store interface {
	store.Jobs
	Subscribe(fn func(store.Change)) (cancel func())
}

// Options of an outbox. Zero fields take defaults.
type Options struct {
	// Owner names this worker in leases; the host name and a random suffix by default.
	Owner string
	// Workers bounds the sends in progress at once; 64 by default.
	Workers int
	// MaxInFlight bounds the jobs claimed and not finished (sending, or waiting for a
	// rate limit or a worker); 4 × Workers by default.
	MaxInFlight int
	// Lease is how long a claimed job stays with this worker; 2m by default. It must
	// exceed every kind's Timeout plus MaxHold.
	Lease time.Duration
	// MaxHold is the longest a rate limit holds a claimed job in memory; a job that
	// must wait longer goes back to the store, due when its tokens are; 5s by default.
	MaxHold time.Duration
	// PollInterval is the longest the worker goes without looking for due jobs, in
	// case a wake-up was missed; 5s by default.
	PollInterval time.Duration
	// StatsInterval is how often the pending-job gauges are read; 10s by default.
	StatsInterval time.Duration
	// Retention is how long done and failed jobs (and so their idempotency keys) are
	// kept; 7 days by default.
	Retention time.Duration
	// OnFailed hears of every job given up on, after that is recorded; it runs on the
	// outbox's goroutine and must return quickly.
	OnFailed func(store.Job)
	Metrics  prometheus.Registerer
	Log      *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Owner == "" {
		host, _ := os.Hostname()
		o.Owner = fmt.Sprintf("%s-%d-%x", host, os.Getpid(), time.Now().UnixNano()&0xffffff)
	}
	if o.Workers <= 0 {
		o.Workers = 64
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 4 * o.Workers
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	if o.MaxHold <= 0 {
		o.MaxHold = 5 * time.Second
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.StatsInterval <= 0 {
		o.StatsInterval = 10 * time.Second
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// Outbox is the worker pool of one process.
type Outbox struct {
	st     Store
	opts   Options
	kinds  map[string]*Kind
	names  []string
	limits *limits
	m      *metrics

	wake     chan struct{}
	sem      chan struct{}
	inflight atomic.Int64
	outcomes chan outcome

	claimCtx, sendCtx     context.Context
	stopClaims, stopSends context.CancelFunc
	runs, loops           sync.WaitGroup
	unsubscribe           func()
	completerDone         chan struct{}
	startOnce, closeOnce  sync.Once
	started               atomic.Bool

	// Jobs taken as they are enqueued (take.go).
	stopTaking func()
	takeMu     sync.RWMutex
	takeClosed bool
}

// New returns an outbox on st. Register kinds with Handle, then Start it.
func New(st Store, opts Options) *Outbox {
	opts.defaults()
	o := &Outbox{
		st: st, opts: opts, kinds: map[string]*Kind{}, limits: newLimits(), m: newMetrics(opts.Metrics),
		wake: make(chan struct{}, 1), sem: make(chan struct{}, opts.Workers),
		outcomes: make(chan outcome, opts.MaxInFlight), completerDone: make(chan struct{}),
	}
	o.claimCtx, o.stopClaims = context.WithCancel(context.Background())
	o.sendCtx, o.stopSends = context.WithCancel(context.Background())
	return o
}

// Handle registers the handler of a kind. It must come before Start.
func (o *Outbox) Handle(kind string, k Kind) error {
	switch {
	case o.started.Load():
		return fmt.Errorf("outbox kind %q: register kinds before starting the outbox", kind)
	case kind == "" || k.Handle == nil:
		return errors.New("an outbox kind needs a name and a handler")
	case o.kinds[kind] != nil:
		return fmt.Errorf("outbox kind %q is registered already", kind)
	}
	if k.MaxAttempts <= 0 {
		k.MaxAttempts = 12
	}
	if k.MinBackoff <= 0 {
		k.MinBackoff = time.Second
	}
	if k.MaxBackoff < k.MinBackoff {
		k.MaxBackoff = max(time.Hour, k.MinBackoff)
	}
	if k.Timeout <= 0 {
		k.Timeout = 30 * time.Second
	}
	for _, r := range []*Rate{&k.KeyRate, &k.LimiterRate} {
		if r.set() && r.Burst < 1 {
			r.Burst = 1
		}
	}
	if k.Timeout+o.opts.MaxHold >= o.opts.Lease {
		return fmt.Errorf("outbox kind %q: its timeout %s plus the longest rate-limit hold %s must be shorter than the lease %s, or a slow send would be claimed twice",
			kind, k.Timeout, o.opts.MaxHold, o.opts.Lease)
	}
	o.kinds[kind] = &k
	o.names = append(o.names, kind)
	slices.Sort(o.names)
	return nil
}

// Start starts the workers.
func (o *Outbox) Start() {
	o.startOnce.Do(func() {
		o.started.Store(true)
		o.unsubscribe = o.st.Subscribe(func(c store.Change) {
			if c.Kind == store.ChangeJobs || c.Kind == store.ChangeResync {
				o.poke()
			}
		})
		go o.completeLoop()
		o.takeOnEnqueue()
		o.loops.Add(2)
		go o.claimLoop()
		go o.maintain()
	})
}

// Close stops claiming, lets the sends in progress finish until ctx ends (then
// cancels them), records every outcome and returns. Jobs claimed and not sent go back
// to the store untouched. The store must stay open until Close returns.
func (o *Outbox) Close(ctx context.Context) error {
	var err error
	o.closeOnce.Do(func() {
		if !o.started.Load() {
			return
		}
		o.unsubscribe()
		o.stopClaims()
		o.stopTakingJobs()
		o.loops.Wait()
		sent := make(chan struct{})
		go func() { o.runs.Wait(); close(sent) }()
		select {
		case <-sent:
		case <-ctx.Done():
			err = ctx.Err()
			o.stopSends()
			<-sent
		}
		close(o.outcomes)
		<-o.completerDone
		o.stopSends()
	})
	return err
}

// poke wakes the claim loop; wake-ups coalesce.
func (o *Outbox) poke() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// minWait keeps the claim loop from spinning on a job that is due but not claimable
// this instant (another replica is claiming it).
const minWait = 20 * time.Millisecond

func (o *Outbox) claimLoop() {
	defer o.loops.Done()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-o.claimCtx.Done():
			return
		case <-o.wake:
		case <-timer.C:
		}
		timer.Reset(o.claim())
	}
}

// claim takes due jobs while there is room and returns how long until it should look
// again, unless woken first.
func (o *Outbox) claim() time.Duration {
	for {
		room := o.opts.MaxInFlight - int(o.inflight.Load())
		if room <= 0 {
			return o.opts.PollInterval // every finish wakes the loop
		}
		jobs, err := o.st.ClaimJobs(o.claimCtx, store.JobClaim{Owner: o.opts.Owner, Kinds: o.names, Limit: room, Lease: o.opts.Lease})
		if err != nil {
			if o.claimCtx.Err() == nil {
				o.opts.Log.Error("claiming outbox jobs", "error", err)
			}
			return time.Second
		}
		o.inflight.Add(int64(len(jobs)))
		o.runs.Add(len(jobs))
		for _, j := range jobs {
			go o.run(j)
		}
		if len(jobs) > 0 && len(jobs) < room {
			return o.opts.PollInterval // their finishes wake the loop
		}
		if len(jobs) == 0 {
			break
		}
	}
	wait := o.opts.PollInterval
	if at, ok, err := o.st.NextJobAt(o.claimCtx, o.names); err != nil {
		if o.claimCtx.Err() == nil {
			o.opts.Log.Error("looking for the next outbox job", "error", err)
		}
	} else if ok {
		wait = min(wait, max(at.Sub(o.opts.Now()), minWait))
	}
	return wait
}

// maintain refreshes the gauges, forgets idle rate-limit buckets and prunes old jobs.
func (o *Outbox) maintain() {
	defer o.loops.Done()
	ticker := time.NewTicker(o.opts.StatsInterval)
	defer ticker.Stop()
	var lastPrune time.Time
	for {
		now := o.opts.Now()
		o.refreshStats(now)
		o.limits.sweep(now)
		if now.Sub(lastPrune) >= time.Hour {
			lastPrune = now
			o.prune(now)
		}
		select {
		case <-o.claimCtx.Done():
			return
		case <-ticker.C:
		}
	}
}

func (o *Outbox) refreshStats(now time.Time) {
	stats, err := o.st.JobStats(o.claimCtx)
	if err != nil {
		if o.claimCtx.Err() == nil {
			o.opts.Log.Error("reading outbox statistics", "error", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, s := range stats {
		seen[s.Kind] = true
		o.m.pending.WithLabelValues(s.Kind).Set(float64(s.Pending))
		o.m.oldest.WithLabelValues(s.Kind).Set(max(now.Sub(s.OldestCreatedAt).Seconds(), 0))
	}
	for _, k := range o.names {
		if !seen[k] {
			o.m.pending.WithLabelValues(k).Set(0)
			o.m.oldest.WithLabelValues(k).Set(0)
		}
	}
}

// pruneBatch bounds one delete, so old jobs never hold the writer long.
const pruneBatch = 5000

func (o *Outbox) prune(now time.Time) {
	for o.claimCtx.Err() == nil {
		n, err := o.st.PruneJobs(o.claimCtx, now.Add(-o.opts.Retention), pruneBatch)
		if err != nil {
			if o.claimCtx.Err() == nil {
				o.opts.Log.Error("pruning finished outbox jobs", "error", err)
			}
			return
		}
		if n < pruneBatch {
			return
		}
	}
}
