package chat

import (
	"encoding/json"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Topics of the hub.
func TopicConversation(id string) string { return "conv:" + id }

// TopicVisitor carries the visitor's view of a conversation.
func TopicVisitor(id string) string { return "visitor:" + id }

// TopicQueue carries a queue's conversations and messages to operator consoles.
func TopicQueue(q string) string { return "queue:" + q }

// TopicOperators carries presence changes.
const TopicOperators = "operators"

// TopicOperator carries what concerns one operator only, such as why they became
// inactive.
func TopicOperator(name string) string { return "operator:" + name }

// Event is what consoles receive over their WebSocket.
type Event struct {
	Type         string               `json:"type"`
	Message      *store.Message       `json:"message,omitempty"`
	Conversation *store.Conversation  `json:"conversation,omitempty"`
	Operator     *store.Operator      `json:"operator,omitempty"`
	Snapshot     []store.Conversation `json:"conversations,omitempty"`
	// Next, on a snapshot that does not hold every conversation, is the cursor that
	// lists the rest.
	Next      string           `json:"next,omitempty"`
	Operators []store.Operator `json:"operators,omitempty"`
	Messages  []store.Message  `json:"messages,omitempty"`
	// Notice is a message for one operator, such as why they became inactive.
	Notice string `json:"notice,omitempty"`
	// Me is the operator's own state, sent (type "me") when their presence, activity
	// or load changes.
	Me *Me `json:"me,omitempty"`
}

// VisitorMessage is a message as the contact sees it: no internal ids, the operator
// by display name.
type VisitorMessage struct {
	Seq        int64     `json:"seq"`
	Direction  string    `json:"direction"`
	AuthorKind string    `json:"authorKind"`
	AuthorName string    `json:"authorName,omitempty"`
	Text       string    `json:"text"`
	CreatedAt  time.Time `json:"createdAt"`
	// Attachments are the message's files, which the visitor downloads by id.
	Attachments []store.Attachment `json:"attachments,omitempty"`
}

// VisitorConversation is a conversation as the contact sees it.
type VisitorConversation struct {
	ID           string `json:"id"`
	Channel      string `json:"channel"`
	State        string `json:"state"`
	OperatorName string `json:"operatorName,omitempty"`
	// Rating, Feedback, Survey and Goals are what the visitor told of the chat.
	Rating   *store.Rating     `json:"rating,omitempty"`
	Feedback string            `json:"feedback,omitempty"`
	Survey   map[string]string `json:"survey,omitempty"`
	Goals    []string          `json:"goals,omitempty"`
}

// VisitorEvent is what widgets receive.
type VisitorEvent struct {
	Type         string               `json:"type"`
	Message      *VisitorMessage      `json:"message,omitempty"`
	Conversation *VisitorConversation `json:"conversation,omitempty"`
	Messages     []VisitorMessage     `json:"messages,omitempty"`
	// Position is the visitor's place in the queue, 1 for the next chat.
	Position int `json:"position,omitempty"`
}

// ForVisitor turns a message into the visitor's view of it.
func (e *Engine) ForVisitor(m store.Message) VisitorMessage {
	vm := VisitorMessage{Seq: m.Seq, Direction: string(m.Direction), AuthorKind: m.AuthorKind, Text: m.Text, CreatedAt: m.CreatedAt,
		Attachments: m.Attachments}
	if m.Author != "" {
		vm.AuthorName = e.view.Load().displayName(m.Author)
	}
	return vm
}

// ConversationForVisitor turns a conversation into the visitor's view of it.
func (e *Engine) ConversationForVisitor(c store.Conversation) VisitorConversation {
	vc := VisitorConversation{ID: c.ID, Channel: c.Channel, State: string(c.State), Rating: c.Rating, Feedback: c.Feedback,
		Survey: c.Survey, Goals: c.Goals}
	if c.Operator != "" && c.State == store.StateActive {
		vc.OperatorName = e.view.Load().displayName(c.Operator)
	}
	return vc
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // plain data types only
	}
	return b
}

// onChange publishes a committed change: the full view to operators, the visitor's
// view to the visitor. Each payload is encoded once for all subscribers.
func (e *Engine) onChange(c store.Change) {
	if c.Kind == store.ChangeResync {
		e.resync()
		return
	}
	e.markForChange(c)
	if c.Kind == store.ChangeConversation {
		e.deadlines.track(c.Conversation)
	}
	switch c.Kind {
	case store.ChangeMessage:
		m := c.Message
		e.hub.Publish(mustJSON(Event{Type: "message", Message: m}), TopicConversation(m.ConversationID), TopicQueue(m.Queue))
		vm := e.ForVisitor(*m)
		e.hub.Publish(mustJSON(VisitorEvent{Type: "message", Message: &vm}), TopicVisitor(m.ConversationID))
	case store.ChangeDelivery:
		m := c.Message
		e.hub.Publish(mustJSON(Event{Type: "delivery", Message: m}), TopicConversation(m.ConversationID), TopicQueue(m.Queue))
	case store.ChangeAttachment:
		// A contact's file was fetched (or refused): the message again, with it.
		m := c.Message
		e.hub.Publish(mustJSON(Event{Type: "attachment", Message: m}), TopicConversation(m.ConversationID), TopicQueue(m.Queue))
		vm := e.ForVisitor(*m)
		e.hub.Publish(mustJSON(VisitorEvent{Type: "attachment", Message: &vm}), TopicVisitor(m.ConversationID))
	case store.ChangeConversation:
		conv := c.Conversation
		e.hub.Publish(mustJSON(Event{Type: "conversation", Conversation: conv}), TopicConversation(conv.ID), TopicQueue(conv.Queue))
		vc := e.ConversationForVisitor(*conv)
		e.hub.Publish(mustJSON(VisitorEvent{Type: "conversation", Conversation: &vc}), TopicVisitor(conv.ID))
	case store.ChangeOperator:
		e.hub.Publish(mustJSON(Event{Type: "operator", Operator: c.Operator}), TopicOperators)
	}
}
