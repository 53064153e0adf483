package channels

import (
	"context"
	"encoding/json"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SendMessage sends a stored message to a contact of a messenger channel now, for an
// outbox handler of another kind that keeps a schedule of its own (process messages,
// chat.Engine.WriteToContact). Its error is classified as a send job's is; a sent
// message's delivery state is recorded, with the caller's job outcome when ctx is an
// outbox handler's.
func (mg *Manager) SendMessage(ctx context.Context, channel, contactID string, messageID int64, text string) error {
	payload, err := json.Marshal(sendPayload{Channel: channel, Contact: contactID, Text: text})
	if err != nil {
		return outbox.Permanent(err)
	}
	return mg.send(ctx, store.Job{Payload: payload, MessageID: messageID})
}

// Limits returns the limits of the sends through channels of type t, for other kinds
// that send through them, and whether the manager runs such channels.
func (mg *Manager) Limits(t config.ChannelType) (Limits, bool) {
	p, ok := mg.opts.Providers[t]
	return p.Limits, ok
}
