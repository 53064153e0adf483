package dispatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestFeedbackEventsFillTheirFields: the events of what a visitor tells of a chat go
// through the rules, with the chat's rating, feedback, survey (in the channel's
// words) and goals in the merge fields, and the goal just reached in {goal}.
func TestFeedbackEventsFillTheirFields(t *testing.T) {
	const text = "[{event}] rating {rating}; feedback {feedback}; survey {survey}; goals {goals}; goal {goal}; message {message}"
	r := newRig(t, func(cfg *config.Config) {
		for i := range cfg.Channels {
			if w := cfg.Channels[i].WebWidget; w != nil {
				w.Survey = []config.SurveyQuestion{{Name: "solved", Text: "Solved?"}}
			}
		}
		pol := &cfg.Policies[0]
		pol.Templates = append(pol.Templates, config.Template{Name: "feedback", Subject: "{event}", Text: text, Fields: config.TemplateFields(text)})
		pol.Rules = append(pol.Rules, config.Rule{Name: "feedback", Events: []config.EventType{"ChatRated", "ChatFeedback", "ChatSurvey", "ChatGoalReached"},
			Recipients: config.Recipients{Kinds: []config.RecipientKind{"Supervisors"}},
			Send:       []config.SendSpec{{Provider: "email", Template: "feedback"}}})
	})
	conv := r.chat(t, store.StateClosed, "alice")
	ctx := context.Background()
	rated := time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		f    store.VisitorFeedback
		want string
	}{
		{store.VisitorFeedback{Rating: &store.Rating{Scale: "Stars", Score: 4, RatedAt: rated}, Events: []store.Event{{Type: "ChatRated", Detail: "4/5"}}},
			"[ChatRated] rating 4/5; feedback ; survey ; goals ; goal ; message 4/5"},
		{store.VisitorFeedback{Feedback: "Kind", Events: []store.Event{{Type: "ChatFeedback", Detail: "Kind"}}},
			"[ChatFeedback] rating 4/5; feedback Kind; survey ; goals ; goal ; message Kind"},
		{store.VisitorFeedback{Survey: map[string]string{"solved": "yes"}, Events: []store.Event{{Type: "ChatSurvey", Detail: "Solved?: yes"}}},
			"[ChatSurvey] rating 4/5; feedback Kind; survey Solved?: yes; goals ; goal ; message Solved?: yes"},
		{store.VisitorFeedback{Goal: "signup", Events: []store.Event{{Type: "ChatGoalReached", Detail: "signup"}}},
			"[ChatGoalReached] rating 4/5; feedback Kind; survey Solved?: yes; goals signup; goal signup; message signup"},
	}
	for i, tt := range tests {
		tt.f.ConversationID = conv.ID
		if _, err := r.st.RecordFeedback(ctx, tt.f); err != nil {
			t.Fatal(err)
		}
		got := r.waitFor(t, i+1)
		if len(got) != i+1 || !strings.HasPrefix(got[i], "email→Sam") {
			t.Fatalf("deliveries %v, want one email to the supervisor per event", got)
		}
		r.rec.mu.Lock()
		body := r.rec.lastEmail
		r.rec.mu.Unlock()
		if body != tt.want {
			t.Errorf("email\n got %q\nwant %q", body, tt.want)
		}
	}
}
