package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// conversationInsertColumns are those a new conversation sets; conversationColumns
// those read, with what the visitor told of the chat (feedback.go).
const (
	conversationInsertColumns = `id, channel, queue, contact_id, state, operator, last_operator, offered, bot_answered,
	queued_at, assigned_at, accept_deadline, completion_deadline, last_message_at, last_outgoing_at,
	created_at, updated_at, closed_at, seq, version, lapsed`
	conversationColumns = conversationInsertColumns + `, rating_scale, rating, rated_at, feedback, survey, goals`
)

type scanner interface{ Scan(...any) error }

func scanConversation(row scanner) (store.Conversation, error) {
	var c store.Conversation
	var offered, lapsed string
	var bot int64
	var queued, assigned, acceptDL, completionDL, lastMsg, lastOut, closed sql.NullInt64
	var created, updated int64
	var fb feedbackColumns
	err := row.Scan(&c.ID, &c.Channel, &c.Queue, &c.ContactID, &c.State, &c.Operator, &c.LastOperator, &offered, &bot,
		&queued, &assigned, &acceptDL, &completionDL, &lastMsg, &lastOut, &created, &updated, &closed, &c.Seq, &c.Version, &lapsed,
		&fb.scale, &fb.rating, &fb.ratedAt, &c.Feedback, &fb.survey, &fb.goals)
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	if err != nil {
		return c, err
	}
	fb.fill(&c)
	if offered != "" {
		c.Offered = strings.Split(offered, ",")
	}
	if lapsed != "" {
		c.Lapsed = strings.Split(lapsed, ",")
	}
	c.BotAnswered = bot != 0
	c.QueuedAt, c.AssignedAt = fromNullMs(queued), fromNullMs(assigned)
	c.AcceptDeadline, c.CompletionDeadline = fromNullMs(acceptDL), fromNullMs(completionDL)
	c.LastMessageAt, c.LastOutgoingAt, c.ClosedAt = fromNullMs(lastMsg), fromNullMs(lastOut), fromNullMs(closed)
	c.CreatedAt, c.UpdatedAt = fromMs(created), fromMs(updated)
	return c, nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// truncate drops what a millisecond column cannot hold, so what is returned equals
// what is read back.
func truncate(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := fromMs(t.UnixMilli())
	return &v
}

func normalise(c *store.Conversation) {
	c.QueuedAt, c.AssignedAt = truncate(c.QueuedAt), truncate(c.AssignedAt)
	c.AcceptDeadline, c.CompletionDeadline = truncate(c.AcceptDeadline), truncate(c.CompletionDeadline)
	c.LastMessageAt, c.LastOutgoingAt, c.ClosedAt = truncate(c.LastMessageAt), truncate(c.LastOutgoingAt), truncate(c.ClosedAt)
	c.CreatedAt, c.UpdatedAt = fromMs(c.CreatedAt.UnixMilli()), fromMs(c.UpdatedAt.UnixMilli())
}

func (db *DB) insertActivity(ctx context.Context, tx *sql.Tx, a store.Activity) error {
	if a.CreatedAt.IsZero() {
		a.CreatedAt = db.now()
	}
	_, err := db.stmt(ctx, tx, `INSERT INTO activity (conversation_id, type, actor, detail, created_at) VALUES (?, ?, ?, ?, ?)`).exec(ctx,
		a.ConversationID, a.Type, a.Actor, a.Detail, ms(a.CreatedAt))
	if err != nil {
		return err
	}
	return db.recordStep(ctx, tx, a)
}

// CreateConversation implements store.Store.
func (db *DB) CreateConversation(ctx context.Context, c store.Conversation, a store.Activity, events ...store.Event) (_ store.Conversation, err error) {
	defer db.timed("create_conversation")(&err)
	now := db.now()
	c.CreatedAt, c.UpdatedAt, c.Version = now, now, 1
	normalise(&c)
	changes := []store.Change{{Kind: store.ChangeConversation, Conversation: &c}}
	err = db.tx(ctx, func(tx *sql.Tx) error {
		_, err := db.stmt(ctx, tx, `INSERT INTO conversations (`+conversationInsertColumns+`)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).exec(ctx,
			c.ID, c.Channel, c.Queue, c.ContactID, c.State, c.Operator, c.LastOperator, strings.Join(c.Offered, ","),
			boolInt(c.BotAnswered), msPtr(c.QueuedAt), msPtr(c.AssignedAt), msPtr(c.AcceptDeadline), msPtr(c.CompletionDeadline),
			msPtr(c.LastMessageAt), msPtr(c.LastOutgoingAt), ms(c.CreatedAt), ms(c.UpdatedAt), msPtr(c.ClosedAt), c.Seq, c.Version,
			strings.Join(c.Lapsed, ","))
		if err != nil {
			return err
		}
		a.ConversationID = c.ID
		if err := db.insertActivity(ctx, tx, a); err != nil {
			return err
		}
		return db.insertEvents(ctx, tx, events, &changes)
	}, &changes)
	if err != nil && isUniqueViolation(err) {
		return c, store.ErrOpenExists
	}
	return c, err
}

// Conversation implements store.Store.
func (db *DB) Conversation(ctx context.Context, id string) (_ store.Conversation, err error) {
	defer db.timed("get_conversation")(&err)
	return scanConversation(db.readQueryRow(ctx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`, id))
}

// Conversations implements store.Store, in the order of store.ConversationKey:
// oldest queued first.
func (db *DB) Conversations(ctx context.Context, f store.ConversationFilter) (_ []store.Conversation, err error) {
	defer db.timed("list_conversations")(&err)
	var where []string
	var args []any
	in := func(col string, vals []string) {
		if len(vals) == 0 {
			return
		}
		where = append(where, col+" IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(vals)), ", ")+")")
		for _, v := range vals {
			args = append(args, v)
		}
	}
	in("queue", f.Queues)
	states := make([]string, len(f.States))
	for i, s := range f.States {
		states[i] = string(s)
	}
	in("state", states)
	if f.Operator != "" {
		where = append(where, "operator = ?")
		args = append(args, f.Operator)
	}
	if f.ContactID != "" {
		where = append(where, "contact_id = ?")
		args = append(args, f.ContactID)
	}
	if k := f.After; k != nil {
		where = append(where, "(COALESCE(queued_at, created_at), created_at, id) > (?, ?, ?)")
		args = append(args, ms(k.At), ms(k.CreatedAt), k.ID)
	}
	query := `SELECT ` + conversationColumns + ` FROM conversations`
	if len(where) > 0 {
		query += " WHERE " + strings.Join(where, " AND ")
	}
	query += " ORDER BY COALESCE(queued_at, created_at), created_at, id"
	if f.Limit > 0 {
		query += " LIMIT ?"
		args = append(args, f.Limit)
	}
	return queryAll(ctx, db, scanConversation, query, args...)
}

// queryAll runs a query and scans every row with scan.
func queryAll[T any](ctx context.Context, db *DB, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := db.readQuery(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Transition implements store.Store.
func (db *DB) Transition(ctx context.Context, t store.Transition) (_ store.Conversation, err error) {
	defer db.timed("transition")(&err)
	var c store.Conversation
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		if t.Claim != nil {
			if err := db.checkClaim(ctx, tx, t.ID, *t.Claim); err != nil {
				return err
			}
		}
		var err error
		c, err = scanConversation(db.stmt(ctx, tx, `SELECT `+conversationColumns+` FROM conversations WHERE id = ?`).queryRow(ctx, t.ID))
		if err != nil {
			return err
		}
		if c.Version != t.Version {
			return store.ErrConflict
		}
		holder := c.Operator
		t.Change(&c)
		c.Version++
		c.UpdatedAt = db.now()
		normalise(&c)
		res, err := db.stmt(ctx, tx, `UPDATE conversations SET queue = ?, state = ?, operator = ?, last_operator = ?,
			offered = ?, lapsed = ?, bot_answered = ?, queued_at = ?, assigned_at = ?, accept_deadline = ?, completion_deadline = ?,
			updated_at = ?, closed_at = ?, version = ? WHERE id = ? AND version = ?`).exec(ctx,
			c.Queue, c.State, c.Operator, c.LastOperator, strings.Join(c.Offered, ","), strings.Join(c.Lapsed, ","), boolInt(c.BotAnswered),
			msPtr(c.QueuedAt), msPtr(c.AssignedAt), msPtr(c.AcceptDeadline), msPtr(c.CompletionDeadline),
			ms(c.UpdatedAt), msPtr(c.ClosedAt), c.Version, c.ID, t.Version)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return store.ErrConflict
		}
		if t.Claim != nil && holder != t.Claim.Operator {
			if _, err := db.stmt(ctx, tx, `UPDATE operators SET last_assigned_at = ? WHERE name = ?`).exec(ctx,
				ms(c.UpdatedAt), t.Claim.Operator); err != nil {
				return err
			}
		}
		if t.Activity != nil {
			a := *t.Activity
			a.ConversationID = c.ID
			if err := db.insertActivity(ctx, tx, a); err != nil {
				return err
			}
		}
		changes = []store.Change{{Kind: store.ChangeConversation, Conversation: &c}}
		return db.insertEvents(ctx, tx, t.Events, &changes)
	}, &changes)
	return c, err
}

// checkClaim locks the operator (PostgreSQL: the row, until the transaction ends;
// SQLite: every write is serialized already) and refuses the claim when they hold as
// many chats as their limit, not counting the conversation being claimed.
func (db *DB) checkClaim(ctx context.Context, tx *sql.Tx, conversationID string, cl store.Claim) error {
	if _, err := db.stmt(ctx, tx, `INSERT INTO operators (name, presence, active, updated_at) VALUES (?, 'offline', 1, ?)
		ON CONFLICT (name) DO NOTHING`).exec(ctx, cl.Operator, ms(db.now())); err != nil {
		return err
	}
	lock := `SELECT presence, active FROM operators WHERE name = ?`
	if db.d.dollar {
		lock += ` FOR UPDATE`
	}
	var presence store.Presence
	var active int64
	if err := db.stmt(ctx, tx, lock).queryRow(ctx, cl.Operator).Scan(&presence, &active); err != nil {
		return err
	}
	if cl.Routed && (presence != store.PresenceOnline || active == 0) {
		return store.ErrUnavailable
	}
	var held int
	if err := db.stmt(ctx, tx, `SELECT count(*) FROM conversations WHERE operator = ? AND state IN ('Assigned', 'Active') AND id <> ?`).queryRow(ctx,
		cl.Operator, conversationID).Scan(&held); err != nil {
		return err
	}
	if held >= cl.Limit {
		return store.ErrLimit
	}
	return nil
}

// AppendMessage implements store.Store.
func (db *DB) AppendMessage(ctx context.Context, channel string, m store.Message) (_ store.Message, dup bool, err error) {
	defer db.timed("append_message")(&err)
	// A provider's message delivered again breaks the unique dedup key in the write
	// itself (rolled back alone), and the earlier one is read then: duplicates are
	// rare, so no read before every write.
	var dedup any
	if m.ProviderID != "" {
		dedup = channel + "/" + m.ProviderID
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = db.now()
	}
	m.CreatedAt = fromMs(m.CreatedAt.UnixMilli())
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		outgoing := any(nil)
		if m.Direction == store.DirectionOut {
			outgoing = ms(m.CreatedAt)
		}
		completion := "completion_deadline"
		var completionArgs []any
		switch {
		case m.CompletionDeadline != nil:
			completion, completionArgs = "?", []any{ms(*m.CompletionDeadline)}
		case m.ClearCompletion:
			completion = "NULL"
		}
		args := append(append([]any{ms(m.CreatedAt), outgoing}, completionArgs...), m.ConversationID)
		// A bot's answer lands only while the bot holds the chat, and flags it (a new
		// version, so no transition read before it writes the flag back).
		open, botAnswer := `state <> 'Closed'`, ``
		if m.BotAnswer {
			open, botAnswer = `state = 'Bot'`, `, bot_answered = 1, version = version + 1 - bot_answered`
		}
		// Replicas schedule deadlines from conversation changes: a write that moves one
		// announces the conversation, which the update returns whole then.
		announce := m.CompletionDeadline != nil || m.ClearCompletion || m.BotAnswer
		var conv store.Conversation
		update := `UPDATE conversations SET seq = seq + 1, last_message_at = ?,
			last_outgoing_at = COALESCE(?, last_outgoing_at), completion_deadline = ` + completion + botAnswer + `
			WHERE id = ? AND ` + open
		var err error
		if announce {
			conv, err = scanConversation(db.stmt(ctx, tx, update+` RETURNING `+conversationColumns).queryRow(ctx, args...))
			m.Seq, m.Queue = conv.Seq, conv.Queue
		} else {
			err = db.stmt(ctx, tx, update+` RETURNING seq, queue`).queryRow(ctx, args...).Scan(&m.Seq, &m.Queue)
		}
		if errors.Is(err, store.ErrNotFound) {
			err = sql.ErrNoRows // scanConversation's word for no row
		}
		if err != nil {
			if errors.Is(err, sql.ErrNoRows) {
				var state store.State
				err := db.stmt(ctx, tx, `SELECT state FROM conversations WHERE id = ?`).queryRow(ctx, m.ConversationID).Scan(&state)
				switch {
				case errors.Is(err, sql.ErrNoRows):
					return store.ErrNotFound
				case err != nil:
					return err
				case state == store.StateClosed:
					return store.ErrClosed
				}
				return store.ErrConflict // BotAnswer, and the bot no longer holds the chat
			}
			return err
		}
		err = db.stmt(ctx, tx, `INSERT INTO messages (conversation_id, seq, direction, author_kind, author, text,
			provider_id, dedup_key, created_at, delivery) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`).queryRow(ctx,
			m.ConversationID, m.Seq, m.Direction, m.AuthorKind, m.Author, m.Text, m.ProviderID, dedup, ms(m.CreatedAt), m.Delivery).Scan(&m.ID)
		if err != nil {
			return err
		}
		if err := db.insertAttachments(ctx, tx, &m); err != nil {
			return err
		}
		changes = []store.Change{{Kind: store.ChangeMessage, Message: &m}}
		if err := db.enqueueForMessage(ctx, tx, &m, &changes); err != nil {
			return err
		}
		if err := db.insertEvents(ctx, tx, messageEvents(m), &changes); err != nil {
			return err
		}
		if announce {
			changes = append(changes, store.Change{Kind: store.ChangeConversation, Conversation: &conv})
		}
		return nil
	}, &changes)
	if err != nil && dedup != nil && isUniqueViolation(err) {
		// Stored before: by an earlier delivery, or another replica a moment ago.
		prev, perr := db.messageByDedup(ctx, dedup.(string))
		if perr == nil {
			return prev, true, nil
		}
	}
	return m, false, err
}

// pgUniqueViolation is PostgreSQL's SQLSTATE unique_violation.
const pgUniqueViolation = "23505"

// isUniqueViolation reports whether a write broke a unique constraint, by the
// drivers' error codes.
func isUniqueViolation(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == pgUniqueViolation
	}
	var sqliteErr *sqlite.Error
	if errors.As(err, &sqliteErr) {
		code := sqliteErr.Code()
		return code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

const messageColumns = `id, conversation_id, seq, direction, author_kind, author, text, provider_id, created_at, delivery, delivery_error`

func scanMessage(row scanner) (store.Message, error) {
	var m store.Message
	var created int64
	err := row.Scan(&m.ID, &m.ConversationID, &m.Seq, &m.Direction, &m.AuthorKind, &m.Author, &m.Text, &m.ProviderID, &created,
		&m.Delivery, &m.DeliveryError)
	if errors.Is(err, sql.ErrNoRows) {
		return m, store.ErrNotFound
	}
	m.CreatedAt = fromMs(created)
	return m, err
}

func (db *DB) messageByDedup(ctx context.Context, key string) (store.Message, error) {
	return scanMessage(db.readQueryRow(ctx, `SELECT `+messageColumns+` FROM messages WHERE dedup_key = ?`, key))
}

// Messages implements store.Store.
func (db *DB) Messages(ctx context.Context, conversationID string, afterSeq int64, limit int) (_ []store.Message, err error) {
	defer db.timed("list_messages")(&err)
	if limit <= 0 {
		limit = 1000
	}
	msgs, err := queryAll(ctx, db, scanMessage, `SELECT `+messageColumns+` FROM messages
		WHERE conversation_id = ? AND seq > ? ORDER BY seq LIMIT ?`, conversationID, afterSeq, limit)
	if err != nil {
		return nil, err
	}
	return msgs, db.withAttachments(ctx, conversationID, msgs)
}

// CountByState implements store.Store.
func (db *DB) CountByState(ctx context.Context) (_ map[store.State]int, err error) {
	defer db.timed("count_conversations")(&err)
	rows, err := db.readQuery(ctx, `SELECT state, count(*) FROM conversations GROUP BY state`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[store.State]int{}
	for rows.Next() {
		var s store.State
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return nil, err
		}
		out[s] = n
	}
	return out, rows.Err()
}

// Loads implements store.Store.
func (db *DB) Loads(ctx context.Context) (_ map[string]int, err error) {
	defer db.timed("loads")(&err)
	rows, err := db.readQuery(ctx, `SELECT operator, count(*) FROM conversations
		WHERE state IN ('Assigned', 'Active') AND operator <> '' GROUP BY operator`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var op string
		var n int
		if err := rows.Scan(&op, &n); err != nil {
			return nil, err
		}
		out[op] = n
	}
	return out, rows.Err()
}

// WithDeadlines implements store.Store.
func (db *DB) WithDeadlines(ctx context.Context) (_ []store.Conversation, err error) {
	defer db.timed("list_deadlines")(&err)
	return queryAll(ctx, db, scanConversation, `SELECT `+conversationColumns+` FROM conversations
		WHERE accept_deadline IS NOT NULL OR completion_deadline IS NOT NULL`)
}
