package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// insertEvents records events in tx, the transaction of the change that caused them.
func (db *DB) insertEvents(ctx context.Context, tx *sql.Tx, events []store.Event, changes *[]store.Change) error {
	if len(events) == 0 {
		return nil
	}
	insert := db.stmt(ctx, tx, `INSERT INTO events (type, conversation_id, operator, detail, created_at, message_seq) VALUES (?, ?, ?, ?, ?, ?)`)
	now := db.now()
	recorded := 0
	for _, e := range events {
		at := e.CreatedAt
		if at.IsZero() {
			at = now
		}
		if e.Key != "" {
			// Recorded once: a replica that comes second records nothing.
			res, err := db.stmt(ctx, tx, `INSERT INTO events (type, conversation_id, operator, detail, created_at, event_key)
				VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (event_key) WHERE event_key IS NOT NULL DO NOTHING`).
				exec(ctx, e.Type, e.ConversationID, e.Operator, e.Detail, ms(at), e.Key)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err != nil || n == 0 {
				continue
			}
			recorded++
			continue
		}
		if _, err := insert.exec(ctx, e.Type, e.ConversationID, e.Operator, e.Detail, ms(at), e.MessageSeq); err != nil {
			return err
		}
		recorded++
	}
	if changes != nil && recorded > 0 {
		*changes = append(*changes, store.Change{Kind: store.ChangeEvents})
	}
	return nil
}

// Events implements store.Events. On PostgreSQL an event is returned only once every
// transaction older than the one that recorded it has ended, so a reader that moves
// past an id never skips an event recorded earlier and committed later.
func (db *DB) Events(ctx context.Context, after int64, limit int) (_ []store.Event, err error) {
	defer db.timed("list_events")(&err)
	if limit <= 0 {
		limit = 500
	}
	visible := ``
	if db.d.dollar {
		visible = ` AND xid < pg_snapshot_xmin(pg_current_snapshot())`
	}
	return queryAll(ctx, db, func(row scanner) (store.Event, error) {
		var e store.Event
		var at int64
		err := row.Scan(&e.ID, &e.Type, &e.ConversationID, &e.Operator, &e.Detail, &at, &e.MessageSeq)
		e.CreatedAt = fromMs(at)
		return e, err
	}, `SELECT id, type, conversation_id, operator, detail, created_at, message_seq FROM events WHERE id > ?`+visible+` ORDER BY id LIMIT ?`,
		after, limit)
}

// messageEvents are the events of a stored message: about its conversation, and a
// MessageReceived that is the conversation's first message is a FirstMessageReceived
// (the sequence number is known only here).
func messageEvents(m store.Message) []store.Event {
	if len(m.Events) == 0 {
		return nil
	}
	out := make([]store.Event, len(m.Events))
	for i, e := range m.Events {
		if e.ConversationID == "" {
			e.ConversationID = m.ConversationID
		}
		if e.Type == "MessageReceived" && m.Seq == 1 {
			e.Type = "FirstMessageReceived"
		}
		e.MessageSeq = m.Seq
		out[i] = e
	}
	return out
}

// AppendEvents implements store.Events.
func (db *DB) AppendEvents(ctx context.Context, events ...store.Event) (err error) {
	defer db.timed("append_events")(&err)
	var changes []store.Change
	return db.tx(ctx, func(tx *sql.Tx) error {
		changes = changes[:0]
		return db.insertEvents(ctx, tx, events, &changes)
	}, &changes)
}

// LastInboundAt implements store.Store.
func (db *DB) LastInboundAt(ctx context.Context, conversationID string) (_ time.Time, err error) {
	defer db.timed("last_inbound")(&err)
	var at sql.NullInt64
	err = db.readQueryRow(ctx, `SELECT max(created_at) FROM messages WHERE conversation_id = ? AND direction = 'in'`, conversationID).Scan(&at)
	if err != nil || !at.Valid {
		return time.Time{}, err
	}
	return fromMs(at.Int64), nil
}

// Cursor implements store.Events.
func (db *DB) Cursor(ctx context.Context, name string) (_ int64, err error) {
	defer db.timed("get_cursor")(&err)
	var pos int64
	err = db.readQueryRow(ctx, `SELECT position FROM event_cursors WHERE name = ?`, name).Scan(&pos)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return pos, err
}

// AdvanceCursor implements store.Events.
func (db *DB) AdvanceCursor(ctx context.Context, name string, from, to int64, jobs []store.Job) (err error) {
	defer db.timed("advance_cursor")(&err)
	var changes []store.Change
	return db.tx(ctx, func(tx *sql.Tx) error {
		changes = changes[:0]
		res, err := db.stmt(ctx, tx, `UPDATE event_cursors SET position = ? WHERE name = ? AND position = ?`).exec(ctx, to, name, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			// No row yet (a new cursor), or another replica moved it first.
			var pos int64
			err := db.stmt(ctx, tx, `SELECT position FROM event_cursors WHERE name = ?`).queryRow(ctx, name).Scan(&pos)
			switch {
			case errors.Is(err, sql.ErrNoRows) && from == 0:
				if _, err := db.stmt(ctx, tx, `INSERT INTO event_cursors (name, position) VALUES (?, ?)`).exec(ctx, name, to); err != nil {
					if isUniqueViolation(err) {
						return store.ErrConflict
					}
					return err
				}
			case err != nil && !errors.Is(err, sql.ErrNoRows):
				return err
			default:
				return store.ErrConflict
			}
		}
		if len(jobs) == 0 {
			return nil
		}
		n, err := db.enqueue(ctx, tx, jobs)
		if err == nil && n > 0 {
			changes = append(changes, store.Change{Kind: store.ChangeJobs})
		}
		return err
	}, &changes)
}

var _ store.Events = (*DB)(nil)
