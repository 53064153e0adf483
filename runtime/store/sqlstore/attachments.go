package sqlstore

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

const attachmentColumns = `id, conversation_id, message_id, kind, name, content_type, size, sha256, state, note, created_at`

func scanAttachment(row scanner, extra ...any) (store.Attachment, error) {
	var a store.Attachment
	var created int64
	err := row.Scan(append([]any{&a.ID, &a.ConversationID, &a.MessageID, &a.Kind, &a.Name, &a.ContentType, &a.Size,
		&a.SHA256, &a.State, &a.Note, &created}, extra...)...)
	if errors.Is(err, sql.ErrNoRows) {
		return a, store.ErrNotFound
	}
	a.CreatedAt = fromMs(created)
	return a, err
}

// checksum is the size and SHA-256 of a kept file.
func checksum(data []byte) (int64, string) {
	sum := sha256.Sum256(data)
	return int64(len(data)), hex.EncodeToString(sum[:])
}

// insertAttachments stores a new message's attachments in its transaction. The
// message keeps them without their bytes, so the change announced and the message
// returned carry no file.
func (db *DB) insertAttachments(ctx context.Context, tx *sql.Tx, m *store.Message) error {
	if len(m.Attachments) == 0 {
		return nil
	}
	out := make([]store.Attachment, len(m.Attachments))
	for i, a := range m.Attachments {
		a.ConversationID, a.MessageID = m.ConversationID, m.ID
		if a.CreatedAt.IsZero() {
			a.CreatedAt = m.CreatedAt
		}
		a.CreatedAt = fromMs(ms(a.CreatedAt))
		if a.State == "" {
			a.State = store.AttachmentPending
		}
		var data any
		if a.State == store.AttachmentStored {
			a.Size, a.SHA256 = checksum(a.Data)
			data = a.Data
		}
		if a.ID == "" {
			return errors.New("an attachment needs an id")
		}
		if _, err := db.stmt(ctx, tx, `INSERT INTO attachments (`+attachmentColumns+`, position, data)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).exec(ctx, a.ID, a.ConversationID, a.MessageID, a.Kind, a.Name,
			a.ContentType, a.Size, a.SHA256, a.State, a.Note, ms(a.CreatedAt), i, data); err != nil {
			return err
		}
		a.Data = nil
		out[i] = a
	}
	m.Attachments = out
	return nil
}

// withAttachments gives messages of one conversation their attachments' metadata,
// with one query for all of them.
func (db *DB) withAttachments(ctx context.Context, conversationID string, msgs []store.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	lo, hi := msgs[0].ID, msgs[0].ID
	for _, m := range msgs {
		lo, hi = min(lo, m.ID), max(hi, m.ID)
	}
	atts, err := queryAll(ctx, db, func(row scanner) (store.Attachment, error) { return scanAttachment(row) },
		`SELECT `+attachmentColumns+` FROM attachments WHERE conversation_id = ? AND message_id BETWEEN ? AND ?
		ORDER BY message_id, position`, conversationID, lo, hi)
	if err != nil || len(atts) == 0 {
		return err
	}
	byMessage := map[int64][]store.Attachment{}
	for _, a := range atts {
		byMessage[a.MessageID] = append(byMessage[a.MessageID], a)
	}
	for i := range msgs {
		msgs[i].Attachments = byMessage[msgs[i].ID]
	}
	return nil
}

// Attachment implements store.Store.
func (db *DB) Attachment(ctx context.Context, id string) (_ store.Attachment, err error) {
	defer db.timed("get_attachment")(&err)
	var data []byte
	a, err := scanAttachment(db.readQueryRow(ctx, `SELECT `+attachmentColumns+`, data FROM attachments WHERE id = ?`, id), &data)
	a.Data = data
	return a, err
}

// MessageAttachments implements store.Store.
func (db *DB) MessageAttachments(ctx context.Context, messageID int64) (_ []store.Attachment, err error) {
	defer db.timed("list_attachments")(&err)
	return queryAll(ctx, db, func(row scanner) (store.Attachment, error) { return scanAttachment(row) },
		`SELECT `+attachmentColumns+` FROM attachments
		WHERE conversation_id = (SELECT conversation_id FROM messages WHERE id = ?) AND message_id = ? ORDER BY position`,
		messageID, messageID)
}

// CompleteAttachment implements store.Store.
func (db *DB) CompleteAttachment(ctx context.Context, a store.Attachment) (_ store.Message, err error) {
	defer db.timed("complete_attachment")(&err)
	if a.State != store.AttachmentStored && a.State != store.AttachmentRefused {
		return store.Message{}, fmt.Errorf("an attachment completes as stored or refused, not %q", a.State)
	}
	var data any
	if a.State == store.AttachmentStored {
		a.Size, a.SHA256 = checksum(a.Data)
		data = a.Data
	}
	var m store.Message
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.stmt(ctx, tx, `UPDATE attachments SET state = ?, content_type = ?, name = COALESCE(NULLIF(?, ''), name),
			size = ?, sha256 = ?, note = ?, data = ? WHERE id = ? AND state = 'pending'`).exec(ctx,
			a.State, a.ContentType, a.Name, a.Size, a.SHA256, a.Note, data, a.ID)
		if err != nil {
			return err
		}
		var messageID int64
		switch err := db.stmt(ctx, tx, `SELECT message_id FROM attachments WHERE id = ?`).queryRow(ctx, a.ID).Scan(&messageID); {
		case errors.Is(err, sql.ErrNoRows):
			return store.ErrNotFound
		case err != nil:
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.ErrConflict
		}
		if m, err = scanMessage(db.stmt(ctx, tx, `SELECT `+messageColumns+` FROM messages WHERE id = ?`).queryRow(ctx, messageID)); err != nil {
			return err
		}
		if err := db.stmt(ctx, tx, `SELECT queue FROM conversations WHERE id = ?`).queryRow(ctx, m.ConversationID).Scan(&m.Queue); err != nil {
			return err
		}
		rows, err := db.stmt(ctx, tx, `SELECT `+attachmentColumns+` FROM attachments
			WHERE conversation_id = ? AND message_id = ? ORDER BY position`).query(ctx, m.ConversationID, messageID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			att, err := scanAttachment(rows)
			if err != nil {
				return err
			}
			m.Attachments = append(m.Attachments, att)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		changes = []store.Change{{Kind: store.ChangeAttachment, Message: &m}}
		return nil
	}, &changes)
	return m, err
}

// RuntimeKey implements store.Store. The first replica to ask makes the key; the
// others, racing it, read the one it made.
func (db *DB) RuntimeKey(ctx context.Context, name string) (_ []byte, err error) {
	defer db.timed("runtime_key")(&err)
	var value string
	err = db.readQueryRow(ctx, `SELECT value FROM runtime_keys WHERE name = ?`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		err = db.tx(ctx, func(tx *sql.Tx) error {
			if _, err := db.stmt(ctx, tx, `INSERT INTO runtime_keys (name, value, created_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO NOTHING`).exec(ctx, name, hex.EncodeToString(key), ms(db.now())); err != nil {
				return err
			}
			return db.stmt(ctx, tx, `SELECT value FROM runtime_keys WHERE name = ?`).queryRow(ctx, name).Scan(&value)
		}, nil)
	}
	if err != nil {
		return nil, err
	}
	return hex.DecodeString(value)
}
