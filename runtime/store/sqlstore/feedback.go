package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// feedbackColumns are the columns of what a visitor told of a chat, as scanned.
type feedbackColumns struct {
	scale, survey, goals string
	rating, ratedAt      sql.NullInt64
}

// fill sets the conversation's rating, survey and goals from the columns.
func (f feedbackColumns) fill(c *store.Conversation) {
	if f.scale != "" && f.rating.Valid {
		r := &store.Rating{Scale: f.scale, Score: int(f.rating.Int64)}
		if f.ratedAt.Valid {
			r.RatedAt = fromMs(f.ratedAt.Int64)
		}
		if f.scale == thumbsScale {
			r.Score, r.Thumbs = 0, store.ThumbsDown
			if f.rating.Int64 == 1 {
				r.Thumbs = store.ThumbsUp
			}
		}
		c.Rating = r
	}
	if f.survey != "" {
		_ = json.Unmarshal([]byte(f.survey), &c.Survey) // written by RecordFeedback only
	}
	if f.goals != "" {
		c.Goals = strings.Split(f.goals, ",")
	}
}

// thumbsScale is the rating scale stored as 1 (up) or 0 (down).
const thumbsScale = "Thumbs"

// stepColumns are the conversation columns that keep when an activity type first
// happened, for the analytics (store.ChatFacts).
var stepColumns = map[string]string{
	"BotHandedOver": "handed_over_at",
	"ChatAccepted":  "accepted_at",
	"ChatFinished":  "finished_at",
}

// recordStep keeps on the conversation when a step of the analytics first happened,
// in the transaction of its activity.
func (db *DB) recordStep(ctx context.Context, tx *sql.Tx, a store.Activity) error {
	if a.Type == "OfflineMessage" {
		_, err := db.stmt(ctx, tx, `UPDATE conversations SET offline = 1 WHERE id = ?`).exec(ctx, a.ConversationID)
		return err
	}
	col, ok := stepColumns[a.Type]
	if !ok {
		return nil
	}
	_, err := db.stmt(ctx, tx, `UPDATE conversations SET `+col+` = ? WHERE id = ? AND `+col+` IS NULL`).exec(ctx,
		ms(a.CreatedAt), a.ConversationID)
	return err
}

// RecordFeedback implements store.Feedbacks. Each of the rating, feedback and survey
// is recorded once: the update applies only while the column is empty, so of two
// racing requests one records and the other finds it recorded.
func (db *DB) RecordFeedback(ctx context.Context, f store.VisitorFeedback) (_ store.Conversation, err error) {
	defer db.timed("record_feedback")(&err)
	var c store.Conversation
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var set, unset string
		var args []any
		switch {
		case f.Rating != nil:
			score := f.Rating.Score
			if f.Rating.Scale == thumbsScale {
				score = int(boolInt(f.Rating.Thumbs == store.ThumbsUp))
			}
			set, unset, args = `rating_scale = ?, rating = ?, rated_at = ?`, `rating_scale = ''`,
				[]any{f.Rating.Scale, score, ms(f.Rating.RatedAt)}
		case f.Feedback != "":
			set, unset, args = `feedback = ?`, `feedback = ''`, []any{f.Feedback}
		case f.Survey != nil:
			answers, err := json.Marshal(f.Survey)
			if err != nil {
				return err
			}
			set, unset, args = `survey = ?`, `survey = ''`, []any{string(answers)}
		case f.Goal != "":
			goals, err := db.goals(ctx, tx, f.ConversationID)
			if err != nil {
				return err
			}
			if slices.Contains(goals, f.Goal) {
				return store.ErrRecorded
			}
			// The goals read are the condition: a goal recorded meanwhile makes this
			// update find no row, and the request is answered as a conflict.
			set, unset, args = `goals = ?`, `goals = ?`, []any{strings.Join(append(goals, f.Goal), ","), strings.Join(goals, ",")}
		default:
			return errors.New("sqlstore: visitor feedback with nothing in it")
		}
		args = append(args, f.ConversationID)
		if f.Goal != "" {
			args = []any{args[0], f.ConversationID, args[1]}
		}
		var err error
		c, err = scanConversation(db.stmt(ctx, tx, `UPDATE conversations SET `+set+` WHERE id = ? AND `+unset+
			` RETURNING `+conversationColumns).queryRow(ctx, args...))
		if errors.Is(err, store.ErrNotFound) {
			if _, err := db.goals(ctx, tx, f.ConversationID); err != nil {
				return err // no such conversation
			}
			return store.ErrRecorded
		}
		if err != nil {
			return err
		}
		for i := range f.Events {
			if f.Events[i].ConversationID == "" {
				f.Events[i].ConversationID = c.ID
			}
		}
		changes = []store.Change{{Kind: store.ChangeConversation, Conversation: &c}}
		return db.insertEvents(ctx, tx, f.Events, &changes)
	}, &changes)
	return c, err
}

// goals reads a conversation's goals; store.ErrNotFound when there is no such
// conversation.
func (db *DB) goals(ctx context.Context, tx *sql.Tx, id string) ([]string, error) {
	var goals string
	err := db.stmt(ctx, tx, `SELECT goals FROM conversations WHERE id = ?`).queryRow(ctx, id).Scan(&goals)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, store.ErrNotFound
	}
	if err != nil || goals == "" {
		return nil, err
	}
	return strings.Split(goals, ","), nil
}
