package chat

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// deadlines keeps the accept and completion deadlines of conversations in a heap. The
// deadlines themselves are stored with the conversations, so a restarted runtime loads
// them and fires each one; on several replicas each fires them, and the transition's
// version check lets exactly one succeed.
type deadlines struct {
	mu    sync.Mutex
	heap  deadlineHeap
	index map[string]*deadlineItem
	// seen is the newest state tracked per open conversation: the change feed delivers
	// a change after this replica already tracked a later one (its own commit), and
	// the stale change must not undo it.
	seen map[string]stamp
	wake chan struct{}
}

// stamp orders the states of one conversation: transitions raise the version,
// messages the sequence, and neither ever goes back.
type stamp struct{ version, seq int64 }

// older reports whether s is a state from before t.
func (s stamp) older(t stamp) bool {
	return s.version <= t.version && s.seq <= t.seq && s != t
}

type deadlineItem struct {
	conversation string
	at           time.Time
	pos          int
}

type deadlineHeap []*deadlineItem

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].pos, h[j].pos = i, j
}
func (h *deadlineHeap) Push(x any) {
	it := x.(*deadlineItem)
	it.pos = len(*h)
	*h = append(*h, it)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	it := old[len(old)-1]
	*h = old[:len(old)-1]
	return it
}

func newDeadlines() *deadlines {
	return &deadlines{index: map[string]*deadlineItem{}, seen: map[string]stamp{}, wake: make(chan struct{}, 1)}
}

// track records a conversation's earliest deadline, or forgets it when it has none.
// A state older than one tracked before is ignored.
func (d *deadlines) track(c *store.Conversation) {
	var at *time.Time
	if c.State.Open() {
		for _, t := range []*time.Time{c.AcceptDeadline, c.CompletionDeadline} {
			if t != nil && (at == nil || t.Before(*at)) {
				at = t
			}
		}
	}
	st := stamp{c.Version, c.Seq}
	d.mu.Lock()
	defer d.mu.Unlock()
	if prev, ok := d.seen[c.ID]; ok && st.older(prev) {
		return
	}
	if c.State.Open() {
		d.seen[c.ID] = st
	} else {
		delete(d.seen, c.ID)
	}
	d.setLocked(c.ID, at)
}

// set records that a conversation needs a look at at, or at no time when at is nil.
func (d *deadlines) set(id string, at *time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.setLocked(id, at)
}

func (d *deadlines) setLocked(id string, at *time.Time) {
	it, ok := d.index[id]
	switch {
	case at == nil && ok:
		heap.Remove(&d.heap, it.pos)
		delete(d.index, id)
	case at == nil:
		return
	case ok:
		it.at = *at
		heap.Fix(&d.heap, it.pos)
	default:
		it = &deadlineItem{conversation: id, at: *at}
		heap.Push(&d.heap, it)
		d.index[id] = it
	}
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// due removes and returns the conversations whose deadline is at or before now.
func (d *deadlines) due(now time.Time) []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for d.heap.Len() > 0 && !d.heap[0].at.After(now) {
		it := heap.Pop(&d.heap).(*deadlineItem)
		delete(d.index, it.conversation)
		out = append(out, it.conversation)
	}
	return out
}

// next is the earliest deadline, if any.
func (d *deadlines) next() (time.Time, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.heap.Len() == 0 {
		return time.Time{}, false
	}
	return d.heap[0].at, true
}

// commit applies a transition and tracks the deadline it leaves at once: the change feed
// brings it too, but only after the commit is announced, and the deadlines this replica
// sets should not wait for that.
func (e *Engine) commit(ctx context.Context, t store.Transition) (store.Conversation, error) {
	c, err := e.store.Transition(ctx, t)
	if err == nil {
		e.deadlines.track(&c)
	}
	return c, err
}

// loadDeadlines reads the stored deadlines at start-up.
func (e *Engine) loadDeadlines(ctx context.Context) error {
	convs, err := e.store.WithDeadlines(ctx)
	if err != nil {
		return err
	}
	for i := range convs {
		e.deadlines.track(&convs[i])
	}
	return nil
}

// runDeadlines fires deadlines as they come due, until ctx ends.
func (e *Engine) runDeadlines(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := time.Hour
		if at, ok := e.deadlines.next(); ok {
			wait = max(at.Sub(e.now()), 0)
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-e.deadlines.wake:
		case <-timer.C:
			if err := e.fireDue(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("firing deadlines", "error", err)
			}
		}
	}
}

// fireDue handles every deadline that is due: an assigned chat nobody accepted goes to
// the next operator and the one who let it lapse becomes inactive; a chat whose last
// outgoing message is older than the queue's completion timeout closes.
//
// A deadline that fails (the store is unreachable, say) is looked at again after
// deadlineRetry, so no chat is left assigned or open for good; a conflict means the
// chat moved on, and it is looked at again at once to track where it is now.
func (e *Engine) fireDue(ctx context.Context) error {
	now := e.now()
	var errs []error
	for _, id := range e.deadlines.due(now) {
		err := e.fire(ctx, id, now)
		switch {
		case err == nil:
		case errors.Is(err, store.ErrConflict):
			e.deadlines.set(id, &now)
		default:
			retry := now.Add(deadlineRetry)
			e.deadlines.set(id, &retry)
			errs = append(errs, fmt.Errorf("conversation %s: %w", id, err))
		}
	}
	return errors.Join(errs...)
}

// deadlineRetry is how long a deadline that failed waits before it is tried again.
const deadlineRetry = 2 * time.Second

func (e *Engine) fire(ctx context.Context, id string, now time.Time) error {
	c, err := e.store.Conversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	switch {
	case c.State == store.StateAssigned && c.AcceptDeadline != nil && !c.AcceptDeadline.After(now):
		return e.lapse(ctx, c)
	case c.State.Open() && c.CompletionDeadline != nil && !c.CompletionDeadline.After(now):
		return e.complete(ctx, c)
	}
	e.deadlines.track(&c) // moved on meanwhile: keep its current deadline, if any
	return nil
}

// lapse takes an unaccepted chat back to its queue, to go to someone else. The
// operator becomes inactive first, so the routing pass the lapse sets off cannot give
// the chat straight back to them.
func (e *Engine) lapse(ctx context.Context, c store.Conversation) error {
	operator := c.Operator
	timeout := c.AcceptDeadline.Sub(*c.AssignedAt)
	reason := fmt.Sprintf("you did not accept chat %s within %s", c.ID, timeout)
	if _, err := e.store.SetInactive(ctx, operator, reason); err != nil {
		return err
	}
	next, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
		Change: func(c *store.Conversation) {
			c.State, c.Operator, c.AcceptDeadline = store.StateQueued, "", nil
			if !slices.Contains(c.Lapsed, operator) {
				c.Lapsed = append(c.Lapsed, operator)
			}
		},
		Activity: &store.Activity{Type: string(chatv1alpha1.EventAcceptTimedOut), Actor: "routing",
			Detail: operator + " did not accept within " + timeout.String() + "; back to the queue"},
		Events: []store.Event{record(chatv1alpha1.EventAcceptTimedOut, c.ID, operator, "")},
	})
	if errors.Is(err, store.ErrConflict) {
		// They accepted at the last moment (or another replica lapsed it, and made
		// them inactive itself): undo only the first.
		if now, rerr := e.store.Conversation(ctx, c.ID); rerr == nil && now.Operator == operator && now.State == store.StateActive {
			if aerr := e.setActive(ctx, operator, true); aerr != nil {
				return aerr
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	e.metrics.acceptTimeouts.WithLabelValues(next.Queue).Inc()
	e.emit(chatv1alpha1.EventAcceptTimedOut, &next, operator, "")
	e.hub.Publish(mustJSON(Event{Type: "notice", Notice: inactiveNotice(c.ID, timeout)}), TopicOperator(operator))
	return nil
}

// complete closes a chat whose completion timeout passed.
func (e *Engine) complete(ctx context.Context, c store.Conversation) error {
	now := e.now()
	next, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
		Change: func(c *store.Conversation) {
			c.State, c.ClosedAt, c.AcceptDeadline, c.CompletionDeadline, c.Offered = store.StateClosed, &now, nil, nil, nil
		},
		Activity: &store.Activity{Type: string(chatv1alpha1.EventChatFinished), Actor: "routing",
			Detail: "completion timeout: no message since the operator's last one"},
		Events: []store.Event{record(chatv1alpha1.EventChatFinished, c.ID, "", "completion timeout")},
	})
	if err == nil {
		e.emit(chatv1alpha1.EventChatFinished, &next, "", "completion timeout")
	}
	return err
}
