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
	// OptedOut: the contact asked for no more messages (an SMS STOP); nothing is sent
	// to them until they ask again (START).
	OptedOut bool `json:"optedOut,omitempty"`
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
	// Rating, Feedback, Survey and Goals are what the visitor told of the chat
	// (feedback.go); recording them moves no Version.
	Rating   *Rating           `json:"rating,omitempty"`
	Feedback string            `json:"feedback,omitempty"`
	Survey   map[string]string `json:"survey,omitempty"`
	Goals    []string          `json:"goals,omitempty"`
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
	// Delivery is where an outgoing message to a messenger stands (empty for the
	// others); DeliveryError is the provider's reason when it failed.
	Delivery      DeliveryState `json:"delivery,omitempty"`
	DeliveryError string        `json:"deliveryError,omitempty"`
	// Attachments are the files the message carries, without their bytes (those are
	// read one at a time, by Store.Attachment). AppendMessage stores them with the
	// message, bytes included.
	Attachments []Attachment `json:"attachments,omitempty"`
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
	// Events are recorded in the message's transaction. Not persisted with the
	// message.
	Events []Event `json:"-"`
	// Jobs are enqueued in the outbox in the message's transaction, so a reply and
	// its send commit together or not at all. A job without a Key is ordered by the
	// conversation, one without an IdempotencyKey gets one from its kind and the
	// message's id; MessageID is set to the message's. Not persisted with the message.
	Jobs []Job `json:"-"`
}

// AttachmentState says whether an attachment's file is kept.
type AttachmentState string

// Attachment states.
const (
	// AttachmentPending: the file is being fetched from the contact's messenger.
	AttachmentPending AttachmentState = "pending"
	// AttachmentStored: the file is kept and can be downloaded.
	AttachmentStored AttachmentState = "stored"
	// AttachmentRefused: the file was not kept (too large, a type not allowed, or the
	// provider would not give it); Note says why. Its message is kept all the same.
	AttachmentRefused AttachmentState = "refused"
)

// Attachment is a file a message carries.
type Attachment struct {
	// ID is random and unguessable, but serving a file still checks who asks.
	ID             string `json:"id"`
	ConversationID string `json:"-"`
	MessageID      int64  `json:"-"`
	// Kind is image, document, audio or video, as the messenger said.
	Kind string `json:"kind"`
	Name string `json:"name,omitempty"`
	// ContentType is sniffed from the bytes once they are kept; until then, what the
	// provider said.
	ContentType string          `json:"contentType,omitempty"`
	Size        int64           `json:"size"`
	SHA256      string          `json:"sha256,omitempty"`
	State       AttachmentState `json:"state"`
	Note        string          `json:"note,omitempty"`
	CreatedAt   time.Time       `json:"createdAt"`
	// Data is the file: set when it is written and when read by Store.Attachment.
	Data []byte `json:"-"`
}

// DeliveryState is where an outgoing message stands with the provider.
type DeliveryState string

// Delivery states, in the order they happen. A state never goes back: news that
// arrives out of order (read before delivered) is ignored. Failed ends a message that
// was not delivered.
const (
	DeliveryQueued    DeliveryState = "queued"
	DeliverySent      DeliveryState = "sent"
	DeliveryDelivered DeliveryState = "delivered"
	DeliveryRead      DeliveryState = "read"
	DeliveryFailed    DeliveryState = "failed"
)

// DeliveryUpdate is news of outgoing messages: of one (by MessageID, or by Channel
// and ProviderID), or of every one to a contact up to a watermark.
type DeliveryUpdate struct {
	MessageID int64
	// Channel and ProviderID name the message by the provider's id of it.
	Channel    string
	ProviderID string
	// Contact and Watermark (with Channel) name every outgoing message to the contact
	// created at or before Watermark.
	Contact   string
	Watermark time.Time
	State     DeliveryState
	// Error is the provider's reason for a failure, free of secrets.
	Error string
	// SetProviderID records the provider's id of a message just sent (by MessageID),
	// so its later news finds it.
	SetProviderID string
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
	Active bool `json:"active"`
	// InactiveReason says why the operator is inactive; empty while active.
	InactiveReason string     `json:"inactiveReason,omitempty"`
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
	// ChangeJobs carries nothing: outbox jobs were enqueued, so workers look for them.
	ChangeJobs ChangeKind = "jobs"
	// ChangeDelivery carries a message whose delivery state changed.
	ChangeDelivery ChangeKind = "delivery"
	// ChangeEvents carries nothing: events were recorded, so their readers look.
	ChangeEvents ChangeKind = "events"
	// ChangeAttachment carries a message, with its attachments, one of which was
	// just kept or refused.
	ChangeAttachment ChangeKind = "attachment"
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
	// After, when set, lists only the conversations past this place in the order:
	// the cursor of the next page.
	After *ConversationKey
}

// ConversationKey is a conversation's place in the order Conversations lists them:
// by when it was queued (when it started, if never), then when it started, then id.
// A conversation's place only ever moves later (a re-queue), and a new one's comes
// after every existing one, so paging by it misses no conversation that matches
// throughout; one re-queued after its page was read is listed again.
type ConversationKey struct {
	At        time.Time
	CreatedAt time.Time
	ID        string
}

// Key is the conversation's place in the order Conversations lists them.
func (c Conversation) Key() ConversationKey {
	at := c.CreatedAt
	if c.QueuedAt != nil {
		at = *c.QueuedAt
	}
	return ConversationKey{At: at, CreatedAt: c.CreatedAt, ID: c.ID}
}

// Transition is a conditional change of a conversation: it applies only if the
// conversation is still at Version, so of two concurrent takes exactly one wins.
type Transition struct {
	ID      string
	Version int64
	Change  func(*Conversation)
	// Activity is recorded in the same transaction.
	Activity *Activity
	// Events are recorded in the same transaction.
	Events []Event
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

	// CreateConversation stores a new conversation, its first activity and the events
	// its start causes; ErrOpenExists when the contact has an open one on the channel
	// already.
	CreateConversation(ctx context.Context, c Conversation, a Activity, events ...Event) (Conversation, error)
	Conversation(ctx context.Context, id string) (Conversation, error)
	// Conversations lists the conversations f selects in the order of ConversationKey.
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
	// LastInboundAt is when the contact last wrote in the conversation; zero if never.
	LastInboundAt(ctx context.Context, conversationID string) (time.Time, error)
	// UpdateDelivery records news of outgoing messages and returns those it changed:
	// a state that would go back, or news of no stored message, changes nothing.
	UpdateDelivery(ctx context.Context, u DeliveryUpdate) ([]Message, error)
	// SetOptedOut records a contact's opt-out of messages, or its end.
	SetOptedOut(ctx context.Context, id string, optedOut bool) error
	// ContactByExternalID returns the contact of (channel, externalID).
	ContactByExternalID(ctx context.Context, channel, externalID string) (Contact, error)

	// Attachment returns an attachment with its bytes (none unless it is stored) and
	// the conversation it belongs to, which callers check before they serve it.
	Attachment(ctx context.Context, id string) (Attachment, error)
	// MessageAttachments lists a message's attachments, without their bytes.
	MessageAttachments(ctx context.Context, messageID int64) ([]Attachment, error)
	// CompleteAttachment records what became of a pending attachment: kept (State
	// AttachmentStored, with Data, ContentType and Name) or refused (a Note says why).
	// It announces the message with its attachments and returns it; ErrConflict when
	// the attachment is no longer pending (another replica completed it).
	CompleteAttachment(ctx context.Context, a Attachment) (Message, error)
	// RuntimeKey returns the random key of the name, made on first use: the same for
	// every replica that shares the store, and for the store's lifetime.
	RuntimeKey(ctx context.Context, name string) ([]byte, error)

	// SetPresence records an operator's presence (unless p is empty, which keeps it)
	// and, if active is not nil, activity, with the events the change causes.
	SetPresence(ctx context.Context, name string, p Presence, active *bool, events ...Event) (Operator, error)
	Operators(ctx context.Context) ([]Operator, error)
	// SetInactive makes an operator inactive for a reason (an accept timeout they let
	// pass); SetPresence with active true makes them active again and clears it.
	SetInactive(ctx context.Context, name, reason string, events ...Event) (Operator, error)
	// LapseConsoles sets offline every operator who is not, whose console records
	// (package presence) have all expired at now, recording offline (with Operator set
	// to each) for each one; of replicas that lapse the same operator at once, one
	// does. It forgets the expired records of offline operators, and returns the
	// operators it set offline.
	LapseConsoles(ctx context.Context, now time.Time, offline Event) ([]Operator, error)

	// Activity returns up to limit (0: every one) of a conversation's activity entries
	// with ID > afterID, in ID order.
	Activity(ctx context.Context, conversationID string, afterID int64, limit int) ([]Activity, error)
	// AppendActivity records an entry that comes with no other change.
	AppendActivity(ctx context.Context, a Activity) error

	Feedbacks
	Analytics

	// Subscribe calls fn for every committed change, in commit order, from one
	// goroutine. It returns a function that stops the subscription.
	Subscribe(fn func(Change)) (cancel func())
	Close() error
}

// Event is one event of the catalogue (api/v1alpha1/events.go), recorded in the
// transaction of the change that caused it, so that what follows events (notification
// dispatch) misses none and, replaying from its cursor, sees each once.
type Event struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
	// ConversationID is the chat the event is about; empty for operator events.
	ConversationID string `json:"conversationID,omitempty"`
	// Operator is the operator the event is about.
	Operator string `json:"operator,omitempty"`
	// Detail is the event's text: the message of a message event, a reason.
	Detail string `json:"detail,omitempty"`
	// MessageSeq is the message of a message event: its sequence number in the
	// conversation; 0 for other events.
	MessageSeq int64     `json:"messageSeq,omitempty"`
	CreatedAt  time.Time `json:"createdAt"`
	// Key, when set, is unique among events: an event whose key is recorded already
	// is not recorded again, so replicas that record the same event (the daily
	// analytics of one day) record it once. Not returned by Events.
	Key string `json:"-"`
}

// Events is the durable record of events and the cursors that follow it.
type Events interface {
	// Events returns up to limit events with ID > after, in ID order. An event is
	// returned only once no event with a lower ID can still appear.
	Events(ctx context.Context, after int64, limit int) ([]Event, error)
	// Cursor returns the named cursor's position: the last event it passed; 0 at
	// first.
	Cursor(ctx context.Context, name string) (int64, error)
	// AppendEvents records events that come with no other change (a delivery that
	// failed for good, the daily analytics).
	AppendEvents(ctx context.Context, events ...Event) error
	// AdvanceCursor moves the named cursor from from to to and enqueues jobs, in one
	// transaction: ErrConflict, and nothing done, when the cursor is not at from
	// (another replica moved it first).
	AdvanceCursor(ctx context.Context, name string, from, to int64, jobs []Job) error
	// PruneEvents deletes up to limit events recorded before t that every cursor has
	// passed (all events before t when there is no cursor), oldest first.
	PruneEvents(ctx context.Context, before time.Time, limit int) (int, error)
	// SetChannelFlag records a fact about a channel. When the channel had the flag
	// with the other value, ev is recorded in the same transaction and changed is
	// true; the first value recorded for a channel's flag records nothing. Of replicas
	// that record the same change, exactly one records ev.
	SetChannelFlag(ctx context.Context, channel string, flag ChannelFlag, value bool, ev Event) (changed bool, err error)
}

// ChannelFlag is a fact about a channel whose changes are ChannelChanged events.
type ChannelFlag string

// Channel flags.
const (
	// ChannelActive is the channel's on/off switch.
	ChannelActive ChannelFlag = "active"
	// ChannelConnected is whether the provider accepts the channel's credentials.
	ChannelConnected ChannelFlag = "connected"
)

// JobState is where an outbox job stands.
type JobState string

// Job states. A pending job is waiting or being sent; done and failed are final.
const (
	JobPending JobState = "pending"
	JobDone    JobState = "done"
	JobFailed  JobState = "failed"
)

// Job is one durable send of the outbox (package outbox): a reply to a messenger, a
// notification delivery. The store keeps jobs; the outbox sends them.
type Job struct {
	ID int64 `json:"id"`
	// Kind names the handler, such as "channel.send" or "notify.deliver".
	Kind string `json:"kind"`
	// Key orders jobs: those of one key run one at a time, in the order enqueued,
	// the next only once the one before is done or has failed for good. A
	// conversation, a recipient.
	Key string `json:"key"`
	// Limiter names a rate-limit bucket shared across keys, such as a bot or a sender
	// number; empty for none.
	Limiter string `json:"limiter,omitempty"`
	// IdempotencyKey is unique among jobs: enqueueing it again does nothing.
	IdempotencyKey string `json:"idempotencyKey"`
	// Payload is JSON for the handler. It must hold no secrets: the store keeps it.
	Payload []byte `json:"payload"`
	// MessageID is the message the job sends, when it was enqueued with one.
	MessageID int64 `json:"messageID,omitempty"`
	// MaxAttempts overrides the kind's limit when positive.
	MaxAttempts int      `json:"maxAttempts,omitempty"`
	State       JobState `json:"state"`
	// Attempts counts the claims of the job: a send that never reported counts.
	Attempts int `json:"attempts"`
	// RunAt is when the job is due: when enqueued, not before; then the next attempt.
	// A claimed job's RunAt is when its lease ends: it is due again then, should its
	// worker have died.
	RunAt     time.Time `json:"runAt"`
	LastError string    `json:"lastError,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// FinishedAt is when the job became done or failed.
	FinishedAt *time.Time `json:"finishedAt,omitempty"`
	// Owner is the worker that claimed the job last, until it finishes it.
	Owner string `json:"owner,omitempty"`
	// Tally names the counters the job's outcomes are added to (a notification
	// policy's deliveries); empty for none. See Tally.
	Tally string `json:"tally,omitempty"`
}

// Tally is what the store counts of the jobs that name it: their outcomes, added up
// in the transactions that record them (so every replica reads the same, and pruning
// finished jobs loses nothing), and the jobs still pending.
type Tally struct {
	Name string
	// Done and Failed count the jobs done and those failed for good.
	Done, Failed int64
	// Pending counts the jobs waiting or being sent; OldestPending is when the oldest
	// of them was enqueued (zero when none is).
	Pending       int64
	OldestPending time.Time
	// LastDoneAt is when a job was last done; zero if never.
	LastDoneAt time.Time
	// LastError is the error of the last failed attempt, tried again or final, free of
	// secrets; LastErrorAt is when it was recorded.
	LastError   string
	LastErrorAt time.Time
}

// JobClaim asks for due jobs.
type JobClaim struct {
	// Owner identifies the claiming worker; finishing a job requires it.
	Owner string
	// Kinds the worker handles; jobs of other kinds are left alone.
	Kinds []string
	Limit int
	// Lease is how long the jobs stay claimed: a worker that has not finished one by
	// then is taken for dead, and the job is claimed again.
	Lease time.Duration
}

// JobResult is the outcome of a claimed job.
type JobResult struct {
	ID int64
	// Owner and Key as claimed.
	Owner string
	Key   string
	// State is JobDone, JobFailed, or JobPending to try again at RunAt.
	State JobState
	RunAt time.Time
	// Error is the attempt's error, free of secrets.
	Error string
	// Unattempted gives the claim's attempt back: the job was not sent (a rate limit
	// held it back, or the worker stopped).
	Unattempted bool
	// Delivery, on a done job, records the sent message's news in the same
	// transaction (UpdateDelivery), so a send costs no write of its own.
	Delivery *DeliveryUpdate
}

// JobStats describes the pending jobs of one kind.
type JobStats struct {
	Kind    string
	Pending int
	// OldestCreatedAt is when the oldest pending job was enqueued.
	OldestCreatedAt time.Time
}

// Jobs is the outbox's durable queue, kept by the store so that jobs commit with the
// changes that cause them.
type Jobs interface {
	// Enqueue stores jobs in one transaction and returns how many were new: a job
	// whose IdempotencyKey is stored already is dropped.
	Enqueue(ctx context.Context, jobs ...Job) (enqueued int, err error)
	// Job returns the job with the idempotency key.
	Job(ctx context.Context, idempotencyKey string) (Job, error)
	// ClaimJobs leases up to c.Limit due jobs, at most one per key (the oldest
	// unfinished one), counting an attempt for each; jobs another worker holds under
	// an unexpired lease are skipped.
	ClaimJobs(ctx context.Context, c JobClaim) ([]Job, error)
	// FinishJobs records outcomes in one transaction. An outcome whose owner no
	// longer holds the job (its lease expired and another worker claimed it) is
	// ignored; applied reports, per result, whether it was recorded.
	FinishJobs(ctx context.Context, results []JobResult) (applied []bool, err error)
	// NextJobAt is when the earliest pending job of the kinds becomes due (or, if
	// claimed, its lease ends); ok is false when none is pending.
	NextJobAt(ctx context.Context, kinds []string) (at time.Time, ok bool, err error)
	// JobStats counts the pending jobs by kind.
	JobStats(ctx context.Context) ([]JobStats, error)
	// PruneJobs deletes up to limit done and failed jobs finished before t; their
	// idempotency keys may be enqueued again after. Tallies keep their counts.
	PruneJobs(ctx context.Context, before time.Time, limit int) (int, error)
	// Tallies returns the tallies whose names start with prefix, sorted by name: every
	// one a job ever finished or is pending under.
	Tallies(ctx context.Context, prefix string) ([]Tally, error)
}
