package processmsg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// States of a process message and of each of its messages.
const (
	StatePending = "pending"
	StateSent    = "sent"
	StateFailed  = "failed"
)

// Status is where a process message stands: GET /api/v1/process-messages/{id}, and
// the body of its error callback.
type Status struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Error is why it failed, or, while pending, why the last attempt did.
	Error string `json:"error,omitempty"`
	// Attempts is the most attempts any step took: finding the conversations and
	// storing the message, or sending it; MaxAttempts is what each step gets.
	Attempts    int        `json:"attempts"`
	MaxAttempts int        `json:"maxAttempts"`
	Recipient   Recipient  `json:"recipient"`
	Mode        string     `json:"mode"`
	Channel     string     `json:"channel,omitempty"`
	Object      *Object    `json:"object,omitempty"`
	CreatedAt   time.Time  `json:"createdAt"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	// Messages are the stored messages, one per conversation reached.
	Messages []MessageStatus `json:"messages"`
}

// MessageStatus is one stored message of a process message.
type MessageStatus struct {
	ConversationID string `json:"conversationID"`
	Channel        string `json:"channel"`
	MessageID      int64  `json:"messageID"`
	State          string `json:"state"`
	Attempts       int    `json:"attempts"`
	Error          string `json:"error,omitempty"`
}

// Status returns where a process message stands; chat.NotFound for an unknown id.
func (s *Service) Status(ctx context.Context, id string) (Status, error) {
	job, err := s.opts.Store.Job(ctx, writeKey(id))
	if errors.Is(err, store.ErrNotFound) {
		return Status{}, chat.NotFound(fmt.Sprintf("process message %q does not exist (finished ones are kept for 7 days)", id))
	}
	if err != nil {
		return Status{}, err
	}
	var rec record
	if err := json.Unmarshal(job.Payload, &rec); err != nil {
		return Status{}, err
	}
	st := Status{ID: rec.ID, State: stateOf(job), Attempts: job.Attempts, MaxAttempts: rec.Attempts,
		Recipient: Recipient{ContactID: rec.ContactID, ConversationID: rec.ConversationID}, Mode: rec.Mode, Channel: rec.Channel,
		Object: rec.Object, CreatedAt: rec.CreatedAt, FinishedAt: job.FinishedAt, Messages: []MessageStatus{}}
	if st.State != StateSent {
		st.Error = job.LastError
		return st, nil
	}
	sends, err := s.sends(ctx, id)
	if err != nil {
		return Status{}, err
	}
	pending, failed := -1, -1
	for i, j := range sends {
		p := payloadOf(j)
		m := MessageStatus{ConversationID: p.ConversationID, Channel: p.Channel, MessageID: j.MessageID, State: stateOf(j),
			Attempts: j.Attempts, Error: j.LastError}
		st.Messages = append(st.Messages, m)
		st.Attempts = max(st.Attempts, j.Attempts)
		if j.FinishedAt != nil && (st.FinishedAt == nil || j.FinishedAt.After(*st.FinishedAt)) {
			st.FinishedAt = j.FinishedAt
		}
		switch {
		case m.State == StateFailed && failed < 0:
			failed = i
		case m.State == StatePending && pending < 0:
			pending = i
		}
	}
	switch {
	case failed >= 0:
		st.State, st.Error = StateFailed, st.Messages[failed].Error
	case pending >= 0:
		st.State, st.Error, st.FinishedAt = StatePending, st.Messages[pending].Error, nil
	}
	return st, nil
}

// stateOf names a job's state as a process message's.
func stateOf(j store.Job) string {
	switch j.State {
	case store.JobDone:
		return StateSent
	case store.JobFailed:
		return StateFailed
	}
	return StatePending
}
