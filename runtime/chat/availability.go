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
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Availability is whether an operator gets new chats, and why not.
type Availability struct {
	Presence store.Presence `json:"presence"`
	// Active is false after the operator let an accept timeout pass: they take no
	// chats until they set themselves active (PUT /api/v1/me/presence {"active":true}).
	Active         bool   `json:"active"`
	InactiveReason string `json:"inactiveReason,omitempty"`
	// Load is how many chats they hold; AtLimit whether that is their limit, when
	// they are offered no new chats.
	Load    int  `json:"load"`
	Limit   int  `json:"limit"`
	AtLimit bool `json:"atLimit"`
}

// operatorState is an operator's stored state; an operator never seen is offline
// and active.
func (e *Engine) operatorState(ctx context.Context, name string) (store.Operator, error) {
	ops, err := e.store.Operators(ctx)
	if err != nil {
		return store.Operator{}, err
	}
	if i := slices.IndexFunc(ops, func(o store.Operator) bool { return o.Name == name }); i >= 0 {
		return ops[i], nil
	}
	return store.Operator{Name: name, Presence: store.PresenceOffline, Active: true}, nil
}

// Availability returns an operator's availability.
func (e *Engine) Availability(ctx context.Context, name string) (Availability, error) {
	op, err := e.operatorState(ctx, name)
	if err != nil {
		return Availability{}, err
	}
	loads, err := e.store.Loads(ctx)
	if err != nil {
		return Availability{}, err
	}
	limit := e.view.Load().limitOf(name)
	return Availability{Presence: op.Presence, Active: op.Active, InactiveReason: op.InactiveReason,
		Load: loads[name], Limit: limit, AtLimit: loads[name] >= limit}, nil
}

// Me returns who an authenticated operator is, with their availability.
func (e *Engine) Me(ctx context.Context, name string) (Me, error) {
	me, err := e.Operator(name)
	if err != nil {
		return me, err
	}
	a, err := e.Availability(ctx, name)
	me.Availability = &a
	return me, err
}

// inactiveConflict refuses a chat to an inactive operator, saying how to go on.
func inactiveConflict(op store.Operator) error {
	why := op.InactiveReason
	if why == "" {
		why = "a chat assigned to you was not accepted in time"
	}
	return Conflict(fmt.Sprintf("you are inactive (%s): set yourself active (PUT /api/v1/me/presence {\"active\":true}) to take chats", why))
}

// ConsoleOpened tells the engine an operator's console connected. Unless their
// console session goes on (another console is open, here or on another replica, or
// one closed less than spec.operatorPresence.offlineAfter ago) they come online:
// signing in never leaves them offline by surprise. Within a session that goes on,
// a presence they chose (away, offline) stays.
func (e *Engine) ConsoleOpened(ctx context.Context, name string, sessionGoesOn bool) error {
	if sessionGoesOn {
		return nil
	}
	op, err := e.operatorState(ctx, name)
	if err != nil || op.Presence == store.PresenceOnline {
		return err
	}
	_, err = e.SetPresence(ctx, name, store.PresenceOnline, nil)
	return err
}

// consoleSweepEvery is how often lapsed consoles are looked for: the presence
// trackers' poll.
const consoleSweepEvery = 2 * time.Second

// runConsoleSweep sets offline, until ctx ends, the operators whose consoles have all
// been closed for offlineAfter.
func (e *Engine) runConsoleSweep(ctx context.Context) {
	tick := time.NewTicker(consoleSweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := e.LapseConsoles(ctx); err != nil && ctx.Err() == nil {
				e.log.Error("setting offline the operators whose consoles closed", "error", err)
			}
		}
	}
}

// LapseConsoles sets offline the operators whose console records have all lapsed
// (package presence keeps them offlineAfter past the last console's close), and
// forwards or drops their open chats.
func (e *Engine) LapseConsoles(ctx context.Context) error {
	const why = "their console was closed"
	ops, err := e.store.LapseConsoles(ctx, e.now(), record(chatv1alpha1.EventOperatorOffline, "", "", why))
	if err != nil {
		return err
	}
	var errs []error
	for _, op := range ops {
		e.emit(chatv1alpha1.EventOperatorOffline, nil, op.Name, why)
		e.releases.add(op.Name, why)
	}
	for name, why := range e.releases.pending() {
		if err := e.releaseChats(ctx, name, why); err != nil {
			errs = append(errs, fmt.Errorf("the chats of %s: %w", name, err))
			continue
		}
		e.releases.done(name)
	}
	return errors.Join(errs...)
}

// releases are the operators gone offline whose chats are still to forward or drop:
// a release that failed is tried again at the next sweep.
type releases struct {
	mu   sync.Mutex
	todo map[string]string // operator → why they went offline
}

func (r *releases) add(name, why string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.todo == nil {
		r.todo = map[string]string{}
	}
	r.todo[name] = why
}

func (r *releases) pending() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]string, len(r.todo))
	for k, v := range r.todo {
		out[k] = v
	}
	return out
}

func (r *releases) done(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.todo, name)
}

// releaseChats forwards an operator who went offline's open chats back to their
// queues, or drops (closes) them, as spec.operatorPresence.openChatsWhenOffline says
// (Userlike: "existing ones will be either forwarded or dropped").
func (e *Engine) releaseChats(ctx context.Context, operator, why string) error {
	held, err := e.store.Conversations(ctx, store.ConversationFilter{Operator: operator,
		States: []store.State{store.StateAssigned, store.StateActive}})
	if err != nil {
		return err
	}
	policy := e.view.Load().cfg.LiveChat.OperatorPresence.Resolved().OpenChatsWhenOffline
	var errs []error
	for _, c := range held {
		for range 3 {
			err = e.release(ctx, c, operator, why, policy)
			if !errors.Is(err, store.ErrConflict) {
				break
			}
			// Changed meanwhile (a message moved its deadline): look again.
			if c, err = e.store.Conversation(ctx, c.ID); err != nil || c.Operator != operator || !c.State.Open() {
				break
			}
		}
		if err != nil && !errors.Is(err, store.ErrConflict) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (e *Engine) release(ctx context.Context, c store.Conversation, operator, why string, policy config.OpenChatsPolicy) error {
	now := e.now()
	if policy == config.OpenChatsDrop {
		detail := fmt.Sprintf("dropped: %s went offline (%s)", operator, why)
		next, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
			Change: func(c *store.Conversation) {
				c.State, c.ClosedAt, c.AcceptDeadline, c.CompletionDeadline, c.Offered = store.StateClosed, &now, nil, nil, nil
			},
			Activity: &store.Activity{Type: string(chatv1alpha1.EventChatFinished), Actor: "routing", Detail: detail},
			Events:   []store.Event{record(chatv1alpha1.EventChatFinished, c.ID, operator, detail)}})
		if err == nil {
			e.emit(chatv1alpha1.EventChatFinished, &next, operator, detail)
		}
		return err
	}
	detail := fmt.Sprintf("back to queue %s: %s went offline (%s)", c.Queue, operator, why)
	next, err := e.commit(ctx, store.Transition{ID: c.ID, Version: c.Version,
		Change: func(c *store.Conversation) {
			c.State, c.Operator, c.QueuedAt = store.StateQueued, "", &now
			c.AcceptDeadline, c.CompletionDeadline, c.Offered = nil, nil, nil
		},
		Activity: &store.Activity{Type: string(chatv1alpha1.EventChatForwarded), Actor: "routing", Detail: detail},
		Events:   []store.Event{record(chatv1alpha1.EventChatForwarded, c.ID, operator, detail)}})
	if err == nil {
		e.emit(chatv1alpha1.EventChatForwarded, &next, operator, detail)
	}
	return err
}

// QueueOnline reports whether any operator of a queue is online and active: whether a
// visitor who writes now is answered, or leaves an offline message.
func (e *Engine) QueueOnline(ctx context.Context, queue string) (bool, error) {
	q := e.view.Load().queues[queue]
	if q == nil {
		return false, nil
	}
	ops, err := e.store.Operators(ctx)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(ops, func(o store.Operator) bool {
		return o.Presence == store.PresenceOnline && o.Active && slices.Contains(q.Operators, o.Name)
	}), nil
}

// availabilityFeed tells each operator's consoles their availability when it
// changes: a change marks the operators it concerns; one goroutine reads and
// publishes theirs, and only what differs from what it published last.
type availabilityFeed struct {
	mu    sync.Mutex
	dirty map[string]bool
	wake  chan struct{}
	last  map[string]Availability
	// overview is whether the supervisor overview may have changed since
	// supervisors were last told (at most once per overviewEvery).
	overview     bool
	overviewSent time.Time
}

// overviewEvery spaces the "overview" events a supervisor's console gets: a busy
// LiveChat changes its overview many times a second.
const overviewEvery = time.Second

func newAvailabilityFeed() *availabilityFeed {
	return &availabilityFeed{dirty: map[string]bool{}, wake: make(chan struct{}, 1), last: map[string]Availability{}}
}

// availabilityMoved marks operators whose availability may have changed.
func (e *Engine) availabilityMoved(names ...string) {
	f := e.availability
	f.mu.Lock()
	for _, n := range names {
		if n != "" {
			f.dirty[n] = true
		}
	}
	f.overview = true
	f.mu.Unlock()
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) runAvailability(ctx context.Context) {
	later := time.NewTimer(time.Hour)
	defer later.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-e.availability.wake:
		case <-later.C:
		}
		if err := e.publishAvailability(ctx); err != nil && ctx.Err() == nil {
			e.log.Warn("telling operators their availability", "error", err)
		}
		if wait := e.publishOverview(time.Now()); wait > 0 {
			later.Reset(wait)
		}
	}
}

// publishOverview tells supervisors' consoles that the overview changed (type
// "overview": read GET /api/v1/supervisor/overview again), unless they were told less
// than overviewEvery ago; then it returns how long to wait before telling them.
func (e *Engine) publishOverview(now time.Time) time.Duration {
	f := e.availability
	f.mu.Lock()
	if !f.overview {
		f.mu.Unlock()
		return 0
	}
	if wait := f.overviewSent.Add(overviewEvery).Sub(now); wait > 0 {
		f.mu.Unlock()
		return wait
	}
	f.overview, f.overviewSent = false, now
	f.mu.Unlock()
	v := e.view.Load()
	topics := make([]string, 0, len(v.cfg.LiveChat.Supervisors))
	for _, s := range v.cfg.LiveChat.Supervisors {
		topics = append(topics, TopicOperator(s))
	}
	if len(topics) > 0 {
		e.hub.Publish(mustJSON(Event{Type: "overview"}), topics...)
	}
	return 0
}

// publishAvailability sends the marked operators' consoles a "me" event where their
// availability changed.
func (e *Engine) publishAvailability(ctx context.Context) error {
	f := e.availability
	f.mu.Lock()
	names := make([]string, 0, len(f.dirty))
	for n := range f.dirty {
		names = append(names, n)
	}
	clear(f.dirty)
	f.mu.Unlock()
	slices.Sort(names)
	for _, n := range names {
		me, err := e.Me(ctx, n)
		if KindOf(err) == KindForbidden {
			continue // no operator of this LiveChat (any more)
		}
		if err != nil {
			return err
		}
		f.mu.Lock()
		same := f.last[n] == *me.Availability
		f.last[n] = *me.Availability
		f.mu.Unlock()
		if !same {
			e.hub.Publish(mustJSON(Event{Type: "me", Me: &me}), TopicOperator(n))
		}
	}
	return nil
}

// HasOpenConversation reports whether the contact has an open conversation on the
// channel, which opening again resumes.
func (e *Engine) HasOpenConversation(ctx context.Context, contact store.Contact) (bool, error) {
	ch := e.view.Load().channels[contact.Channel]
	if ch == nil {
		return false, nil
	}
	_, found, err := e.findOpen(ctx, ch, contact)
	return found, err
}
