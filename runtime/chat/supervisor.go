package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Overview is what supervisors watch: every queue's waiting chats and every
// operator's presence and load.
type Overview struct {
	Queues    []QueueOverview    `json:"queues"`
	Operators []OperatorOverview `json:"operators"`
}

// QueueOverview is one queue: its chats waiting for an operator, oldest first, and
// how many of its operators are online.
type QueueOverview struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// Waiting lists the chats waiting (Queued) and the offline messages (Missed),
	// at most overviewWaiting of them; WaitingCount counts them all.
	Waiting         []WaitingChat `json:"waiting"`
	WaitingCount    int           `json:"waitingCount"`
	OperatorsOnline int           `json:"operatorsOnline"`
}

// WaitingChat is a chat waiting in a queue.
type WaitingChat struct {
	ID          string      `json:"id"`
	State       store.State `json:"state"`
	QueuedAt    time.Time   `json:"queuedAt"`
	WaitSeconds int64       `json:"waitSeconds"`
}

// OperatorOverview is one operator as supervisors see them.
type OperatorOverview struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName,omitempty"`
	Queues      []string `json:"queues"`
	Availability
}

// overviewWaiting bounds the waiting chats listed per queue.
const overviewWaiting = 100

// Overview returns the supervisor overview; Forbidden unless the operator supervises.
func (e *Engine) Overview(ctx context.Context, supervisor string) (Overview, error) {
	v := e.view.Load()
	if !v.supervisors[supervisor] {
		return Overview{}, notSupervisor("see the supervisor overview")
	}
	queues := make([]string, 0, len(v.cfg.Queues))
	for _, q := range v.cfg.Queues {
		queues = append(queues, q.Name)
	}
	waiting, err := e.store.Conversations(ctx, store.ConversationFilter{Queues: queues,
		States: []store.State{store.StateQueued, store.StateMissed}})
	if err != nil {
		return Overview{}, err
	}
	ops, err := e.store.Operators(ctx)
	if err != nil {
		return Overview{}, err
	}
	loads, err := e.store.Loads(ctx)
	if err != nil {
		return Overview{}, err
	}
	state := map[string]store.Operator{}
	for _, o := range ops {
		state[o.Name] = o
	}
	now := e.now()
	out := Overview{Queues: []QueueOverview{}, Operators: []OperatorOverview{}}
	for _, q := range v.cfg.Queues {
		qo := QueueOverview{Name: q.Name, DisplayName: q.DisplayName, Waiting: []WaitingChat{}}
		for _, c := range waiting {
			if c.Queue != q.Name {
				continue
			}
			qo.WaitingCount++
			if len(qo.Waiting) < overviewWaiting {
				at := c.CreatedAt
				if c.QueuedAt != nil {
					at = *c.QueuedAt
				}
				qo.Waiting = append(qo.Waiting, WaitingChat{ID: c.ID, State: c.State, QueuedAt: at,
					WaitSeconds: int64(max(now.Sub(at), 0) / time.Second)})
			}
		}
		for _, name := range q.Operators {
			if state[name].Presence == store.PresenceOnline {
				qo.OperatorsOnline++
			}
		}
		out.Queues = append(out.Queues, qo)
	}
	var names []string
	for _, p := range v.cfg.People {
		if v.isOperator(p.Name) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		o, known := state[name]
		if !known {
			o = store.Operator{Presence: store.PresenceOffline, Active: true}
		}
		limit := v.limitOf(name)
		out.Operators = append(out.Operators, OperatorOverview{Name: name, DisplayName: v.displayName(name),
			Queues: append([]string{}, v.opQueues[name]...),
			Availability: Availability{Presence: o.Presence, Active: o.Active, InactiveReason: o.InactiveReason,
				Load: loads[name], Limit: limit, AtLimit: loads[name] >= limit}})
	}
	return out, nil
}

func notSupervisor(what string) error {
	return Forbidden(fmt.Sprintf("only supervisors may %s: members of the LiveChat's spec.supervisorGroups", what))
}

// Reassign gives a chat to another operator, who must accept it in time like any
// assigned chat. Only supervisors reassign. The target must answer the chat's queue,
// be online or away and active, and be below their limit: a supervisor does not push
// an operator past it (Creatio: an operator at their limit sees no new chats).
func (e *Engine) Reassign(ctx context.Context, supervisor, id, target string) (store.Conversation, error) {
	v := e.view.Load()
	if !v.supervisors[supervisor] {
		return store.Conversation{}, notSupervisor("reassign chats")
	}
	if target == "" {
		return store.Conversation{}, Invalid(`name the operator to reassign the chat to: {"operator":"<name>"}`)
	}
	if !v.isOperator(target) {
		return store.Conversation{}, NotFound(fmt.Sprintf("operator %q does not exist in this LiveChat", target))
	}
	op, err := e.operatorState(ctx, target)
	if err != nil {
		return store.Conversation{}, err
	}
	switch {
	case op.Presence == store.PresenceOffline:
		return store.Conversation{}, Conflict(fmt.Sprintf("%s is offline: reassign the chat to an operator who is online or away", target))
	case !op.Active:
		return store.Conversation{}, Conflict(fmt.Sprintf("%s is inactive (%s): they take no chats until they set themselves active", target, op.InactiveReason))
	}
	now := e.now()
	return e.supervise(ctx, supervisor, id, func(c store.Conversation) error {
		switch {
		case c.Operator == target:
			return Conflict(fmt.Sprintf("%s holds this chat already", target))
		case !v.canHandle(target, c.Queue):
			return Conflict(fmt.Sprintf("%s does not answer queue %q: add them to one of its operatorGroups, or move the chat to a queue they answer", target, c.Queue))
		}
		return nil
	}, func(c *store.Conversation) {
		deadline := now.Add(e.acceptTimeout(c.Queue))
		c.State, c.Operator, c.LastOperator, c.AssignedAt, c.AcceptDeadline, c.Offered = store.StateAssigned, target, target, &now, &deadline, nil
	}, func(from string) string { return reassignDetail(target, from, supervisor) }, target,
		&store.Claim{Operator: target, Limit: v.limitOf(target)})
}

func reassignDetail(target, from, supervisor string) string {
	if from == "" {
		return fmt.Sprintf("reassigned to %s by supervisor %s", target, supervisor)
	}
	return fmt.Sprintf("reassigned from %s to %s by supervisor %s", from, target, supervisor)
}

// acceptTimeout is a queue's accept timeout.
func (e *Engine) acceptTimeout(queue string) time.Duration {
	v := e.view.Load()
	if q := v.queues[queue]; q != nil {
		return q.AcceptTimeout.Duration
	}
	return v.cfg.LiveChat.AcceptTimeout.Duration
}

// Takeover gives a chat to the supervisor, active at once: they answer it from now
// on. A takeover is an intervention, so it is not held to the supervisor's own limit.
func (e *Engine) Takeover(ctx context.Context, supervisor, id string) (store.Conversation, error) {
	v := e.view.Load()
	if !v.supervisors[supervisor] {
		return store.Conversation{}, notSupervisor("take chats over")
	}
	now := e.now()
	return e.supervise(ctx, supervisor, id, func(c store.Conversation) error {
		if c.Operator == supervisor && c.State == store.StateActive {
			return Conflict("you hold this chat already")
		}
		return nil
	}, func(c *store.Conversation) {
		c.State, c.Operator, c.LastOperator, c.AcceptDeadline, c.Offered = store.StateActive, supervisor, supervisor, nil, nil
		if c.AssignedAt == nil {
			c.AssignedAt = &now
		}
	}, func(from string) string { return takeoverDetail(supervisor, from) }, supervisor, nil)
}

// supervise applies a supervisor's change to an open chat that no bot holds,
// recording in its activity (with the supervisor as actor) and as a ChatForwarded
// event the detail of who held it before; claim, when set, holds the new holder to
// their limit.
func (e *Engine) supervise(ctx context.Context, supervisor, id string, check func(store.Conversation) error,
	change func(*store.Conversation), detail func(from string) string, holder string, claim *store.Claim) (store.Conversation, error) {
	c, err := e.Conversation(ctx, supervisor, id)
	if err != nil {
		return c, err
	}
	switch {
	case !c.State.Open():
		return c, Conflict("the chat is closed")
	case c.State == store.StateBot:
		return c, Conflict("the channel's bot holds this chat: it reaches operators once the bot hands it over")
	}
	if err := check(c); err != nil {
		return c, err
	}
	d := detail(c.Operator)
	next, err := e.commit(ctx, store.Transition{ID: id, Version: c.Version, Change: change, Claim: claim,
		Activity: &store.Activity{Type: string(chatv1alpha1.EventChatForwarded), Actor: supervisor, Detail: d},
		Events:   []store.Event{record(chatv1alpha1.EventChatForwarded, id, holder, d)}})
	switch {
	case errors.Is(err, store.ErrConflict):
		return next, Conflict("the chat changed meanwhile: reload it and try again")
	case errors.Is(err, store.ErrLimit):
		return next, Conflict(fmt.Sprintf("%s already holds as many chats as their limit: a chat must end first (supervisors do not push operators past it)", claim.Operator))
	case err != nil:
		return next, err
	}
	e.emit(chatv1alpha1.EventChatForwarded, &next, holder, d)
	return next, nil
}

func takeoverDetail(supervisor, from string) string {
	if from == "" {
		return "taken over by supervisor " + supervisor
	}
	return fmt.Sprintf("taken over from %s by supervisor %s", from, supervisor)
}
