package store

import (
	"context"
	"errors"
	"strconv"
	"time"
)

// ErrRecorded means the conversation has that rating, feedback, survey or goal
// already: nothing was recorded.
var ErrRecorded = errors.New("recorded already")

// Rating is a visitor's rating of a chat, on the scale its channel asked for.
type Rating struct {
	// Scale is Stars or Thumbs.
	Scale string `json:"scale"`
	// Score is 1 to 5 on Stars; Thumbs is up or down on Thumbs.
	Score   int       `json:"score,omitempty"`
	Thumbs  string    `json:"thumbs,omitempty"`
	RatedAt time.Time `json:"ratedAt"`
}

// Thumbs of a rating on the Thumbs scale.
const (
	ThumbsUp   = "up"
	ThumbsDown = "down"
)

// VisitorFeedback is one thing a visitor tells of a chat: exactly one of Rating,
// Feedback, Survey and Goal is set.
type VisitorFeedback struct {
	ConversationID string
	Rating         *Rating
	Feedback       string
	// Survey answers the channel's questions by name.
	Survey map[string]string
	// Goal is a goal the chat reached.
	Goal string
	// Events are recorded in the same transaction.
	Events []Event
}

// Feedbacks keeps what visitors tell of their chats.
type Feedbacks interface {
	// RecordFeedback stores f, with its events, on the conversation and returns the
	// conversation with it; ErrNotFound when there is no such conversation, and
	// ErrRecorded, recording nothing, when the conversation was rated, given feedback
	// or a survey before, or reached the goal before.
	RecordFeedback(ctx context.Context, f VisitorFeedback) (Conversation, error)
}

// ChatFacts are what the analytics need of one conversation.
type ChatFacts struct {
	CreatedAt time.Time
	Queue     string
	// Operator is the last operator who held the chat; empty if nobody did.
	Operator string
	// State and BotAnswered are the conversation's now.
	State       State
	BotAnswered bool
	// Offline: the conversation started as an offline message.
	Offline bool
	// HandedOverAt, AcceptedAt and FinishedAt are when the bot first handed the chat
	// over, an operator first accepted it and it first finished; zero if never.
	HandedOverAt, AcceptedAt, FinishedAt time.Time
	// RatingScale is the scale of the visitor's rating, empty when they gave none;
	// RatingScore its score: 1 to 5 on Stars, 1 (up) or 0 (down) on Thumbs.
	RatingScale string
	RatingScore int
}

// Analytics reads what the analytics are computed from.
type Analytics interface {
	// ChatFacts returns the facts of the conversations created in [from, to), of the
	// queue unless it is empty, oldest first.
	ChatFacts(ctx context.Context, from, to time.Time, queue string) ([]ChatFacts, error)
}

// String writes the rating as people read it: "4/5", "thumbs up".
func (r Rating) String() string {
	if r.Thumbs != "" {
		return "thumbs " + r.Thumbs
	}
	return strconv.Itoa(r.Score) + "/5"
}
