package chat

import (
	"context"
	"errors"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// AttachmentLimits are the LiveChat's bounds on files, defaults applied.
func (e *Engine) AttachmentLimits() config.Attachments {
	return e.view.Load().cfg.LiveChat.Attachments.Resolved()
}

// InboundMessage stores a contact's message as the caller prepared it: its text and
// provider id, the attachments it carries and the jobs that fetch them, all in one
// transaction. Otherwise it is Inbound.
func (e *Engine) InboundMessage(ctx context.Context, contact store.Contact, m store.Message) (store.Message, store.Conversation, error) {
	return e.inbound(ctx, contact, "", m)
}

// File is a file an operator sends.
type File struct {
	Name        string
	ContentType string
	Data        []byte
}

// ReplyWithFile sends an operator's file, with an optional caption, as Reply sends a
// text. The file's type is sniffed from its bytes; a file the LiveChat does not keep
// (too large, a type not allowed) is refused as invalid, saying why.
func (e *Engine) ReplyWithFile(ctx context.Context, operator, id, caption string, f File) (store.Message, error) {
	ct := media.Sniff(f.Data, f.ContentType)
	if err := media.Check(e.AttachmentLimits(), ct, int64(len(f.Data))); err != nil {
		return store.Message{}, Invalid("the file cannot be sent: " + err.Error())
	}
	if caption = strings.TrimSpace(caption); caption != "" {
		var err error
		if caption, err = validText(caption); err != nil {
			return store.Message{}, err
		}
	}
	a := store.Attachment{ID: media.NewID(), Kind: media.Kind(ct), Name: media.CleanName(f.Name, ct), ContentType: ct,
		State: store.AttachmentStored, Data: f.Data}
	return e.reply(ctx, operator, id, store.Message{Text: caption, Attachments: []store.Attachment{a}})
}

// OperatorAttachment returns an attachment, with its bytes, of a conversation the
// operator may see: the visibility of the conversation's messages.
func (e *Engine) OperatorAttachment(ctx context.Context, operator, conversationID, attachmentID string) (store.Attachment, error) {
	c, err := e.Conversation(ctx, operator, conversationID)
	if err != nil {
		return store.Attachment{}, err
	}
	return e.attachmentOf(ctx, c.ID, attachmentID)
}

// VisitorAttachment returns an attachment of one of the contact's conversations.
func (e *Engine) VisitorAttachment(ctx context.Context, contact store.Contact, conversationID, attachmentID string) (store.Attachment, error) {
	c, err := e.ContactConversation(ctx, contact, conversationID)
	if err != nil {
		return store.Attachment{}, err
	}
	return e.attachmentOf(ctx, c.ID, attachmentID)
}

// StoredAttachment returns a kept attachment by id alone, for a caller that checked
// the right to it otherwise (a signed media URL).
func (e *Engine) StoredAttachment(ctx context.Context, attachmentID string) (store.Attachment, error) {
	return e.attachmentOf(ctx, "", attachmentID)
}

// attachmentOf reads an attachment of the conversation (any when empty); another
// conversation's is reported as not found, revealing nothing.
func (e *Engine) attachmentOf(ctx context.Context, conversationID, id string) (store.Attachment, error) {
	a, err := e.store.Attachment(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && conversationID != "" && a.ConversationID != conversationID):
		return store.Attachment{}, NotFound("no such attachment")
	case err != nil:
		return store.Attachment{}, err
	case a.State == store.AttachmentPending:
		return store.Attachment{}, Unavailable("the file is still being fetched from the messenger: try again in a moment")
	case a.State == store.AttachmentRefused:
		return store.Attachment{}, NotFound("the file was not kept: " + a.Note)
	}
	return a, nil
}
