package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// deliveryRank orders delivery states: news may only move a message forward. Failed
// ranks between sent and delivered: a message the provider reported delivered or read
// cannot fail after, one it failed may still be reported delivered by a late receipt.
const deliveryRank = `CASE %s WHEN 'queued' THEN 1 WHEN 'sent' THEN 2 WHEN 'failed' THEN 3
	WHEN 'delivered' THEN 4 WHEN 'read' THEN 5 ELSE 0 END`

func rankOf(column string) string { return fmt.Sprintf(deliveryRank, column) }

// outgoingDedup is the dedup key of a sent message: its provider's id, apart from the
// ids of inbound messages.
func outgoingDedup(channel, providerID string) string { return channel + "/out/" + providerID }

// UpdateDelivery implements store.Store.
func (db *DB) UpdateDelivery(ctx context.Context, u store.DeliveryUpdate) (_ []store.Message, err error) {
	defer db.timed("update_delivery")(&err)
	var changed []store.Message
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		changed, changes, err = db.updateDelivery(ctx, tx, u)
		return err
	}, &changes)
	if err != nil {
		return nil, err
	}
	return changed, nil
}

// updateDelivery records news of outgoing messages in tx and returns the messages it
// changed and their changes to announce.
func (db *DB) updateDelivery(ctx context.Context, tx *sql.Tx, u store.DeliveryUpdate) ([]store.Message, []store.Change, error) {
	var where string
	var args []any
	switch {
	case u.MessageID != 0:
		where, args = `m.id = ?`, []any{u.MessageID}
	case u.ProviderID != "":
		where, args = `m.dedup_key = ?`, []any{outgoingDedup(u.Channel, u.ProviderID)}
	case u.Contact != "" && !u.Watermark.IsZero():
		where = `m.direction = 'out' AND m.created_at <= ? AND m.conversation_id IN (SELECT c.id FROM conversations c
			JOIN contacts k ON k.id = c.contact_id WHERE k.channel = ? AND k.external_id = ?)`
		args = []any{ms(u.Watermark), u.Channel, u.Contact}
	default:
		return nil, nil, errors.New("a delivery update names no message")
	}
	set, setArgs := `delivery = ?, delivery_error = ?`, []any{u.State, u.Error}
	if u.SetProviderID != "" {
		set += `, provider_id = ?, dedup_key = ?`
		setArgs = append(setArgs, u.SetProviderID, outgoingDedup(u.Channel, u.SetProviderID))
	}
	setArgs = append(setArgs, args...)
	setArgs = append(setArgs, u.State)
	// The conversation's queue comes with each row: subscribers publish by queue.
	query := `UPDATE messages SET ` + set + ` WHERE id IN (SELECT m.id FROM messages m WHERE ` + where + `
		AND m.delivery <> '' AND ` + rankOf("m.delivery") + ` < ` + rankOf("?") + `) RETURNING ` + messageColumns +
		`, (SELECT c.queue FROM conversations c WHERE c.id = messages.conversation_id)`
	rows, err := db.stmt(ctx, tx, query).query(ctx, setArgs...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	var changed []store.Message
	for rows.Next() {
		var m store.Message
		var created int64
		if err := rows.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Direction, &m.AuthorKind, &m.Author, &m.Text, &m.ProviderID, &created,
			&m.Delivery, &m.DeliveryError, &m.Queue); err != nil {
			return nil, nil, err
		}
		m.CreatedAt = fromMs(created)
		changed = append(changed, m)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	changes := make([]store.Change, 0, len(changed))
	for i := range changed {
		changes = append(changes, store.Change{Kind: store.ChangeDelivery, Message: &changed[i]})
	}
	return changed, changes, nil
}
