package chat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Bounds of what visitors tell of a chat.
const (
	// MaxFeedbackLength is the longest free-text feedback, in characters.
	MaxFeedbackLength = 2000
	// MaxSurveyAnswerLength is the longest answer to a question without options.
	MaxSurveyAnswerLength = 500
)

// RatingInput is a visitor's rating: Score on the Stars scale, Thumbs on Thumbs.
type RatingInput struct {
	Score  int    `json:"score,omitempty"`
	Thumbs string `json:"thumbs,omitempty"`
}

// Rate records the contact's rating of their conversation, once: a second rating is
// a Conflict. The channel must take ratings, on the scale given, and an operator must
// have had the chat.
func (e *Engine) Rate(ctx context.Context, conv store.Conversation, in RatingInput) (store.Conversation, error) {
	w, err := e.ratingsOn(conv)
	if err != nil {
		return conv, err
	}
	r := &store.Rating{Scale: w.Scale(), RatedAt: e.now()}
	switch w.Scale() {
	case config.RatingThumbs:
		if in.Score != 0 || (in.Thumbs != store.ThumbsUp && in.Thumbs != store.ThumbsDown) {
			return conv, Invalid(`this channel rates chats with thumbs: send {"thumbs": "up"} or {"thumbs": "down"}`)
		}
		r.Thumbs = in.Thumbs
	default:
		if in.Thumbs != "" || in.Score < 1 || in.Score > 5 {
			return conv, Invalid(fmt.Sprintf(`this channel rates chats with stars: send {"score": n} with n from 1 to 5 (got %d)`, in.Score))
		}
		r.Score = in.Score
	}
	next, err := e.recordFeedback(ctx, conv, store.VisitorFeedback{Rating: r}, chatv1alpha1.EventChatRated, r.String(), "rated")
	if err == nil {
		score := r.Thumbs
		if score == "" {
			score = strconv.Itoa(r.Score)
		}
		e.metrics.feedback.ratings.WithLabelValues(conv.Channel, conv.Queue, score).Inc()
	}
	return next, err
}

// LeaveFeedback records the contact's free-text feedback on their conversation, once.
func (e *Engine) LeaveFeedback(ctx context.Context, conv store.Conversation, text string) (store.Conversation, error) {
	if _, err := e.ratingsOn(conv); err != nil {
		return conv, err
	}
	text = strings.TrimSpace(text)
	switch n := utf8.RuneCountInString(text); {
	case !utf8.ValidString(text):
		return conv, Invalid("text is not valid UTF-8")
	case n == 0:
		return conv, Invalid(`feedback is empty: send {"text": "..."} with at least one character`)
	case n > MaxFeedbackLength:
		return conv, Invalid(fmt.Sprintf("feedback is %d characters long: the limit is %d", n, MaxFeedbackLength))
	}
	next, err := e.recordFeedback(ctx, conv, store.VisitorFeedback{Feedback: text}, chatv1alpha1.EventChatFeedback, text, "given feedback")
	if err == nil {
		e.metrics.feedback.feedback.WithLabelValues(conv.Channel, conv.Queue).Inc()
	}
	return next, err
}

// AnswerSurvey records the contact's answers to their channel's survey, once. Any of
// the questions may be answered; a question with options takes one of them.
func (e *Engine) AnswerSurvey(ctx context.Context, conv store.Conversation, answers map[string]string) (store.Conversation, error) {
	w, err := e.ratingsOn(conv)
	if err != nil {
		return conv, err
	}
	if len(w.Survey) == 0 {
		return conv, Forbidden(fmt.Sprintf("channel %q has no survey: list questions in the Channel's spec.webWidget.survey", conv.Channel))
	}
	if len(answers) == 0 {
		return conv, Invalid(`no answers: send {"answers": {"<question>": "<answer>"}}`)
	}
	clean := make(map[string]string, len(answers))
	for name, a := range answers {
		i := slices.IndexFunc(w.Survey, func(q config.SurveyQuestion) bool { return q.Name == name })
		if i < 0 {
			names := make([]string, len(w.Survey))
			for j, q := range w.Survey {
				names[j] = q.Name
			}
			return conv, Invalid(fmt.Sprintf("the survey has no question %q: answer %s", name, strings.Join(names, ", ")))
		}
		q := w.Survey[i]
		a = strings.TrimSpace(a)
		switch n := utf8.RuneCountInString(a); {
		case !utf8.ValidString(a):
			return conv, Invalid(fmt.Sprintf("the answer to %q is not valid UTF-8", name))
		case n == 0:
			return conv, Invalid(fmt.Sprintf("the answer to %q is empty: leave the question out instead", name))
		case len(q.Options) > 0 && !slices.Contains(q.Options, a):
			return conv, Invalid(fmt.Sprintf("the answer to %q must be one of: %s", name, strings.Join(q.Options, ", ")))
		case n > MaxSurveyAnswerLength:
			return conv, Invalid(fmt.Sprintf("the answer to %q is %d characters long: the limit is %d", name, n, MaxSurveyAnswerLength))
		}
		clean[name] = a
	}
	next, err := e.recordFeedback(ctx, conv, store.VisitorFeedback{Survey: clean}, chatv1alpha1.EventChatSurvey,
		config.SurveyText(w, clean), "answered the survey")
	if err == nil {
		e.metrics.feedback.surveys.WithLabelValues(conv.Channel, conv.Queue).Inc()
	}
	return next, err
}

// ReachGoal records that the contact's conversation reached one of the channel's
// goals. A goal reached again changes nothing: reached is false then.
func (e *Engine) ReachGoal(ctx context.Context, conv store.Conversation, goal string) (_ store.Conversation, reached bool, err error) {
	ch := e.view.Load().channels[conv.Channel]
	if ch == nil || ch.WebWidget == nil || len(ch.WebWidget.Goals) == 0 {
		return conv, false, Forbidden(fmt.Sprintf("channel %q has no goals: list them in the Channel's spec.webWidget.goals", conv.Channel))
	}
	if !slices.Contains(ch.WebWidget.Goals, goal) {
		return conv, false, Invalid(fmt.Sprintf("goal %q is not one of the channel's goals: %s", goal, strings.Join(ch.WebWidget.Goals, ", ")))
	}
	next, err := e.recordFeedback(ctx, conv, store.VisitorFeedback{Goal: goal}, chatv1alpha1.EventChatGoalReached, goal, "")
	if errors.Is(err, store.ErrRecorded) {
		next, err = e.store.Conversation(ctx, conv.ID)
		return next, false, err
	}
	if err != nil {
		return next, false, err
	}
	e.metrics.feedback.goals.WithLabelValues(conv.Channel, conv.Queue, goal).Inc()
	return next, true, nil
}

// ratingsOn returns the widget of a conversation's channel when it takes ratings,
// feedback and surveys now.
func (e *Engine) ratingsOn(conv store.Conversation) (*config.WebWidget, error) {
	ch := e.view.Load().channels[conv.Channel]
	if ch == nil || ch.WebWidget == nil || !ch.WebWidget.Ratings {
		return nil, Forbidden(fmt.Sprintf("channel %q does not take ratings, feedback or surveys: set spec.webWidget.ratings on the Channel", conv.Channel))
	}
	if conv.LastOperator == "" {
		return nil, Conflict("no operator has had this chat yet: rate it, give feedback or answer the survey once an operator answered")
	}
	return ch.WebWidget, nil
}

// recordFeedback stores f with its event; what was recorded before is a Conflict
// that says so (done names it), unless done is empty.
func (e *Engine) recordFeedback(ctx context.Context, conv store.Conversation, f store.VisitorFeedback, ev chatv1alpha1.EventType,
	detail, done string) (store.Conversation, error) {
	f.ConversationID = conv.ID
	f.Events = []store.Event{record(ev, conv.ID, conv.LastOperator, detail)}
	next, err := e.store.RecordFeedback(ctx, f)
	switch {
	case errors.Is(err, store.ErrRecorded) && done != "":
		return conv, Conflict("this chat was " + done + " already: that cannot be changed")
	case errors.Is(err, store.ErrNotFound):
		return conv, NotFound("no such conversation")
	case err != nil:
		return conv, err
	}
	e.emit(ev, &next, conv.LastOperator, detail)
	return next, nil
}

// feedbackMetrics count what visitors tell of their chats. Channels, queues and
// goals are few and named in the configuration.
type feedbackMetrics struct {
	ratings, feedback, surveys, goals *prometheus.CounterVec
}

func newFeedbackMetrics() feedbackMetrics {
	return feedbackMetrics{
		ratings: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_chat_ratings_total",
			Help: "Chat ratings by channel, queue and score: 1 to 5 on the Stars scale, up or down on Thumbs.",
		}, []string{"channel", "queue", "score"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_chat_feedback_total",
			Help: "Free-text chat feedback given, by channel and queue.",
		}, []string{"channel", "queue"}),
		surveys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_chat_surveys_total",
			Help: "Post-chat surveys answered, by channel and queue.",
		}, []string{"channel", "queue"}),
		goals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_chat_goals_total",
			Help: "Chat goals reached, by channel, queue and goal.",
		}, []string{"channel", "queue", "goal"}),
	}
}

func (m feedbackMetrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.ratings, m.feedback, m.surveys, m.goals}
}
