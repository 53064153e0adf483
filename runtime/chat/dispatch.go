package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/routing"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// dispatcher routes waiting chats when something changes that could let one through:
// a chat queued, an operator coming online or back, a chat closed, a new configuration.
// Changes mark queues dirty; one goroutine routes the dirty queues. There is no
// periodic sweep.
type dispatcher struct {
	mu    sync.Mutex
	dirty map[string]bool
	wake  chan struct{}
	// passes holds one lock per queue: one routing pass per queue at a time.
	passes map[string]*sync.Mutex
	// positions holds the places last published to each queue's waiting visitors; a
	// queue's entry is touched only under its pass lock.
	positions map[string]map[string]int
	// facts holds what routing depends on of each open conversation last seen, so a
	// change that moves none of it (a reply that only moved the completion deadline)
	// costs no routing pass.
	facts map[string]routingFacts
}

// routingFacts is what of a conversation routing depends on: whether it waits, and
// whose load it counts in.
type routingFacts struct {
	state           store.State
	queue, operator string
}

func newDispatcher() *dispatcher {
	return &dispatcher{dirty: map[string]bool{}, wake: make(chan struct{}, 1), passes: map[string]*sync.Mutex{},
		facts: map[string]routingFacts{}, positions: map[string]map[string]int{}}
}

// moved records a conversation's state and reports whether it differs, for routing,
// from the one seen before (or none was).
func (d *dispatcher) moved(c *store.Conversation) bool {
	_, moved := d.movedFrom(c)
	return moved
}

// movedFrom is moved, also returning who held the conversation before, if seen.
func (d *dispatcher) movedFrom(c *store.Conversation) (string, bool) {
	f := routingFacts{state: c.State, queue: c.Queue, operator: c.Operator}
	d.mu.Lock()
	defer d.mu.Unlock()
	prev, seen := d.facts[c.ID]
	if c.State.Open() {
		d.facts[c.ID] = f
	} else {
		delete(d.facts, c.ID)
	}
	return prev.operator, !seen || prev != f
}

// forget drops what was seen of every conversation, after changes may have been
// missed.
func (d *dispatcher) forget() {
	d.mu.Lock()
	clear(d.facts)
	d.mu.Unlock()
}

func (d *dispatcher) mark(queues ...string) {
	d.mu.Lock()
	for _, q := range queues {
		d.dirty[q] = true
	}
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

func (d *dispatcher) take() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]string, 0, len(d.dirty))
	for q := range d.dirty {
		out = append(out, q)
	}
	clear(d.dirty)
	slices.Sort(out)
	return out
}

func (d *dispatcher) lock(queue string) func() {
	d.mu.Lock()
	mu := d.passes[queue]
	if mu == nil {
		mu = &sync.Mutex{}
		d.passes[queue] = mu
	}
	d.mu.Unlock()
	mu.Lock()
	return mu.Unlock
}

// runDispatcher routes dirty queues until ctx ends. A queue whose pass fails (the
// store is unreachable, say) is tried again after a pause that doubles up to
// maxRouteBackoff, so an outage does not turn into a busy loop.
func (e *Engine) runDispatcher(ctx context.Context) {
	backoff := map[string]time.Duration{}
	retries := map[string]*time.Timer{} // at most one pending retry per queue
	defer func() {
		for _, t := range retries {
			t.Stop()
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.dispatch.wake:
			for _, q := range e.dispatch.take() {
				err := e.Route(ctx, q)
				if err == nil || ctx.Err() != nil {
					delete(backoff, q)
					continue
				}
				wait := min(max(2*backoff[q], minRouteBackoff), maxRouteBackoff)
				backoff[q] = wait
				e.log.Error("routing failed; trying again", "queue", q, "in", wait, "error", err)
				if t := retries[q]; t != nil {
					t.Stop()
				}
				retries[q] = time.AfterFunc(wait, func() { e.dispatch.mark(q) })
			}
		}
	}
}

const (
	minRouteBackoff = 100 * time.Millisecond
	maxRouteBackoff = 10 * time.Second
)

// markForChange marks the queues a committed change may unblock.
func (e *Engine) markForChange(c store.Change) {
	v := e.view.Load()
	switch c.Kind {
	case store.ChangeConversation:
		conv := c.Conversation
		previous, moved := e.dispatch.movedFrom(conv)
		if !moved {
			return // nothing routing depends on changed
		}
		queues := []string{conv.Queue}
		e.availabilityMoved(previous, conv.Operator, conv.LastOperator)
		// A chat that ends or moves frees its operator in all their queues.
		for _, op := range []string{conv.Operator, conv.LastOperator, previous} {
			if op != "" {
				queues = append(queues, v.opQueues[op]...)
			}
		}
		e.dispatch.mark(queues...)
	case store.ChangeOperator:
		e.availabilityMoved(c.Operator.Name)
		e.dispatch.mark(v.opQueues[c.Operator.Name]...)
	}
}

// candidates gathers the facts routing needs about a queue's operators.
func (e *Engine) candidates(ctx context.Context, v *view, q *config.Queue) ([]routing.Candidate, error) {
	ops, err := e.store.Operators(ctx)
	if err != nil {
		return nil, err
	}
	loads, err := e.store.Loads(ctx)
	if err != nil {
		return nil, err
	}
	byName := make(map[string]store.Operator, len(ops))
	for _, o := range ops {
		byName[o.Name] = o
	}
	out := make([]routing.Candidate, 0, len(q.Operators))
	for _, name := range q.Operators {
		o, known := byName[name]
		out = append(out, routing.Candidate{Name: name, Online: known && o.Presence == store.PresenceOnline,
			Active: !known || o.Active, Load: loads[name], Limit: v.limitOf(name), LastAssigned: o.LastAssignedAt})
	}
	return out, nil
}

// Route routes the waiting chats of a queue, oldest first, until none waits or nobody
// can take the next one. Under AvailableAgent each chat is assigned to one operator,
// who must accept it; under AllAgents each is offered to every eligible operator.
// Visitors still waiting are told their place, and the queue-length gauge follows.
func (e *Engine) Route(ctx context.Context, queue string) error {
	defer e.dispatch.lock(queue)()
	v := e.view.Load()
	q := v.queues[queue]
	if q == nil {
		return nil
	}
	listed, err := e.store.Conversations(ctx, store.ConversationFilter{Queues: []string{queue},
		States: []store.State{store.StateQueued, store.StateMissed}})
	if err != nil {
		return err
	}
	var waiting, missed []store.Conversation
	for _, c := range listed {
		if c.State == store.StateMissed {
			missed = append(missed, c)
		} else {
			waiting = append(waiting, c)
		}
	}
	left := waiting
	if len(waiting) > 0 || len(missed) > 0 {
		cands, err := e.candidates(ctx, v, q)
		if err != nil {
			return err
		}
		if err := e.requeueMissed(ctx, missed, cands); err != nil {
			return err
		}
		if q.Rule == config.RoutingAllAgents {
			err = e.offerAll(ctx, waiting, cands)
		} else {
			left, err = e.assignAll(ctx, v, q, waiting, cands)
		}
		if err != nil {
			return err
		}
	}
	e.metrics.queueLength.WithLabelValues(queue).Set(float64(len(left)))
	// Visitors hear of their place when it changed: a chat joining the end moves
	// nobody else. (A visitor who connects gets their place with the history.)
	published := e.dispatch.positions[queue]
	now := make(map[string]int, len(left))
	for i, w := range left {
		now[w.ID] = i + 1
		if published[w.ID] != i+1 {
			e.hub.Publish(mustJSON(VisitorEvent{Type: "position", Position: i + 1}), TopicVisitor(w.ID))
		}
	}
	e.dispatch.positions[queue] = now // under the queue's pass lock
	return nil
}

// requeueMissed puts the offline messages of a queue in line like any chat once one of
// its operators is online and active: a message left while nobody was there is never a
// dead end. They keep their place (when the visitor wrote); the change routes the
// queue again.
func (e *Engine) requeueMissed(ctx context.Context, missed []store.Conversation, cands []routing.Candidate) error {
	if len(missed) == 0 || !slices.ContainsFunc(cands, func(c routing.Candidate) bool { return c.Online && c.Active }) {
		return nil
	}
	for _, c := range missed {
		_, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
			Change: func(c *store.Conversation) { c.State = store.StateQueued },
			Activity: &store.Activity{Type: "OfflineMessageQueued", Actor: "routing",
				Detail: "an operator of queue " + c.Queue + " is online: the offline message waits to be routed like any chat"}})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// assignAll assigns waiting chats in order and returns those still waiting: from the
// first chat nobody can take on, since the rest wait behind it.
func (e *Engine) assignAll(ctx context.Context, v *view, q *config.Queue, waiting []store.Conversation,
	cands []routing.Candidate) ([]store.Conversation, error) {
	for n, c := range waiting {
		for {
			name, ok := routing.PickAvailable(cands, c.Lapsed)
			if !ok {
				return waiting[n:], nil
			}
			err := e.assign(ctx, v, q, c, name)
			i := slices.IndexFunc(cands, func(x routing.Candidate) bool { return x.Name == name })
			if errors.Is(err, store.ErrLimit) || errors.Is(err, store.ErrUnavailable) {
				// Another replica filled them up, or they went away or inactive,
				// meanwhile: leave them out of this pass.
				cands[i].Load, cands[i].Online = cands[i].Limit, false
				continue
			}
			if err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, err
			}
			if err == nil {
				now := e.now()
				cands[i].Load++
				cands[i].LastAssigned = &now
			}
			break // assigned, or someone else changed the chat first
		}
	}
	return nil, nil
}

// assign gives a chat to an operator, who must accept it within the accept timeout.
func (e *Engine) assign(ctx context.Context, v *view, q *config.Queue, c store.Conversation, operator string) error {
	now := e.now()
	deadline := now.Add(q.AcceptTimeout.Duration)
	next, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
		Claim: &store.Claim{Operator: operator, Limit: v.limitOf(operator), Routed: true},
		Change: func(c *store.Conversation) {
			c.State, c.Operator, c.LastOperator, c.AssignedAt, c.AcceptDeadline, c.Offered = store.StateAssigned, operator, operator, &now, &deadline, nil
		},
		Activity: &store.Activity{Type: string(chatv1alpha1.EventChatAssigned), Actor: "routing",
			Detail: fmt.Sprintf("assigned to %s; accept within %s", operator, q.AcceptTimeout.Duration)},
		Events: []store.Event{record(chatv1alpha1.EventChatAssigned, c.ID, operator, "")},
	})
	if err == nil {
		e.metrics.assignments.WithLabelValues(q.Name, string(q.Rule)).Inc()
		if c.QueuedAt != nil && len(c.Lapsed) == 0 {
			// The wait ends when the chat first leaves the queue; a lapse does not
			// start a second one.
			e.metrics.queueWait.WithLabelValues(q.Name).Observe(now.Sub(*c.QueuedAt).Seconds())
		}
		e.emit(chatv1alpha1.EventChatAssigned, &next, operator, "")
	}
	return err
}

// offerAll offers every waiting chat to every eligible operator; the first to accept
// takes it (Take), and the offer disappears from the others' consoles.
func (e *Engine) offerAll(ctx context.Context, waiting []store.Conversation, cands []routing.Candidate) error {
	offer := routing.OfferAll(cands)
	for _, c := range waiting {
		if slices.Equal(c.Offered, offer) {
			continue
		}
		_, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
			Change: func(c *store.Conversation) { c.Offered = offer }})
		if err != nil && !errors.Is(err, store.ErrConflict) {
			return err
		}
	}
	return nil
}

// Position is a waiting chat's place in its queue, 1 for the next one; 0 if it is not
// waiting.
func (e *Engine) Position(ctx context.Context, c store.Conversation) (int, error) {
	if c.State != store.StateQueued {
		return 0, nil
	}
	waiting, err := e.store.Conversations(ctx, store.ConversationFilter{Queues: []string{c.Queue}, States: []store.State{store.StateQueued}})
	if err != nil {
		return 0, err
	}
	for i, w := range waiting {
		if w.ID == c.ID {
			return i + 1, nil
		}
	}
	return 0, nil
}

// setActive changes only whether an operator gets new chats, keeping their presence.
func (e *Engine) setActive(ctx context.Context, operator string, active bool) error {
	_, err := e.store.SetPresence(ctx, operator, "", &active)
	return err
}

// inactiveNotice tells an operator's console why they get no new chats.
func inactiveNotice(conversation string, timeout time.Duration) string {
	return fmt.Sprintf("You did not accept chat %s within %s, so it went to another operator. "+
		"You are inactive and get no new chats until you set yourself active.", conversation, timeout)
}

// InactiveNotice is what an inactive operator's console says when it connects.
const InactiveNotice = "You are inactive because a chat assigned to you was not accepted in time: " +
	"you get no new chats until you set yourself active."
