package sqlstore

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

var _ store.Analytics = (*DB)(nil)

// ConversationSteps implements store.Analytics: one pass over the day's conversations
// (by their creation index) and their activity (by conversation).
func (db *DB) ConversationSteps(ctx context.Context, from, to time.Time, types []string) (_ []store.ConversationSteps, err error) {
	defer db.timed("conversation_steps")(&err)
	if len(types) == 0 {
		types = []string{""}
	}
	args := []any{}
	for _, t := range types {
		args = append(args, t)
	}
	args = append(args, ms(from), ms(to))
	type row struct {
		id      string
		created int64
		state   store.State
		bot     int64
		typ     string
		first   int64
	}
	rows, err := queryAll(ctx, db, func(s scanner) (row, error) {
		var r row
		err := s.Scan(&r.id, &r.created, &r.state, &r.bot, &r.typ, &r.first)
		return r, err
	}, `SELECT c.id, c.created_at, c.state, c.bot_answered, COALESCE(a.type, ''), COALESCE(min(a.created_at), 0)
		FROM conversations c LEFT JOIN activity a ON a.conversation_id = c.id AND a.type IN (`+placeholders(len(types))+`)
		WHERE c.created_at >= ? AND c.created_at < ?
		GROUP BY c.id, c.created_at, c.state, c.bot_answered, a.type ORDER BY c.id`, args...)
	if err != nil {
		return nil, err
	}
	var out []store.ConversationSteps
	for _, r := range rows {
		if len(out) == 0 || out[len(out)-1].ConversationID != r.id {
			out = append(out, store.ConversationSteps{ConversationID: r.id, CreatedAt: fromMs(r.created), State: r.state,
				BotAnswered: r.bot != 0, First: map[string]time.Time{}})
		}
		if r.typ != "" {
			out[len(out)-1].First[r.typ] = fromMs(r.first)
		}
	}
	return out, nil
}
