package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// PresenceTable records which replica has live connections of which key (a contact, an
// operator), until when. The presence package's trackers write and read it.
type PresenceTable struct {
	db                       *DB
	upsert, remove, purge, q string
}

// ContactPresence is the table of visitors' and internal clients' connections.
func (db *DB) ContactPresence() PresenceTable {
	return db.presenceTable("contact_presence", "contact_id")
}

// OperatorConsoles is the table of operators' console connections.
func (db *DB) OperatorConsoles() PresenceTable {
	return db.presenceTable("operator_consoles", "operator")
}

func (db *DB) presenceTable(table, key string) PresenceTable {
	return PresenceTable{db: db,
		upsert: `INSERT INTO ` + table + ` (` + key + `, replica, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (` + key + `, replica) DO UPDATE SET expires_at = excluded.expires_at`,
		remove: `DELETE FROM ` + table + ` WHERE ` + key + ` = ? AND replica = ?`,
		purge:  `DELETE FROM ` + table + ` WHERE expires_at < ?`,
		q:      `SELECT count(*) FROM ` + table + ` WHERE ` + key + ` = ? AND expires_at > ?`,
	}
}

// SetOnline records that replica has live connections of the keys until until,
// unless refreshed.
func (t PresenceTable) SetOnline(ctx context.Context, replica string, keys []string, until time.Time) (err error) {
	if len(keys) == 0 {
		return nil
	}
	defer t.db.timed("set_presence_online")(&err)
	return t.db.tx(ctx, func(tx *sql.Tx) error {
		upsert := t.db.stmt(ctx, tx, t.upsert)
		for _, k := range keys {
			if _, err := upsert.exec(ctx, k, replica, ms(until)); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

// SetOffline records that replica has no connection of the keys left, and forgets
// every replica's rows that expired before expiredBefore.
func (t PresenceTable) SetOffline(ctx context.Context, replica string, keys []string, expiredBefore time.Time) (err error) {
	defer t.db.timed("set_presence_offline")(&err)
	return t.db.tx(ctx, func(tx *sql.Tx) error {
		remove := t.db.stmt(ctx, tx, t.remove)
		for _, k := range keys {
			if _, err := remove.exec(ctx, k, replica); err != nil {
				return err
			}
		}
		_, err := t.db.stmt(ctx, tx, t.purge).exec(ctx, ms(expiredBefore))
		return err
	}, nil)
}

// Online reports whether any replica has a live connection of the key at now.
func (t PresenceTable) Online(ctx context.Context, key string, now time.Time) (_ bool, err error) {
	defer t.db.timed("presence_online")(&err)
	var n int
	err = t.db.readQueryRow(ctx, t.q, key, ms(now)).Scan(&n)
	return n > 0, err
}

// LapseConsoles implements store.Store.
func (db *DB) LapseConsoles(ctx context.Context, now time.Time, offline store.Event) (_ []store.Operator, err error) {
	defer db.timed("lapse_consoles")(&err)
	var out []store.Operator
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		out, changes = nil, nil
		rows, err := db.stmt(ctx, tx, `SELECT DISTINCT c.operator FROM operator_consoles c JOIN operators o ON o.name = c.operator
			WHERE o.presence <> 'offline' AND c.expires_at <= ? AND NOT EXISTS
			(SELECT 1 FROM operator_consoles l WHERE l.operator = c.operator AND l.expires_at > ?) ORDER BY c.operator`).query(ctx, ms(now), ms(now))
		if err != nil {
			return err
		}
		var names []string
		for rows.Next() {
			var n string
			if err := rows.Scan(&n); err != nil {
				rows.Close()
				return err
			}
			names = append(names, n)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		var events []store.Event
		for _, n := range names {
			// Conditional: of replicas lapsing the same operator at once, one does.
			res, err := db.stmt(ctx, tx, `UPDATE operators SET presence = 'offline', updated_at = ? WHERE name = ? AND presence <> 'offline'`).exec(ctx,
				ms(now), n)
			if err != nil {
				return err
			}
			if k, _ := res.RowsAffected(); k != 1 {
				continue
			}
			op, err := scanOperator(db.stmt(ctx, tx, `SELECT `+operatorColumns+` FROM operators WHERE name = ?`).queryRow(ctx, n))
			if err != nil {
				return err
			}
			out = append(out, op)
			changes = append(changes, store.Change{Kind: store.ChangeOperator, Operator: &op})
			ev := offline
			ev.Operator = n
			events = append(events, ev)
		}
		if _, err := db.stmt(ctx, tx, `DELETE FROM operator_consoles WHERE expires_at <= ? AND operator IN
			(SELECT name FROM operators WHERE presence = 'offline')`).exec(ctx, ms(now)); err != nil {
			return err
		}
		return db.insertEvents(ctx, tx, events, &changes)
	}, &changes)
	return out, err
}

// SetInactive implements store.Store.
func (db *DB) SetInactive(ctx context.Context, name, reason string, events ...store.Event) (_ store.Operator, err error) {
	defer db.timed("set_inactive")(&err)
	var op store.Operator
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if _, err := db.stmt(ctx, tx, `INSERT INTO operators (name, presence, active, inactive_reason, updated_at) VALUES (?, 'offline', 0, ?, ?)
			ON CONFLICT (name) DO UPDATE SET active = 0, inactive_reason = excluded.inactive_reason, updated_at = excluded.updated_at`).exec(ctx,
			name, reason, ms(db.now())); err != nil {
			return err
		}
		var err error
		op, err = scanOperator(db.stmt(ctx, tx, `SELECT `+operatorColumns+` FROM operators WHERE name = ?`).queryRow(ctx, name))
		if err != nil {
			return err
		}
		changes = []store.Change{{Kind: store.ChangeOperator, Operator: &op}}
		return db.insertEvents(ctx, tx, events, &changes)
	}, &changes)
	return op, err
}
