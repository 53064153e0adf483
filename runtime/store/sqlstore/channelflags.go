package sqlstore

import (
	"context"
	"database/sql"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SetChannelFlag implements store.Events. The update changes the row only when the
// value differs: of replicas that report the same change, the first changes it and
// records ev; on PostgreSQL the others wait for its row, find the value set, and
// record nothing.
func (db *DB) SetChannelFlag(ctx context.Context, channel string, flag store.ChannelFlag, value bool, ev store.Event) (changed bool, err error) {
	defer db.timed("set_channel_flag")(&err)
	v := int64(0)
	if value {
		v = 1
	}
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		changes, changed = changes[:0], false
		now := ms(db.now())
		res, err := db.stmt(ctx, tx, `UPDATE channel_flags SET value = ?, updated_at = ? WHERE channel = ? AND flag = ? AND value <> ?`).
			exec(ctx, v, now, channel, string(flag), v)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			changed = true
			return db.insertEvents(ctx, tx, []store.Event{ev}, &changes)
		}
		// Unchanged, or seen for the first time: nothing to tell.
		_, err = db.stmt(ctx, tx, `INSERT INTO channel_flags (channel, flag, value, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT (channel, flag) DO NOTHING`).exec(ctx, channel, string(flag), v, now)
		return err
	}, &changes)
	return changed && err == nil, err
}
