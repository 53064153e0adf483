package messenger

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/meta"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// maxAttachment is the Send API's limit on an uploaded file.
const maxAttachment = 25 << 20

// Fetch implements channels.Fetcher: a Messenger attachment's payload.url is a signed
// link to the file, downloaded as it is, without the Page's token.
func (a *Adapter) Fetch(ctx context.Context, att channels.Attachment, maxBytes int64) ([]byte, string, error) {
	return a.graph.Download(ctx, att.Ref, maxBytes, false, "messenger attachment")
}

// attachmentTypes are the Send API's attachment types by kind; any other file goes as
// "file".
var attachmentTypes = map[string]string{channels.AttachmentImage: "image", channels.AttachmentAudio: "audio",
	channels.AttachmentVideo: "video"}

// sendFile sends an operator's file with the Send API, uploaded in the same request
// (filedata), then the text, if any, as a message of its own: a Messenger message
// carries a file or a text, not both. The provider id is the last message's.
func (a *Adapter) sendFile(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	f := m.Attachment
	if len(f.Data) > maxAttachment {
		return channels.Sent{}, outbox.Permanent(errors.New("messenger send: the file is larger than Messenger's limit of 25 MB"))
	}
	if !m.LastInbound.IsZero() && a.now().Sub(m.LastInbound) > ReplyWindow {
		return channels.Sent{}, outbox.Permanent(errors.New("messenger send: " + outsideWindow))
	}
	if a.handover && !m.ByBot {
		if err := a.TakeThreadControl(ctx, m.To); err != nil && (outbox.IsAuth(err) || !outbox.IsPermanent(err)) {
			return channels.Sent{}, err
		}
	}
	typ := attachmentTypes[f.Kind]
	if typ == "" {
		typ = "file"
	}
	recipient, _ := json.Marshal(recipient{ID: m.To})
	message, _ := json.Marshal(map[string]any{"attachment": map[string]any{"type": typ, "payload": map[string]bool{"is_reusable": false}}})
	var resp struct {
		MessageID string `json:"message_id"`
	}
	err := a.graph.Upload(ctx, url.PathEscape(a.pageID)+"/messages", []channels.Field{{Name: "recipient", Value: string(recipient)},
		{Name: "messaging_type", Value: "RESPONSE"}, {Name: "message", Value: string(message)}}, "filedata", f, &resp)
	if err != nil {
		return channels.Sent{}, meta.Classify(err, "messenger send", explainSend)
	}
	if m.Text == "" {
		return channels.Sent{ProviderID: resp.MessageID}, nil
	}
	// The thread is the Page's already: the text need not take it again.
	return a.Send(ctx, channels.Outgoing{To: m.To, Text: m.Text, LastInbound: m.LastInbound, ByBot: true})
}
