package chat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// TestFeedbackCountsAndEvents: what a visitor tells of a chat is counted by channel,
// queue and score or goal, and announced as its catalogue event for the assignee;
// refusals count nothing.
func TestFeedbackCountsAndEvents(t *testing.T) {
	cfg := samples(t)
	for i := range cfg.Channels {
		if w := cfg.Channels[i].WebWidget; w != nil {
			w.Ratings, w.RatingScale, w.Goals = true, "Stars", []string{"signup"}
		}
	}
	s, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	reg := prometheus.NewRegistry()
	e := chat.New(s, hub.New(), cfg, chat.Manual(chat.Options{Metrics: chat.NewMetrics(reg)}))
	defer e.Close()
	var events []string
	e.OnEvent(func(n chat.Notification) { events = append(events, string(n.Type)+":"+n.Operator+":"+n.Detail) })
	opened, err := e.Open(ctx, "website", chat.Identity{Name: "Vera"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := e.Take(ctx, "alice", opened.Conversation.ID)
	if err != nil {
		t.Fatal(err)
	}
	events = nil
	if _, err := e.Rate(ctx, conv, chat.RatingInput{Score: 9}); chat.KindOf(err) != chat.KindInvalid {
		t.Fatalf("score 9: %v, want Invalid", err)
	}
	steps := []func() (store.Conversation, error){
		func() (store.Conversation, error) { return e.Rate(ctx, conv, chat.RatingInput{Score: 3}) },
		func() (store.Conversation, error) { return e.Rate(ctx, conv, chat.RatingInput{Score: 5}) }, // refused: rated already
		func() (store.Conversation, error) { return e.LeaveFeedback(ctx, conv, "fine") },
		func() (store.Conversation, error) { c, _, err := e.ReachGoal(ctx, conv, "signup"); return c, err },
		func() (store.Conversation, error) { c, _, err := e.ReachGoal(ctx, conv, "signup"); return c, err }, // again: nothing new
	}
	for _, step := range steps {
		_, _ = step()
	}
	want := `
# HELP switchboard_runtime_chat_feedback_total Free-text chat feedback given, by channel and queue.
# TYPE switchboard_runtime_chat_feedback_total counter
switchboard_runtime_chat_feedback_total{channel="website",queue="first-line"} 1
# HELP switchboard_runtime_chat_goals_total Chat goals reached, by channel, queue and goal.
# TYPE switchboard_runtime_chat_goals_total counter
switchboard_runtime_chat_goals_total{channel="website",goal="signup",queue="first-line"} 1
# HELP switchboard_runtime_chat_ratings_total Chat ratings by channel, queue and score: 1 to 5 on the Stars scale, up or down on Thumbs.
# TYPE switchboard_runtime_chat_ratings_total counter
switchboard_runtime_chat_ratings_total{channel="website",queue="first-line",score="3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_runtime_chat_ratings_total",
		"switchboard_runtime_chat_feedback_total", "switchboard_runtime_chat_goals_total", "switchboard_runtime_chat_surveys_total"); err != nil {
		t.Error(err)
	}
	wantEvents := "[ChatRated:alice:3/5 ChatFeedback:alice:fine ChatGoalReached:alice:signup]"
	if got := fmt.Sprint(events); got != wantEvents {
		t.Errorf("events %s, want %s", got, wantEvents)
	}
}
