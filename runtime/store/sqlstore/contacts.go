package sqlstore

import (
	"context"
	"database/sql"
	"errors"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

const contactColumns = `id, channel, external_id, name, email, phone, COALESCE(token_hash, ''), created_at, opted_out`

func scanContact(row scanner) (store.Contact, error) {
	var c store.Contact
	var created, optedOut int64
	err := row.Scan(&c.ID, &c.Channel, &c.ExternalID, &c.Name, &c.Email, &c.Phone, &c.TokenHash, &created, &optedOut)
	c.OptedOut = optedOut != 0
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	c.CreatedAt = fromMs(created)
	return c, err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// UpsertContact implements store.Store.
func (db *DB) UpsertContact(ctx context.Context, c store.Contact) (_ store.Contact, err error) {
	defer db.timed("upsert_contact")(&err)
	if c.CreatedAt.IsZero() {
		c.CreatedAt = db.now()
	}
	var out store.Contact
	err = db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.stmt(ctx, tx, `INSERT INTO contacts (id, channel, external_id, name, email, phone, token_hash, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (channel, external_id) DO NOTHING`).exec(ctx,
			c.ID, c.Channel, c.ExternalID, c.Name, c.Email, c.Phone, nullString(c.TokenHash), ms(c.CreatedAt))
		if err != nil {
			return err
		}
		// Read in the same transaction: the contact as stored, new or not.
		out, err = scanContact(db.stmt(ctx, tx, `SELECT `+contactColumns+` FROM contacts WHERE channel = ? AND external_id = ?`).queryRow(ctx,
			c.Channel, c.ExternalID))
		return err
	}, nil)
	if err != nil {
		return c, err
	}
	return out, nil
}

// Contact implements store.Store.
func (db *DB) Contact(ctx context.Context, id string) (_ store.Contact, err error) {
	defer db.timed("get_contact")(&err)
	return scanContact(db.readQueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE id = ?`, id))
}

// ContactByExternalID implements store.Store.
func (db *DB) ContactByExternalID(ctx context.Context, channel, externalID string) (_ store.Contact, err error) {
	defer db.timed("get_contact")(&err)
	return scanContact(db.readQueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE channel = ? AND external_id = ?`,
		channel, externalID))
}

// SetOptedOut implements store.Store.
func (db *DB) SetOptedOut(ctx context.Context, id string, optedOut bool) (err error) {
	defer db.timed("update_contact")(&err)
	v := 0
	if optedOut {
		v = 1
	}
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.stmt(ctx, tx, `UPDATE contacts SET opted_out = ? WHERE id = ?`).exec(ctx, v, id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	}, nil)
}

// ContactByToken implements store.Store.
func (db *DB) ContactByToken(ctx context.Context, tokenHash string) (_ store.Contact, err error) {
	defer db.timed("get_contact")(&err)
	return scanContact(db.readQueryRow(ctx, `SELECT `+contactColumns+` FROM contacts WHERE token_hash = ?`, tokenHash))
}

// UpdateContact implements store.Store: name, email, phone and token hash.
func (db *DB) UpdateContact(ctx context.Context, c store.Contact) (err error) {
	defer db.timed("update_contact")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.stmt(ctx, tx, `UPDATE contacts SET name = ?, email = ?, phone = ?, token_hash = ? WHERE id = ?`).exec(ctx,
			c.Name, c.Email, c.Phone, nullString(c.TokenHash), c.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	}, nil)
}

// SetPresence implements store.Store.
func (db *DB) SetPresence(ctx context.Context, name string, p store.Presence, active *bool, events ...store.Event) (_ store.Operator, err error) {
	defer db.timed("set_presence")(&err)
	now := db.now()
	var op store.Operator
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		act := int64(1)
		if active != nil && !*active {
			act = 0
		}
		upsert := `INSERT INTO operators (name, presence, active, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET presence = excluded.presence, updated_at = excluded.updated_at`
		presence := p
		if p == "" {
			upsert = `INSERT INTO operators (name, presence, active, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET updated_at = excluded.updated_at`
			presence = store.PresenceOffline
		}
		_, err := db.stmt(ctx, tx, upsert).exec(ctx, name, presence, act, ms(now))
		if err != nil {
			return err
		}
		if active != nil {
			if _, err := db.stmt(ctx, tx, `UPDATE operators SET active = ?, inactive_reason = '' WHERE name = ?`).exec(ctx, act, name); err != nil {
				return err
			}
		}
		op, err = scanOperator(db.stmt(ctx, tx, `SELECT `+operatorColumns+` FROM operators WHERE name = ?`).queryRow(ctx, name))
		if err != nil {
			return err
		}
		changes = []store.Change{{Kind: store.ChangeOperator, Operator: &op}}
		return db.insertEvents(ctx, tx, events, &changes)
	}, &changes)
	return op, err
}

const operatorColumns = `name, presence, active, inactive_reason, last_assigned_at, updated_at`

func scanOperator(row scanner) (store.Operator, error) {
	var o store.Operator
	var active, updated int64
	var last sql.NullInt64
	err := row.Scan(&o.Name, &o.Presence, &active, &o.InactiveReason, &last, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return o, store.ErrNotFound
	}
	o.Active, o.LastAssignedAt, o.UpdatedAt = active != 0, fromNullMs(last), fromMs(updated)
	return o, err
}

// Operators implements store.Store.
func (db *DB) Operators(ctx context.Context) (_ []store.Operator, err error) {
	defer db.timed("list_operators")(&err)
	return queryAll(ctx, db, scanOperator, `SELECT `+operatorColumns+` FROM operators ORDER BY name`)
}

// Activity implements store.Store.
func (db *DB) Activity(ctx context.Context, conversationID string, afterID int64, limit int) (_ []store.Activity, err error) {
	defer db.timed("list_activity")(&err)
	query := `SELECT id, conversation_id, type, actor, detail, created_at FROM activity
		WHERE conversation_id = ? AND id > ? ORDER BY id`
	args := []any{conversationID, afterID}
	if limit > 0 {
		query += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := db.readQuery(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Activity
	for rows.Next() {
		var a store.Activity
		var created int64
		if err := rows.Scan(&a.ID, &a.ConversationID, &a.Type, &a.Actor, &a.Detail, &created); err != nil {
			return nil, err
		}
		a.CreatedAt = fromMs(created)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AppendActivity records an activity entry on its own, for events that change nothing
// else (a chat action's result, a notification sent).
func (db *DB) AppendActivity(ctx context.Context, a store.Activity) (err error) {
	defer db.timed("append_activity")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error { return db.insertActivity(ctx, tx, a) }, nil)
}
