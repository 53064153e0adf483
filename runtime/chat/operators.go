package chat

import (
	"context"
	"errors"
	"fmt"

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

// IsClient reports whether an employee may chat as a client on an internal channel.
func (e *Engine) IsClient(channel, name string) bool {
	return e.view.Load().clients[channel][name]
}

// OpenStates are the states of a conversation that is going on.
var OpenStates = []store.State{store.StateBot, store.StateQueued, store.StateAssigned, store.StateActive}

// Visible lists the conversations of the queues an operator sees (every queue for
// supervisors), in the given states (open ones when none are given).
func (e *Engine) Visible(ctx context.Context, operator string, states []store.State) ([]store.Conversation, error) {
	v := e.view.Load()
	queues := v.visibleQueues(operator)
	if len(queues) == 0 {
		return nil, nil
	}
	if len(states) == 0 {
		states = OpenStates
	}
	return e.store.Conversations(ctx, store.ConversationFilter{Queues: queues, States: states})
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
// Conflict that says so.
func (e *Engine) transition(ctx context.Context, operator, id string, check func(store.Conversation) error,
	change func(*store.Conversation), activity store.Activity) (store.Conversation, error) {
	c, err := e.Conversation(ctx, operator, id)
	if err != nil {
		return c, err
	}
	if err := check(c); err != nil {
		return c, err
	}
	activity.Actor = operator
	next, err := e.store.Transition(ctx, store.Transition{ID: id, Version: c.Version, Change: change, Activity: &activity})
	if errors.Is(err, store.ErrConflict) {
		return next, Conflict("the conversation changed meanwhile (another operator may have taken it): reload it")
	}
	return next, err
}

// load counts the chats an operator holds, across every queue and channel.
func (e *Engine) load(ctx context.Context, operator string) (int, error) {
	held, err := e.store.Conversations(ctx, store.ConversationFilter{Operator: operator,
		States: []store.State{store.StateAssigned, store.StateActive}})
	return len(held), err
}

// Take gives a queued chat, or one offered to the operator, to the operator: the first
// to take it wins, everyone else gets a Conflict.
func (e *Engine) Take(ctx context.Context, operator, id string) (store.Conversation, error) {
	me, err := e.Operator(operator)
	if err != nil {
		return store.Conversation{}, err
	}
	held, err := e.load(ctx, operator)
	if err != nil {
		return store.Conversation{}, err
	}
	if held >= int(me.MaxChats) && !me.Supervisor {
		return store.Conversation{}, Conflict(fmt.Sprintf("you hold %d chats, your limit: close one first", held))
	}
	now := e.now()
	return e.transition(ctx, operator, id, func(c store.Conversation) error {
		switch {
		case c.State == store.StateQueued:
		case c.State == store.StateAssigned && c.Operator == operator:
		case c.State == store.StateAssigned || c.State == store.StateActive:
			return Conflict("another operator has this chat")
		default:
			return Conflict(fmt.Sprintf("the chat is %s: only queued chats can be taken", c.State))
		}
		return nil
	}, func(c *store.Conversation) {
		c.State, c.Operator, c.LastOperator, c.Offered = store.StateActive, operator, operator, nil
		c.AcceptDeadline = nil
		if c.AssignedAt == nil {
			c.AssignedAt = &now
		}
	}, store.Activity{Type: "ChatAccepted"})
}

// Reply sends an operator's message to the contact. The operator must hold the chat
// (a reply to a chat offered to them accepts it) or supervise the LiveChat.
func (e *Engine) Reply(ctx context.Context, operator, id, text string) (store.Message, error) {
	text, err := validText(text)
	if err != nil {
		return store.Message{}, err
	}
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
	case c.Operator == operator || v.supervisors[operator]:
	default:
		return store.Message{}, Forbidden("take the chat before answering it")
	}
	ch := v.channels[c.Channel]
	m, _, err := e.store.AppendMessage(ctx, c.Channel, store.Message{ConversationID: c.ID, Direction: store.DirectionOut,
		AuthorKind: "operator", Author: operator, Text: text})
	if err != nil {
		return store.Message{}, err
	}
	if ch != nil {
		e.metrics.messages.WithLabelValues(string(ch.Type), string(store.DirectionOut)).Inc()
	}
	return m, nil
}

// CloseConversation ends a chat. The operator holding it or a supervisor may close it.
func (e *Engine) CloseConversation(ctx context.Context, operator, id string) (store.Conversation, error) {
	v := e.view.Load()
	now := e.now()
	return e.transition(ctx, operator, id, func(c store.Conversation) error {
		switch {
		case !c.State.Open():
			return Conflict("the chat is already closed")
		case c.Operator != operator && !v.supervisors[operator]:
			return Forbidden("only the operator holding the chat or a supervisor can close it")
		}
		return nil
	}, func(c *store.Conversation) {
		c.State, c.ClosedAt, c.AcceptDeadline, c.CompletionDeadline, c.Offered = store.StateClosed, &now, nil, nil, nil
	}, store.Activity{Type: "ChatFinished"})
}

// SetPresence records an operator's presence; active true also clears the inactivity
// an accept timeout left.
func (e *Engine) SetPresence(ctx context.Context, operator string, p store.Presence, active *bool) (store.Operator, error) {
	if _, err := e.Operator(operator); err != nil {
		return store.Operator{}, err
	}
	switch p {
	case store.PresenceOnline, store.PresenceAway, store.PresenceOffline:
	default:
		return store.Operator{}, Invalid(fmt.Sprintf("presence %q: use online, away or offline", p))
	}
	return e.store.SetPresence(ctx, operator, p, active)
}
