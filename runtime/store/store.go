// Package store is the runtime's durable state: contacts, conversations, messages,
// operator presence and the activity stream of every conversation. One interface, two
// implementations (embedded SQLite and PostgreSQL, in package sqlstore), one shared test
// suite (package storetest).
//
// Every write is committed before it returns, and every committed change is announced
// to subscribers exactly once per process, in commit order: on PostgreSQL through
// LISTEN/NOTIFY, so all replicas see every change.
package store

import (
	"context"
	"errors"
	"time"
)

// State of a conversation.
type State string

// Conversation states. Bot → Queued → Assigned (offered, awaiting acceptance) → Active
// → Closed; Missed is an offline message left while nobody was online.
const (
	StateBot      State = "Bot"
	StateQueued   State = "Queued"
	StateAssigned State = "Assigned"
	StateActive   State = "Active"
	StateClosed   State = "Closed"
	StateMissed   State = "Missed"
)

// Open reports whether a conversation in state s is still going on; an offline
// message (Missed) is, until an operator answers or dismisses it.
func (s State) Open() bool { return s != StateClosed }

// Errors.
var (
	ErrNotFound = errors.New("not found")
	// ErrConflict means the conversation changed since it was read: someone else took,
	// closed or moved it first.
	ErrConflict = errors.New("conflict: the conversation changed meanwhile")
	// ErrClosed means a message was appended to a closed conversation.
	ErrClosed = errors.New("the conversation is closed")
	// ErrLimit means the operator already holds as many chats as their limit.
	ErrLimit = errors.New("the operator holds as many chats as their limit")
	// ErrUnavailable means routing's claim found the operator not online or inactive.
	ErrUnavailable = errors.New("the operator is not online and active")
	// ErrOpenExists means the contact already has an open conversation on the channel:
	// a contact has at most one.
	ErrOpenExists = errors.New("the contact has an open conversation on this channel already")
	// ErrStoreClosed: the store was closed (the runtime is stopping); nothing was written.
	ErrStoreClosed = errors.New("the store is closed: the runtime is shutting down")
)

// Contact is one identity on one channel: a Telegram chat, a widget visitor, an employee.
type Contact struct {
	ID         string    `json:"id"`
	Channel    string    `json:"channel"`
	ExternalID string    `json:"externalID"`
	Name       string    `json:"name,omitempty"`
	Email      string    `json:"email,omitempty"`
	Phone      string    `json:"phone,omitempty"`
	TokenHash  string    `json:"-"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Conversation is one chat between a contact and the LiveChat's operators.
type Conversation struct {
	ID        string `json:"id"`
	Channel   string `json:"channel"`
	Queue     string `json:"queue"`
	ContactID string `json:"contactID"`
	State     State  `json:"state"`
	// Operator holds the chat (Assigned or Active); empty otherwise.
	Operator string `json:"operator,omitempty"`
	// LastOperator is the last operator who held the chat.
	LastOperator string `json:"lastOperator,omitempty"`
	// Offered lists the operators a chat is offered to under AllAgents.
	Offered []string `json:"offered,omitempty"`
	// Lapsed lists the operators who let this chat's accept timeout pass; it goes to
	// them again only when nobody else can take it.
	Lapsed             []string   `json:"lapsed,omitempty"`
	BotAnswered        bool       `json:"botAnswered,omitempty"`
	QueuedAt           *time.Time `json:"queuedAt,omitempty"`
	AssignedAt         *time.Time `json:"assignedAt,omitempty"`
	AcceptDeadline     *time.Time `json:"acceptDeadline,omitempty"`
	CompletionDeadline *time.Time `json:"completionDeadline,omitempty"`
	LastMessageAt      *time.Time `json:"lastMessageAt,omitempty"`
	LastOutgoingAt     *time.Time `json:"lastOutgoingAt,omitempty"`
	CreatedAt          time.Time  `json:"createdAt"`
	UpdatedAt          time.Time  `json:"updatedAt"`
	ClosedAt           *time.Time `json:"closedAt,omitempty"`
	// Seq is the sequence number of the conversation's last message.
	Seq int64 `json:"seq"`
	// Version increases with every change; transitions compare it.
	Version int64 `json:"version"`
}

// Direction of a message.
type Direction string

// Directions: in from the contact, out to the contact, system notes.
const (
	DirectionIn     Direction = "in"
	DirectionOut    Direction = "out"
	DirectionSystem Direction = "system"
)

// Message is one message of a conversation.
type Message struct {
	ID             int64     `json:"id"`
	ConversationID string    `json:"conversationID"`
	Seq            int64     `json:"seq"`
	Direction      Direction `json:"direction"`
	// AuthorKind is contact, operator, bot or system; Author names the operator.
	AuthorKind string    `json:"authorKind"`
	Author     string    `json:"author,omitempty"`
	Text       string    `json:"text"`
	ProviderID string    `json:"providerID,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// Queue of the conversation when the message was stored; not persisted with it.
	Queue string `json:"queue,omitempty"`
	// CompletionDeadline, when set, becomes the conversation's completion deadline;
	// ClearCompletion removes it. Not persisted with the message.
	CompletionDeadline *time.Time `json:"-"`
	ClearCompletion    bool       `json:"-"`
	// BotAnswer stores the message only while the bot holds the conversation (state
	// Bot; ErrConflict otherwise) and flags the conversation BotAnswered in the same
	// transaction, so a bot's answer racing a handover never lands after it. Not
	// persisted with the message.
	BotAnswer bool `json:"-"`
}

// Presence of an operator.
type Presence string

// Presences. Away operators keep their chats but get no new ones.
const (
	PresenceOnline  Presence = "online"
	PresenceAway    Presence = "away"
	PresenceOffline Presence = "offline"
)

// Operator is an operator's runtime state. Their settings live in the configuration.
type Operator struct {
	Name     string   `json:"name"`
	Presence Presence `json:"presence"`
	// Active is false after the operator let an assigned chat lapse: no new chats until
	// they set themselves active again.
	Active         bool       `json:"active"`
	LastAssignedAt *time.Time `json:"lastAssignedAt,omitempty"`
	UpdatedAt      time.Time  `json:"updatedAt"`
}

// Activity is one entry of a conversation's activity stream.
type Activity struct {
	ID             int64     `json:"id"`
	ConversationID string    `json:"conversationID"`
	Type           string    `json:"type"`
	Actor          string    `json:"actor,omitempty"`
	Detail         string    `json:"detail,omitempty"`
	CreatedAt      time.Time `json:"createdAt"`
}

// ChangeKind says what a Change carries.
type ChangeKind string

// Change kinds.
const (
	ChangeMessage      ChangeKind = "message"
	ChangeConversation ChangeKind = "conversation"
	ChangeOperator     ChangeKind = "operator"
	// ChangeResync carries nothing: the feed may have missed changes (its connection
	// to the database was lost and is back), so whatever a subscriber keeps from the
	// feed must be read afresh.
	ChangeResync ChangeKind = "resync"
)

// Change announces one committed write.
type Change struct {
	Kind         ChangeKind    `json:"kind"`
	Message      *Message      `json:"message,omitempty"`
	Conversation *Conversation `json:"conversation,omitempty"`
	Operator     *Operator     `json:"operator,omitempty"`
}

// ConversationFilter selects conversations; zero fields do not filter.
type ConversationFilter struct {
	Queues    []string
	States    []State
	Operator  string
	ContactID string
	Limit     int
}

// Transition is a conditional change of a conversation: it applies only if the
// conversation is still at Version, so of two concurrent takes exactly one wins.
type Transition struct {
	ID      string
	Version int64
	Change  func(*Conversation)
	// Activity is recorded in the same transaction.
	Activity *Activity
	// Claim, when set, gives the conversation to an operator only if they hold fewer
	// chats than the limit, checked in the same transaction with the operator locked,
	// so no two replicas can push an operator past it (ErrLimit otherwise). When the
	// chat passes to a new holder, their last assignment time is recorded, for
	// routing's tie-break; accepting a chat one already holds does not count.
	Claim *Claim
}

// Claim is an operator taking on a chat.
type Claim struct {
	Operator string
	Limit    int
	// Routed claims come from routing, which acts on what it read a moment ago: the
	// store refuses them (ErrUnavailable) unless the operator is online and active now.
	Routed bool
}

// Store is the runtime's durable state.
type Store interface {
	// UpsertContact returns the contact of (channel, externalID), creating it with c's
	// fields if it does not exist.
	UpsertContact(ctx context.Context, c Contact) (Contact, error)
	Contact(ctx context.Context, id string) (Contact, error)
	ContactByToken(ctx context.Context, tokenHash string) (Contact, error)
	UpdateContact(ctx context.Context, c Contact) error

	// CreateConversation stores a new conversation and its first activity;
	// ErrOpenExists when the contact has an open one on the channel already.
	CreateConversation(ctx context.Context, c Conversation, a Activity) (Conversation, error)
	Conversation(ctx context.Context, id string) (Conversation, error)
	Conversations(ctx context.Context, f ConversationFilter) ([]Conversation, error)
	// CountByState counts conversations by state.
	CountByState(ctx context.Context) (map[State]int, error)
	// Loads counts the chats each operator holds (Assigned or Active).
	Loads(ctx context.Context) (map[string]int, error)
	// WithDeadlines lists the conversations that have an accept or completion deadline.
	WithDeadlines(ctx context.Context) ([]Conversation, error)
	// Transition applies a conditional change; ErrConflict when the version moved on.
	Transition(ctx context.Context, t Transition) (Conversation, error)

	// AppendMessage stores a message with the conversation's next sequence number and
	// updates the conversation's timestamps; ErrClosed when the conversation is closed,
	// ErrConflict when m.BotAnswer and the bot no longer holds it. A message whose
	// ProviderID was stored before for the same channel is not stored again: the
	// earlier one is returned with duplicate true.
	AppendMessage(ctx context.Context, channel string, m Message) (stored Message, duplicate bool, err error)
	// Messages returns up to limit messages with Seq > afterSeq, in order.
	Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) ([]Message, error)

	// SetPresence records an operator's presence (unless p is empty, which keeps it)
	// and, if active is not nil, activity.
	SetPresence(ctx context.Context, name string, p Presence, active *bool) (Operator, error)
	Operators(ctx context.Context) ([]Operator, error)

	Activity(ctx context.Context, conversationID string) ([]Activity, error)
	// AppendActivity records an entry that comes with no other change.
	AppendActivity(ctx context.Context, a Activity) error

	// Subscribe calls fn for every committed change, in commit order, from one
	// goroutine. It returns a function that stops the subscription.
	Subscribe(fn func(Change)) (cancel func())
	Close() error
}
