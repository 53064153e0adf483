package chat

import (
	"context"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// WriteToContact stores a message to a conversation's contact, as the LiveChat, like
// SendToContact, but leaves sending it to the caller: send is enqueued in the
// message's transaction in place of the channel's own send job, so the caller's
// outbox kind sends it on a schedule of its own (a business process's retries). The
// message is queued for delivery when its channel is a messenger; on the web widget
// and internal channels it reaches the contact live as it is stored.
func (e *Engine) WriteToContact(ctx context.Context, conversationID, text string, send store.Job) (store.Message, error) {
	return e.toContact(ctx, conversationID, text, &send)
}
