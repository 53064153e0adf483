package chat

import (
	"context"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// InboundFile stores a file a widget visitor or an employee sends, with an optional
// caption, like any message of theirs. The file is checked as an operator's is
// (ReplyWithFile); its message's text is the caption and a line naming the file, as
// for files from messengers.
func (e *Engine) InboundFile(ctx context.Context, contact store.Contact, caption string, f File) (store.Message, store.Conversation, error) {
	ct := media.Sniff(f.Data, f.ContentType)
	if err := media.Check(e.AttachmentLimits(), ct, int64(len(f.Data))); err != nil {
		return store.Message{}, store.Conversation{}, Invalid("the file cannot be sent: " + err.Error())
	}
	a := store.Attachment{ID: media.NewID(), Kind: media.Kind(ct), Name: media.CleanName(f.Name, ct), ContentType: ct,
		State: store.AttachmentStored, Data: f.Data}
	line := "[" + a.Kind + ": " + a.Name + "]"
	text := line
	if caption = strings.TrimSpace(caption); caption != "" {
		text = caption + "\n" + line
	}
	return e.InboundMessage(ctx, contact, store.Message{Text: text, Attachments: []store.Attachment{a}})
}
