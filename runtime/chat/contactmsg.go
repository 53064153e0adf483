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
	if ch := v.channels[c.Channel]; ch != nil {
		e.outbound(ch, c, &m)
	}
	m, _, err = e.store.AppendMessage(ctx, c.Channel, m)
	if errors.Is(err, store.ErrClosed) {
		return store.Message{}, Conflict("the conversation is closed: the contact starts a new one by writing again")
	}
	return m, err
}
