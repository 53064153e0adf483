package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

var _ store.Analytics = (*DB)(nil)

// ChatFacts implements store.Analytics: one range scan of the conversations by their
// creation index (of one queue: by the queue's), reading the steps kept on each
// conversation (recordStep) rather than its activity.
func (db *DB) ChatFacts(ctx context.Context, from, to time.Time, queue string) (_ []store.ChatFacts, err error) {
	defer db.timed("chat_facts")(&err)
	where, args := `created_at >= ? AND created_at < ?`, []any{ms(from), ms(to)}
	if queue != "" {
		where, args = `queue = ? AND `+where, append([]any{queue}, args...)
	}
	rows, err := db.readQuery(ctx, `SELECT created_at, queue, last_operator, state, bot_answered, offline,
		handed_over_at, accepted_at, finished_at, rating_scale, rating
		FROM conversations WHERE `+where+` ORDER BY created_at`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.ChatFacts
	var created, bot, offline int64
	var handedOver, accepted, finished, rating sql.NullInt64
	at := func(v sql.NullInt64) time.Time {
		if !v.Valid {
			return time.Time{}
		}
		return fromMs(v.Int64)
	}
	for rows.Next() {
		var f store.ChatFacts
		if err := rows.Scan(&created, &f.Queue, &f.Operator, &f.State, &bot, &offline, &handedOver, &accepted, &finished,
			&f.RatingScale, &rating); err != nil {
			return nil, err
		}
		f.CreatedAt, f.BotAnswered, f.Offline = fromMs(created), bot != 0, offline != 0
		f.HandedOverAt, f.AcceptedAt, f.FinishedAt = at(handedOver), at(accepted), at(finished)
		if f.RatingScale != "" {
			f.RatingScore = int(rating.Int64)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}
