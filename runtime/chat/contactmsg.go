package chat

import (
	"context"
	"errors"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SendToContact writes to a conversation's contact on the channel they used, as the
// LiveChat rather than an operator (a notification, a message a business process
// sends): the message is stored in the conversation and, on a messenger, sent through
// the outbox like any reply.
func (e *Engine) SendToContact(ctx context.Context, conversationID, text string) (store.Message, error) {
	return e.toContact(ctx, conversationID, text, nil)
}

// toContact stores a message from the LiveChat to a conversation's contact. Without
// send, the channel's own send job goes with it (when the channel is still
// configured); with send, the channel must be active and send goes instead.
func (e *Engine) toContact(ctx context.Context, conversationID, text string, send *store.Job) (store.Message, error) {
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
	m := store.Message{ConversationID: c.ID, Direction: store.DirectionOut, AuthorKind: "system", Text: text}
	v := e.view.Load()
	switch {
	case send != nil:
		ch, err := v.activeChannel(c.Channel)
		if err != nil {
			return store.Message{}, err
		}
		e.outbound(ch, c, &m) // marks a messenger's message queued
		m.Jobs = []store.Job{*send}
	case v.channels[c.Channel] != nil:
		e.outbound(v.channels[c.Channel], c, &m)
	}
	m, _, err = e.store.AppendMessage(ctx, c.Channel, m)
	if errors.Is(err, store.ErrClosed) {
		return store.Message{}, Conflict("the conversation is closed: the contact starts a new one by writing again")
	}
	return m, err
}
