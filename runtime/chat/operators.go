package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Me describes an authenticated operator.
type Me struct {
	Name        string   `json:"name"`
	DisplayName string   `json:"displayName"`
	Queues      []string `json:"queues"`
	Supervisor  bool     `json:"supervisor"`
	MaxChats    int32    `json:"maxChats"`
	// Availability is set where the operator's own state is asked for (GET
	// /api/v1/me, the console feed's "me" events), not on every request.
	*Availability
}

// Operator returns who an authenticated name is; Forbidden when they are no operator
// of this LiveChat (an employee who is only an internal client, say).
func (e *Engine) Operator(name string) (Me, error) {
	v := e.view.Load()
	if !v.isOperator(name) {
		return Me{}, Forbidden(fmt.Sprintf("%s is not an operator of any queue of this LiveChat", name))
	}
	p := v.people[name]
	return Me{Name: name, DisplayName: v.displayName(name), Queues: v.visibleQueues(name), Supervisor: v.supervisors[name],
		MaxChats: p.MaxChats}, nil
}

// Person returns the configured person of that name.
func (e *Engine) Person(name string) (config.Person, bool) {
	p := e.view.Load().people[name]
	if p == nil {
		return config.Person{}, false
	}
	return *p, true
}

// Channel returns a channel of the configuration in force, or nil.
func (e *Engine) Channel(name string) *config.Channel { return e.view.Load().channels[name] }

// IsClient reports whether an employee may chat as a client on an internal channel.
func (e *Engine) IsClient(channel, name string) bool {
	return e.view.Load().clients[channel][name]
}

// OpenStates are the states of a conversation that is going on, offline messages
// waiting for an answer included.
var OpenStates = []store.State{store.StateBot, store.StateQueued, store.StateAssigned, store.StateActive, store.StateMissed}

// Visible lists the conversations of the queues an operator sees (every queue for
// supervisors), in the given states (open ones when none are given).
func (e *Engine) Visible(ctx context.Context, operator string, states []store.State) ([]store.Conversation, error) {
	return e.VisiblePage(ctx, operator, states, nil, 0)
}

// VisiblePage lists up to limit (0: all) of the conversations Visible lists, from
// after a cursor (nil: the first).
func (e *Engine) VisiblePage(ctx context.Context, operator string, states []store.State, after *store.ConversationKey, limit int) ([]store.Conversation, error) {
	v := e.view.Load()
	queues := v.visibleQueues(operator)
	if len(queues) == 0 {
		return nil, nil
	}
	if len(states) == 0 {
		states = OpenStates
	}
	states, err := e.withoutOffers(ctx, v, operator, states)
	if err != nil || len(states) == 0 {
		return nil, err
	}
	return e.store.Conversations(ctx, store.ConversationFilter{Queues: queues, States: states, After: after, Limit: limit})
}

// ContactPage lists up to limit (0: all) of a contact's conversations in the queues
// an operator sees (every queue for supervisors), in the given states (every state,
// Closed included, when none are given), from after a cursor (nil: the first), in
// the order of VisiblePage. It is the contact's history, not a list of offers: an
// operator at their limit sees the waiting ones too.
func (e *Engine) ContactPage(ctx context.Context, operator, contact string, states []store.State, after *store.ConversationKey, limit int) ([]store.Conversation, error) {
	queues := e.view.Load().visibleQueues(operator)
	if len(queues) == 0 || contact == "" {
		return nil, nil
	}
	return e.store.Conversations(ctx, store.ConversationFilter{Queues: queues, States: states, ContactID: contact, After: after, Limit: limit})
}

// withoutOffers drops the waiting states (Queued, Missed) from what an operator at
// their limit lists: they see no new chats until one of theirs ends (Creatio).
// Supervisors see every chat.
func (e *Engine) withoutOffers(ctx context.Context, v *view, operator string, states []store.State) ([]store.State, error) {
	waiting := func(s store.State) bool { return s == store.StateQueued || s == store.StateMissed }
	if v.supervisors[operator] || !slices.ContainsFunc(states, waiting) {
		return states, nil
	}
	a, err := e.Availability(ctx, operator)
	if err != nil || !a.AtLimit {
		return states, err
	}
	return slices.DeleteFunc(slices.Clone(states), waiting), nil
}

// Conversation returns a conversation the operator may see.
func (e *Engine) Conversation(ctx context.Context, operator, id string) (store.Conversation, error) {
	c, err := e.store.Conversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, NotFound("no such conversation")
	}
	if err != nil {
		return c, err
	}
	if !e.view.Load().canHandle(operator, c.Queue) {
		return store.Conversation{}, NotFound("no such conversation")
	}
	return c, nil
}

// transition applies change to a conversation the operator may handle, checking with
// check against the state it reads. A concurrent change by someone else surfaces as a
// Conflict that says so; a claim past the operator's limit as a Conflict that says that.
func (e *Engine) transition(ctx context.Context, operator, id string, check func(store.Conversation) error,
	change func(*store.Conversation), activity store.Activity, claim *store.Claim, events ...store.Event) (store.Conversation, error) {
	c, err := e.Conversation(ctx, operator, id)
	if err != nil {
		return c, err
	}
	if err := check(c); err != nil {
		return c, err
	}
	activity.Actor = operator
	next, err := e.commit(ctx, store.Transition{ID: id, Version: c.Version, Change: change, Activity: &activity, Claim: claim, Events: events})
	switch {
	case errors.Is(err, store.ErrConflict):
		return next, Conflict("the conversation changed meanwhile (another operator may have taken it): reload it")
	case errors.Is(err, store.ErrLimit):
		return next, Conflict(fmt.Sprintf("%s already holds as many chats as their limit: a chat must end first", claim.Operator))
	}
	return next, err
}

// limitOf is an operator's limit on simultaneous chats.
func (v *view) limitOf(operator string) int {
	if p := v.people[operator]; p != nil {
		return int(p.MaxChats)
	}
	return int(v.cfg.LiveChat.SimultaneousChats)
}

// Take gives a chat to the operator: a queued one (under AllAgents, the offer on their
// console), one assigned to them (accepting it), or an offline message. The first to
// take a chat wins; everyone else gets a Conflict. The operator's limit holds across
// replicas.
func (e *Engine) Take(ctx context.Context, operator, id string) (store.Conversation, error) {
	if _, err := e.Operator(operator); err != nil {
		return store.Conversation{}, err
	}
	if op, err := e.operatorState(ctx, operator); err != nil {
		return store.Conversation{}, err
	} else if !op.Active {
		return store.Conversation{}, inactiveConflict(op)
	}
	v := e.view.Load()
	now := e.now()
	var waited *time.Time
	var fromQueue bool
	next, err := e.transition(ctx, operator, id, func(c store.Conversation) error {
		switch {
		case c.State == store.StateQueued, c.State == store.StateMissed:
		case c.State == store.StateAssigned && c.Operator == operator:
		case c.State == store.StateAssigned || c.State == store.StateActive:
			return Conflict("another operator has this chat")
		default:
			return Conflict(fmt.Sprintf("the chat is %s: only queued chats can be taken", c.State))
		}
		if c.State != store.StateAssigned {
			waited = c.QueuedAt
		}
		fromQueue = c.State == store.StateQueued
		return nil
	}, func(c *store.Conversation) {
		c.State, c.Operator, c.LastOperator, c.Offered, c.AcceptDeadline = store.StateActive, operator, operator, nil, nil
		if c.AssignedAt == nil {
			c.AssignedAt = &now
		}
	}, store.Activity{Type: string(chatv1alpha1.EventChatAccepted)}, &store.Claim{Operator: operator, Limit: v.limitOf(operator)},
		record(chatv1alpha1.EventChatAccepted, id, operator, ""))
	if err == nil {
		if waited != nil && len(next.Lapsed) == 0 {
			e.metrics.queueWait.WithLabelValues(next.Queue).Observe(now.Sub(*waited).Seconds())
		}
		if q := v.queues[next.Queue]; q != nil && fromQueue {
			// Under AllAgents this is how chats are assigned; under AvailableAgent, an
			// operator taking a waiting chat before routing gave it to anyone.
			e.metrics.assignments.WithLabelValues(q.Name, string(q.Rule)).Inc()
		}
		e.emit(chatv1alpha1.EventChatAccepted, &next, operator, "")
	}
	return next, err
}

// Reply sends an operator's message to the contact. The operator must hold the chat
// (a reply to a chat assigned to them accepts it) or supervise the LiveChat. With a
// completion timeout on the queue, the chat closes that long after the last reply.
func (e *Engine) Reply(ctx context.Context, operator, id, text string) (store.Message, error) {
	text, err := validText(text)
	if err != nil {
		return store.Message{}, err
	}
	return e.reply(ctx, operator, id, store.Message{Text: text})
}

// reply stores and sends an operator's message m (its text, and any attachments).
func (e *Engine) reply(ctx context.Context, operator, id string, m store.Message) (store.Message, error) {
	c, err := e.Conversation(ctx, operator, id)
	if err != nil {
		return store.Message{}, err
	}
	v := e.view.Load()
	switch {
	case !c.State.Open():
		return store.Message{}, Conflict("the chat is closed: the contact starts a new one by writing again")
	case c.State == store.StateAssigned && c.Operator == operator:
		if c, err = e.Take(ctx, operator, id); err != nil {
			return store.Message{}, err
		}
	case c.Operator == operator && c.State == store.StateActive, v.supervisors[operator] && c.State == store.StateActive:
	case c.Operator != "" && c.Operator != operator:
		return store.Message{}, Conflict(fmt.Sprintf("%s has this chat: only they (or a supervisor, once they accepted it) can answer", c.Operator))
	default:
		return store.Message{}, Forbidden("take the chat before answering it")
	}
	m.ConversationID, m.Direction, m.AuthorKind, m.Author = c.ID, store.DirectionOut, "operator", operator
	m.Events = append(m.Events, record(chatv1alpha1.EventMessageSent, c.ID, operator, m.Text))
	if q := v.queues[c.Queue]; q != nil && q.CompletionTimeout.Duration > 0 {
		deadline := e.now().Add(q.CompletionTimeout.Duration)
		m.CompletionDeadline = &deadline
	}
	if ch := v.channels[c.Channel]; ch != nil {
		e.outbound(ch, c, &m)
	}
	m, _, err = e.store.AppendMessage(ctx, c.Channel, m)
	if err != nil {
		return store.Message{}, err
	}
	if m.CompletionDeadline != nil {
		c.CompletionDeadline, c.Seq = m.CompletionDeadline, m.Seq
		e.deadlines.track(&c)
	}
	if ch := v.channels[c.Channel]; ch != nil {
		e.metrics.messages.WithLabelValues(string(ch.Type), string(store.DirectionOut)).Inc()
	}
	e.emit(chatv1alpha1.EventMessageSent, &c, operator, m.Text)
	return m, nil
}

// Forward hands a chat to another operator, who must accept it in time like any
// assigned chat, or to another queue, where it waits to be routed. The operator holding
// the chat may forward it to an operator of its queue or to one of the queue's transfer
// targets; supervisors may move any chat anywhere.
func (e *Engine) Forward(ctx context.Context, actor, id, toOperator, toQueue string) (store.Conversation, error) {
	if (toOperator == "") == (toQueue == "") {
		return store.Conversation{}, Invalid("name exactly one of operator or queue to forward to")
	}
	v := e.view.Load()
	now := e.now()
	check := func(c store.Conversation) error {
		switch {
		case !c.State.Open():
			return Conflict("the chat is closed")
		case c.Operator != actor && !v.supervisors[actor]:
			return Forbidden("only the operator holding the chat or a supervisor can forward it")
		}
		return nil
	}
	if toQueue != "" {
		if v.queues[toQueue] == nil {
			return store.Conversation{}, NotFound(fmt.Sprintf("queue %q does not exist", toQueue))
		}
		next, err := e.transition(ctx, actor, id, func(c store.Conversation) error {
			if err := check(c); err != nil {
				return err
			}
			if from := v.queues[c.Queue]; !v.supervisors[actor] && (from == nil || !slices.Contains(from.TransferTargets, toQueue)) {
				return Forbidden(fmt.Sprintf("queue %q is not a transfer target of %q: add it to the ChatQueue's spec.transferTargets, or ask a supervisor", toQueue, c.Queue))
			}
			return nil
		}, func(c *store.Conversation) {
			c.Queue, c.State, c.Operator, c.QueuedAt = toQueue, store.StateQueued, "", &now
			c.AcceptDeadline, c.CompletionDeadline, c.Offered, c.Lapsed = nil, nil, nil, nil
		}, store.Activity{Type: string(chatv1alpha1.EventChatForwarded), Detail: "to queue " + toQueue}, nil,
			record(chatv1alpha1.EventChatForwarded, id, actor, "to queue "+toQueue))
		if err == nil {
			e.emit(chatv1alpha1.EventChatForwarded, &next, actor, "to queue "+toQueue)
		}
		return next, err
	}
	if !v.isOperator(toOperator) {
		return store.Conversation{}, NotFound(fmt.Sprintf("operator %q does not exist", toOperator))
	}
	next, err := e.transition(ctx, actor, id, func(c store.Conversation) error {
		if err := check(c); err != nil {
			return err
		}
		if !v.canHandle(toOperator, c.Queue) {
			return Forbidden(fmt.Sprintf("%s does not answer queue %q: forward the chat to their queue instead", toOperator, c.Queue))
		}
		return nil
	}, func(c *store.Conversation) {
		timeout := v.cfg.LiveChat.AcceptTimeout.Duration
		if q := v.queues[c.Queue]; q != nil {
			timeout = q.AcceptTimeout.Duration
		}
		deadline := now.Add(timeout)
		c.State, c.Operator, c.LastOperator, c.AssignedAt, c.AcceptDeadline, c.Offered = store.StateAssigned, toOperator, toOperator, &now, &deadline, nil
	}, store.Activity{Type: string(chatv1alpha1.EventChatForwarded), Detail: "to " + toOperator},
		&store.Claim{Operator: toOperator, Limit: v.limitOf(toOperator)}, record(chatv1alpha1.EventChatForwarded, id, toOperator, "by "+actor))
	if err == nil {
		e.emit(chatv1alpha1.EventChatForwarded, &next, toOperator, "by "+actor)
	}
	return next, err
}

// CloseConversation ends a chat. The operator holding it or a supervisor may close it.
func (e *Engine) CloseConversation(ctx context.Context, operator, id string) (store.Conversation, error) {
	v := e.view.Load()
	now := e.now()
	next, err := e.transition(ctx, operator, id, func(c store.Conversation) error {
		switch {
		case !c.State.Open():
			return Conflict("the chat is already closed")
		case c.Operator != operator && !v.supervisors[operator]:
			return Forbidden("only the operator holding the chat or a supervisor can close it")
		}
		return nil
	}, func(c *store.Conversation) {
		c.State, c.ClosedAt, c.AcceptDeadline, c.CompletionDeadline, c.Offered = store.StateClosed, &now, nil, nil, nil
	}, store.Activity{Type: string(chatv1alpha1.EventChatFinished)}, nil, record(chatv1alpha1.EventChatFinished, id, operator, ""))
	if err == nil {
		e.emit(chatv1alpha1.EventChatFinished, &next, operator, "")
	}
	return next, err
}

// SetPresence records an operator's presence; active true also clears the inactivity
// an accept timeout left (with no presence, it changes only that). Going offline
// forwards or drops their open chats, as spec.operatorPresence.openChatsWhenOffline
// says.
func (e *Engine) SetPresence(ctx context.Context, operator string, p store.Presence, active *bool) (store.Operator, error) {
	if _, err := e.Operator(operator); err != nil {
		return store.Operator{}, err
	}
	switch {
	case p == "" && active != nil:
		// {"active":true} alone: back to taking chats, presence unchanged.
		return e.store.SetPresence(ctx, operator, "", active)
	case p == store.PresenceOnline, p == store.PresenceAway, p == store.PresenceOffline:
	default:
		return store.Operator{}, Invalid(fmt.Sprintf("presence %q: use online, away or offline (or send only {\"active\":true} to become active again)", p))
	}
	previous := store.PresenceOffline
	if ops, err := e.store.Operators(ctx); err == nil {
		for _, o := range ops {
			if o.Name == operator {
				previous = o.Presence
			}
		}
	}
	ev := map[store.Presence]chatv1alpha1.EventType{store.PresenceOnline: chatv1alpha1.EventOperatorOnline,
		store.PresenceAway: chatv1alpha1.EventOperatorAway, store.PresenceOffline: chatv1alpha1.EventOperatorOffline}[p]
	if p == store.PresenceOnline && previous == store.PresenceAway {
		ev = chatv1alpha1.EventOperatorBack
	}
	var events []store.Event
	if previous != p {
		events = append(events, record(ev, "", operator, ""))
	}
	op, err := e.store.SetPresence(ctx, operator, p, active, events...)
	if err != nil || previous == p {
		return op, err
	}
	e.emit(ev, nil, operator, "")
	if p == store.PresenceOffline {
		// Their open chats go back to routing, or are dropped; should that fail, the
		// console sweep tries again.
		const why = "they went offline"
		if err := e.releaseChats(ctx, operator, why); err != nil {
			e.releases.add(operator, why)
			e.log.Error("forwarding or dropping the chats of an operator who went offline", "operator", operator, "error", err)
		}
	}
	return op, nil
}
