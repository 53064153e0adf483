package sqlstore

import (
	"context"
	"time"
)

// SetContactsOnline records that replica has live connections of the contacts, until
// until unless refreshed.
func (db *DB) SetContactsOnline(ctx context.Context, replica string, contacts []string, until time.Time) error {
	return db.ContactPresence().SetOnline(ctx, replica, contacts, until)
}

// SetContactsOffline records that replica has no connection of the contacts left, and
// forgets every replica's rows that expired before expiredBefore.
func (db *DB) SetContactsOffline(ctx context.Context, replica string, contacts []string, expiredBefore time.Time) error {
	return db.ContactPresence().SetOffline(ctx, replica, contacts, expiredBefore)
}

// ContactOnline reports whether any replica has a live connection of the contact at now.
func (db *DB) ContactOnline(ctx context.Context, contact string, now time.Time) (bool, error) {
	return db.ContactPresence().Online(ctx, contact, now)
}
