package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// PruneEvents implements store.Events.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, limit int) (n int, err error) {
	defer db.timed("prune_events")(&err)
	return db.deleteRows(ctx, `DELETE FROM events WHERE id IN (
		SELECT id FROM events WHERE created_at < ?
			AND id <= COALESCE((SELECT min(position) FROM event_cursors), id)
		ORDER BY id LIMIT ?)`, ms(before), limit)
}

// deleteRows runs a delete in a write of its own and returns how many rows it deleted:
// the pruning of old rows, in batches so that it never holds the writer long.
func (db *DB) deleteRows(ctx context.Context, query string, args ...any) (n int, err error) {
	err = db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.stmt(ctx, tx, query).exec(ctx, args...)
		if err != nil {
			return err
		}
		rows, err := res.RowsAffected()
		n = int(rows)
		return err
	}, nil)
	return n, err
}
