package chat

import (
	"context"
	"errors"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// WriteToContact stores a message to a conversation's contact, as the LiveChat, like
// SendToContact, but leaves sending it to the caller: send is enqueued in the
// message's transaction in place of the channel's own send job, so the caller's
// outbox kind sends it on a schedule of its own (a business process's retries). The
// message is queued for delivery when its channel is a messenger; on the web widget
// and internal channels it reaches the contact live as it is stored.
func (e *Engine) WriteToContact(ctx context.Context, conversationID, text string, send store.Job) (store.Message, error) {
	text, err := validText(text)
	if err != nil {
		return store.Message{}, err
	}
	c, err := e.store.Conversation(ctx, conversationID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Message{}, NotFound("no such conversation")
	}
	if err != nil {
		return store.Message{}, err
	}
	ch, err := e.view.Load().activeChannel(c.Channel)
	if err != nil {
		return store.Message{}, err
	}
	m := store.Message{ConversationID: c.ID, Direction: store.DirectionOut, AuthorKind: "system", Text: text}
	e.outbound(ch, c, &m) // marks a messenger's message queued
	m.Jobs = []store.Job{send}
	m, _, err = e.store.AppendMessage(ctx, c.Channel, m)
	if errors.Is(err, store.ErrClosed) {
		return store.Message{}, Conflict("the conversation is closed: the contact starts a new one by writing again")
	}
	return m, err
}
