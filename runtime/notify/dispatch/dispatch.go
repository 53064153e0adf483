// Package dispatch turns recorded events into notification deliveries. A Dispatcher
// follows the store's events with a committed cursor: it reads a batch, plans each
// event's deliveries with the policies in force (package rules), and in one transaction
// enqueues the deliveries as outbox jobs and moves the cursor past the batch. A crash
// anywhere in between leaves the cursor where it was, and the replay enqueues the same
// idempotency keys, which the outbox keeps once: nothing is lost, nothing sent twice.
// Replicas race for the cursor; the loser reads again from where the winner left it.
//
// The deliveries themselves are sent by the outbox (Deliverer, the handler of
// KindDeliver): rendered when sent, retried on the policy's schedule, and, after the
// last failure, answered with a DeliveryFailed event that the policy's onError
// recipients hear of.
package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/channelevents"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/rules"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// CursorName is the dispatcher's cursor in the store.
const CursorName = "notify"

// KindDeliver is the outbox kind of notification deliveries.
const KindDeliver = "notify.deliver"

// Store is what dispatch needs of the store.
type Store interface {
	store.Store
	store.Events
	store.Jobs
}

// Options of a dispatcher. Zero fields take defaults.
type Options struct {
	Store Store
	// Config returns the configuration in force.
	Config func() *config.Config
	// VisitorOnline reports whether a contact has a live connection (the widget, an
	// internal client); nil when none ever has.
	VisitorOnline func(contactID string) bool
	// Cursor names the dispatcher's cursor; CursorName by default.
	Cursor string
	// Batch is how many events one transaction dispatches; 256 by default.
	Batch int
	// PollInterval is the longest the dispatcher goes without looking for events, in
	// case a wake-up was missed; 5s by default.
	PollInterval time.Duration
	// Retention is how long events are kept once every cursor has passed them; 7
	// days by default. The dispatcher deletes older ones every hour.
	Retention time.Duration
	Log       *slog.Logger
}

// Dispatcher follows the events of one LiveChat.
type Dispatcher struct {
	opts   Options
	wake   chan struct{}
	cancel func()
	done   chan struct{}
}

// New returns a dispatcher; Start runs it.
func New(o Options) *Dispatcher {
	if o.Batch <= 0 {
		o.Batch = 256
	}
	if o.Cursor == "" {
		o.Cursor = CursorName
	}
	if o.PollInterval <= 0 {
		o.PollInterval = 5 * time.Second
	}
	if o.Retention <= 0 {
		o.Retention = 7 * 24 * time.Hour
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{opts: o, wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// Start follows the events until Close.
func (d *Dispatcher) Start() {
	unsubscribe := d.opts.Store.Subscribe(func(c store.Change) {
		if c.Kind == store.ChangeEvents || c.Kind == store.ChangeResync {
			d.poke()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = func() { cancel(); unsubscribe() }
	go d.run(ctx)
}

// Close stops following and waits for the batch in progress.
func (d *Dispatcher) Close() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
}

func (d *Dispatcher) poke() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *Dispatcher) run(ctx context.Context) {
	defer close(d.done)
	timer := time.NewTimer(0)
	defer timer.Stop()
	var lastPrune time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-timer.C:
		}
		if now := time.Now(); now.Sub(lastPrune) >= pruneEvery {
			lastPrune = now
			d.Prune(ctx, now)
		}
		for {
			n, err := d.Step(ctx)
			if err != nil {
				if ctx.Err() == nil {
					d.opts.Log.Error("dispatching notifications", "error", err)
				}
				break
			}
			if n < d.opts.Batch {
				break
			}
		}
		timer.Reset(d.opts.PollInterval)
	}
}

// pruneEvery is how often the dispatcher deletes events past their retention, and
// pruneBatch how many one transaction deletes, so pruning never holds the writer long.
const (
	pruneEvery = time.Hour
	pruneBatch = 5000
)

// Prune deletes the events recorded before now minus the retention that every cursor
// has passed.
func (d *Dispatcher) Prune(ctx context.Context, now time.Time) {
	for ctx.Err() == nil {
		n, err := d.opts.Store.PruneEvents(ctx, now.Add(-d.opts.Retention), pruneBatch)
		if err != nil {
			if ctx.Err() == nil {
				d.opts.Log.Error("pruning old events", "error", err)
			}
			return
		}
		if n < pruneBatch {
			return
		}
	}
}

// Step dispatches the next batch of events and reports how many it passed. A replica
// that lost the race for the cursor passes none and reads again next time.
func (d *Dispatcher) Step(ctx context.Context) (int, error) {
	from, err := d.opts.Store.Cursor(ctx, d.opts.Cursor)
	if err != nil {
		return 0, err
	}
	events, err := d.opts.Store.Events(ctx, from, d.opts.Batch)
	if err != nil || len(events) == 0 {
		return 0, err
	}
	cfg := d.opts.Config()
	ops, err := d.operators(ctx)
	if err != nil {
		return 0, err
	}
	var jobs []store.Job
	for _, ev := range events {
		planned, err := d.plan(ctx, cfg, ev, ops)
		if err != nil {
			return 0, err
		}
		jobs = append(jobs, planned...)
	}
	err = d.opts.Store.AdvanceCursor(ctx, d.opts.Cursor, from, events[len(events)-1].ID, jobs)
	if errors.Is(err, store.ErrConflict) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	return len(events), nil
}

// plan returns the delivery jobs of one event.
func (d *Dispatcher) plan(ctx context.Context, cfg *config.Config, ev store.Event, ops map[string]store.Operator) ([]store.Job, error) {
	if !named(cfg, ev.Type) {
		return nil, nil // no rule listens: nothing to read or plan
	}
	re := rules.Event{ID: strconv.FormatInt(ev.ID, 10), Type: config.EventType(ev.Type), At: ev.CreatedAt,
		Operator: ev.Operator, Message: ev.Detail}
	if ev.Type == string(chatv1alpha1.EventChannelChanged) {
		var c channelevents.Change
		if json.Unmarshal([]byte(ev.Detail), &c) == nil {
			re.Channel, re.Message = c.Channel, ""
		}
	}
	if ev.ConversationID != "" {
		conv, err := d.opts.Store.Conversation(ctx, ev.ConversationID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return nil, err
		default:
			re.Conversation = &conv
			if contact, err := d.opts.Store.Contact(ctx, conv.ContactID); err == nil {
				re.Contact = &contact
			}
		}
	}
	st := presence{operators: ops}
	if c := re.Conversation; c != nil {
		st.visitorOnline = d.opts.VisitorOnline != nil && d.opts.VisitorOnline(c.ContactID)
		var once sync.Once
		var at time.Time
		st.lastInbound = func() time.Time {
			once.Do(func() {
				var err error
				if at, err = d.opts.Store.LastInboundAt(ctx, c.ID); err != nil {
					d.opts.Log.Warn("reading when the visitor last wrote", "conversation", c.ID, "error", err)
				}
			})
			return at
		}
	}
	planned := rules.Plan(cfg, re, st)
	if ev.Type == "DeliveryFailed" {
		planned = append(planned, onError(cfg, re, ev, st)...)
	}
	jobs := make([]store.Job, 0, len(planned))
	for _, p := range planned {
		j, err := deliveryJob(cfg, ev, p)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// payload is what a delivery job carries: the event and the planned delivery. No
// secrets: the provider's credentials are read when it is sent.
type payload struct {
	Event    store.Event    `json:"event"`
	Delivery rules.Delivery `json:"delivery"`
	// Digest, for a policy with a batching window, is the window whose email this is.
	Digest *digest `json:"digest,omitempty"`
}

// digest is the window of a digest email.
type digest struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// deliveryJob makes the outbox job of a planned delivery. Deliveries to one recipient
// through one provider go in order; every provider has its own rate bucket.
func deliveryJob(cfg *config.Config, ev store.Event, p rules.Delivery) (store.Job, error) {
	pol := policy(cfg, p.Policy)
	pl := payload{Event: ev, Delivery: p}
	var runAt time.Time
	if pol != nil && pol.BatchWindow.Duration > 0 && p.Kind == "Email" && ev.ConversationID != "" {
		// One email per recipient and conversation per window: every event of the
		// window plans the same key, so the outbox keeps the first, due when the
		// window ends, and it gathers the rest when it is sent.
		w := pol.BatchWindow.Duration
		start := ev.CreatedAt.Truncate(w)
		pl.Digest = &digest{Start: start, End: start.Add(w)}
		p.IdempotencyKey = fmt.Sprintf("notify/%s/digest/%s/%s/%s/%d", p.Policy, recipientKey(ev, p), p.Provider, ev.ConversationID, start.Unix())
		pl.Delivery.IdempotencyKey = p.IdempotencyKey
		runAt = pl.Digest.End
	}
	data, err := json.Marshal(pl)
	if err != nil {
		return store.Job{}, err
	}
	// A recipient hears of one conversation in order; conversations (and events about
	// none) go side by side, so one slow recipient or a busy webhook does not make
	// everything wait in one line.
	scope := "conversation:" + ev.ConversationID
	if ev.ConversationID == "" {
		scope = "event:" + strconv.FormatInt(ev.ID, 10)
	}
	j := store.Job{Kind: KindDeliver, Key: fmt.Sprintf("notify/%s/%s/%s/%s", p.Policy, p.Provider, recipientKey(ev, p), scope),
		Limiter: "notify/" + p.Policy + "/" + p.Provider, IdempotencyKey: p.IdempotencyKey, Payload: data, RunAt: runAt,
		Tally: TallyPrefix + p.Policy}
	if pl.Digest != nil {
		// A digest waits for its window: it must not hold up the recipient's others.
		j.Key += "/digest"
	}
	if pol != nil && pol.Retry.Attempts > 0 {
		j.MaxAttempts = int(pol.Retry.Attempts)
	}
	return j, nil
}

// recipientKey names a delivery's recipient.
func recipientKey(ev store.Event, p rules.Delivery) string {
	switch {
	case p.Recipient.Visitor:
		return "visitor:" + ev.ConversationID
	case p.Recipient.Operator != "":
		return "operator:" + p.Recipient.Operator
	}
	return "webhook"
}

// named reports whether a policy in force acts on events of the type: a rule names it,
// or it is a failure an onError block hears of.
func named(cfg *config.Config, typ string) bool {
	for _, pol := range cfg.Policies {
		if pol.Suspend {
			continue
		}
		if typ == "DeliveryFailed" && pol.OnError != nil {
			return true
		}
		for _, r := range pol.Rules {
			if slices.Contains(r.Events, config.EventType(typ)) {
				return true
			}
		}
	}
	return false
}

func policy(cfg *config.Config, name string) *config.Policy {
	for i := range cfg.Policies {
		if cfg.Policies[i].Name == name {
			return &cfg.Policies[i]
		}
	}
	return nil
}
