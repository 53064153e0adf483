package sqlstore

import (
	"context"
	"database/sql"
	"time"
)

// PruneEvents implements store.Events.
func (db *DB) PruneEvents(ctx context.Context, before time.Time, limit int) (n int, err error) {
	defer db.timed("prune_events")(&err)
	err = db.tx(ctx, func(tx *sql.Tx) error {
		res, err := db.stmt(ctx, tx, `DELETE FROM events WHERE id IN (
			SELECT id FROM events WHERE created_at < ?
				AND id <= COALESCE((SELECT min(position) FROM event_cursors), id)
			ORDER BY id LIMIT ?)`).exec(ctx, ms(before), limit)
		if err != nil {
			return err
		}
		rows, err := res.RowsAffected()
		n = int(rows)
		return err
	}, nil)
	return n, err
}
