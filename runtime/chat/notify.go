package chat

import (
	"sync"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Notification is one event of the catalogue, as it happened on this runtime: what
// notification policies act on.
type Notification struct {
	Type         chatv1alpha1.EventType `json:"type"`
	Conversation *store.Conversation    `json:"conversation,omitempty"`
	// Operator the event is about (presence changes, the operator of an assignment).
	Operator string    `json:"operator,omitempty"`
	Detail   string    `json:"detail,omitempty"`
	At       time.Time `json:"at"`
}

// notifiers are the engine's event subscribers.
type notifiers struct {
	mu  sync.RWMutex
	fns []func(Notification)
}

// OnEvent calls fn for every event this runtime makes happen, synchronously and in
// order. Each event happens on exactly one replica: the one that made the change.
func (e *Engine) OnEvent(fn func(Notification)) {
	e.notify.mu.Lock()
	e.notify.fns = append(e.notify.fns, fn)
	e.notify.mu.Unlock()
}

// record is an event to record with the change that causes it, for what follows the
// store's events (notification dispatch); emit announces it in process once committed.
func record(t chatv1alpha1.EventType, conversationID, operator, detail string) store.Event {
	return store.Event{Type: string(t), ConversationID: conversationID, Operator: operator, Detail: detail}
}

func (e *Engine) emit(t chatv1alpha1.EventType, c *store.Conversation, operator, detail string) {
	n := Notification{Type: t, Conversation: c, Operator: operator, Detail: detail, At: e.now()}
	e.notify.mu.RLock()
	defer e.notify.mu.RUnlock()
	for _, fn := range e.notify.fns {
		fn(n)
	}
}
