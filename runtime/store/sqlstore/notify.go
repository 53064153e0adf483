package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// maxNotifyPayload keeps notifications under PostgreSQL's limit of 8000 bytes per
// NOTIFY payload, with room to spare.
const maxNotifyPayload = 7900

// notice is what travels over NOTIFY: the change itself, or, when it is too large (a
// long message full of characters JSON escapes, a chat offered to hundreds of
// operators), only which row to read.
type notice struct {
	store.Change
	// Fetch is the id of the message or conversation, or the operator's name, to read
	// because the change was too large to carry.
	Fetch string `json:"fetch,omitempty"`
}

func notification(c store.Change) ([]byte, error) {
	payload, err := json.Marshal(notice{Change: c})
	if err != nil || len(payload) <= maxNotifyPayload {
		return payload, err
	}
	n := notice{Change: store.Change{Kind: c.Kind}}
	switch c.Kind {
	case store.ChangeMessage, store.ChangeDelivery, store.ChangeAttachment:
		n.Fetch = strconv.FormatInt(c.Message.ID, 10)
	case store.ChangeConversation:
		n.Fetch = c.Conversation.ID
	case store.ChangeOperator:
		n.Fetch = c.Operator.Name
	default:
		return nil, fmt.Errorf("a %s change of %d bytes is too large to announce", c.Kind, len(payload))
	}
	return json.Marshal(n)
}

// received turns a notification back into the change, reading the row it names when
// it carries only a reference. The row is committed: the notification is delivered
// only after the transaction that sent it.
func (db *DB) received(ctx context.Context, payload string) (store.Change, error) {
	var n notice
	if err := json.Unmarshal([]byte(payload), &n); err != nil {
		return store.Change{}, fmt.Errorf("undecodable change notification: %w", err)
	}
	if n.Fetch == "" {
		return n.Change, nil
	}
	c := store.Change{Kind: n.Kind}
	switch n.Kind {
	case store.ChangeMessage, store.ChangeDelivery, store.ChangeAttachment:
		id, err := strconv.ParseInt(n.Fetch, 10, 64)
		if err != nil {
			return c, fmt.Errorf("change notification names message %q: %w", n.Fetch, err)
		}
		m, err := scanMessage(db.readQueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`, id))
		if err != nil {
			return c, fmt.Errorf("reading message %d named by a change notification: %w", id, err)
		}
		conv, err := db.Conversation(ctx, m.ConversationID)
		if err != nil {
			return c, fmt.Errorf("reading conversation %s named by a change notification: %w", m.ConversationID, err)
		}
		m.Queue = conv.Queue
		if m.Attachments, err = db.MessageAttachments(ctx, m.ID); err != nil {
			return c, fmt.Errorf("reading the attachments of message %d named by a change notification: %w", id, err)
		}
		c.Message = &m
	case store.ChangeConversation:
		conv, err := db.Conversation(ctx, n.Fetch)
		if err != nil {
			return c, fmt.Errorf("reading conversation %s named by a change notification: %w", n.Fetch, err)
		}
		c.Conversation = &conv
	case store.ChangeOperator:
		op, err := scanOperator(db.readQueryRow(ctx, `SELECT `+operatorColumns+` FROM operators WHERE name = ?`, n.Fetch))
		if err != nil {
			return c, fmt.Errorf("reading operator %s named by a change notification: %w", n.Fetch, err)
		}
		c.Operator = &op
	default:
		return c, fmt.Errorf("change notification of unknown kind %q", n.Kind)
	}
	return c, nil
}
