package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// SetContactsOnline records that replica has live connections of the contacts, until
// until unless refreshed.
func (db *DB) SetContactsOnline(ctx context.Context, replica string, contacts []string, until time.Time) (err error) {
	if len(contacts) == 0 {
		return nil
	}
	defer db.timed("set_contacts_online")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		upsert := db.stmt(ctx, tx, `INSERT INTO contact_presence (contact_id, replica, expires_at) VALUES (?, ?, ?)
			ON CONFLICT (contact_id, replica) DO UPDATE SET expires_at = excluded.expires_at`)
		for _, c := range contacts {
			if _, err := upsert.exec(ctx, c, replica, ms(until)); err != nil {
				return err
			}
		}
		return nil
	}, nil)
}

// SetContactsOffline records that replica has no connection of the contacts left, and
// forgets every replica's rows that expired before expiredBefore.
func (db *DB) SetContactsOffline(ctx context.Context, replica string, contacts []string, expiredBefore time.Time) (err error) {
	defer db.timed("set_contacts_offline")(&err)
	return db.tx(ctx, func(tx *sql.Tx) error {
		remove := db.stmt(ctx, tx, `DELETE FROM contact_presence WHERE contact_id = ? AND replica = ?`)
		for _, c := range contacts {
			if _, err := remove.exec(ctx, c, replica); err != nil {
				return err
			}
		}
		_, err := db.stmt(ctx, tx, `DELETE FROM contact_presence WHERE expires_at < ?`).exec(ctx, ms(expiredBefore))
		return err
	}, nil)
}

// ContactOnline reports whether any replica has a live connection of the contact at now.
func (db *DB) ContactOnline(ctx context.Context, contact string, now time.Time) (_ bool, err error) {
	defer db.timed("contact_online")(&err)
	var n int
	err = db.readQueryRow(ctx, `SELECT count(*) FROM contact_presence WHERE contact_id = ? AND expires_at > ?`, contact, ms(now)).Scan(&n)
	return n > 0, err
}
