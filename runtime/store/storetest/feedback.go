package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// testFeedback: a rating, feedback and a survey are recorded once each, goals once
// per name, each with its events in the same transaction; the conversation carries
// them, on every read and in the change announced.
func testFeedback(t *testing.T, open Opener) {
	s := open(t)
	conv := conversation(t, s, "rated", "support", store.StateActive)
	ratedAt := time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	var announced []store.Conversation
	defer s.Subscribe(func(c store.Change) {
		if c.Kind == store.ChangeConversation && c.Conversation.ID == conv.ID {
			mu.Lock()
			announced = append(announced, *c.Conversation)
			mu.Unlock()
		}
	})()
	ev := func(typ string) []store.Event { return []store.Event{{Type: typ}} }
	steps := []struct {
		name    string
		f       store.VisitorFeedback
		wantErr error
	}{
		{"rating", store.VisitorFeedback{Rating: &store.Rating{Scale: "Stars", Score: 4, RatedAt: ratedAt}, Events: ev("ChatRated")}, nil},
		{"rating again", store.VisitorFeedback{Rating: &store.Rating{Scale: "Stars", Score: 1, RatedAt: ratedAt}, Events: ev("ChatRated")}, store.ErrRecorded},
		{"feedback", store.VisitorFeedback{Feedback: "Quick and kind.", Events: ev("ChatFeedback")}, nil},
		{"feedback again", store.VisitorFeedback{Feedback: "More", Events: ev("ChatFeedback")}, store.ErrRecorded},
		{"survey", store.VisitorFeedback{Survey: map[string]string{"solved": "yes", "why": "a, b"}, Events: ev("ChatSurvey")}, nil},
		{"survey again", store.VisitorFeedback{Survey: map[string]string{"solved": "no"}, Events: ev("ChatSurvey")}, store.ErrRecorded},
		{"a goal", store.VisitorFeedback{Goal: "signup", Events: ev("ChatGoalReached")}, nil},
		{"another goal", store.VisitorFeedback{Goal: "purchase", Events: ev("ChatGoalReached")}, nil},
		{"a goal again", store.VisitorFeedback{Goal: "signup", Events: ev("ChatGoalReached")}, store.ErrRecorded},
	}
	for _, st := range steps {
		st.f.ConversationID = conv.ID
		_, err := s.RecordFeedback(ctx, st.f)
		if !errors.Is(err, st.wantErr) {
			t.Errorf("%s: error %v, want %v", st.name, err, st.wantErr)
		}
	}
	if _, err := s.RecordFeedback(ctx, store.VisitorFeedback{ConversationID: "nope", Feedback: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("feedback on no conversation: %v, want ErrNotFound", err)
	}
	got := must[store.Conversation](t)(s.Conversation(ctx, conv.ID))
	want := `{"rating":{"scale":"Stars","score":4,"ratedAt":"2030-05-06T12:00:00Z"},"feedback":"Quick and kind.","survey":{"solved":"yes","why":"a, b"},"goals":["signup","purchase"]}`
	if b, _ := json.Marshal(struct {
		Rating   *store.Rating     `json:"rating"`
		Feedback string            `json:"feedback"`
		Survey   map[string]string `json:"survey"`
		Goals    []string          `json:"goals"`
	}{got.Rating, got.Feedback, got.Survey, got.Goals}); string(b) != want {
		t.Errorf("conversation's feedback\n got %s\nwant %s", b, want)
	}
	if got.Version != conv.Version {
		t.Errorf("version moved from %d to %d: feedback must not make operators' transitions conflict", conv.Version, got.Version)
	}
	if es, ok := s.(store.Events); ok {
		var types []string
		for _, e := range must[[]store.Event](t)(es.Events(ctx, 0, 100)) {
			if e.ConversationID == conv.ID {
				types = append(types, e.Type)
			}
		}
		if b, _ := json.Marshal(types); string(b) != `["ChatRated","ChatFeedback","ChatSurvey","ChatGoalReached","ChatGoalReached"]` {
			t.Errorf("events %s, want one per thing recorded, none for refusals", b)
		}
	}
	// Five changes recorded; the conversation's start may be announced too.
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(announced) >= 5 && announced[len(announced)-1].Rating != nil
	})
	mu.Lock()
	last := announced[len(announced)-1]
	mu.Unlock()
	if last.Rating == nil || last.Rating.Score != 4 || len(last.Goals) != 2 {
		t.Errorf("last change announced %+v, want the conversation with its rating and goals", last)
	}

	thumbs := conversation(t, s, "thumbs", "support", store.StateClosed)
	must[store.Conversation](t)(s.RecordFeedback(ctx, store.VisitorFeedback{ConversationID: thumbs.ID,
		Rating: &store.Rating{Scale: "Thumbs", Thumbs: store.ThumbsDown, RatedAt: ratedAt}}))
	if r := must[store.Conversation](t)(s.Conversation(ctx, thumbs.ID)).Rating; r == nil || r.Thumbs != store.ThumbsDown || r.Score != 0 {
		t.Errorf("thumbs rating read back as %+v, want down", r)
	}
}

// testChatFacts: the analytics read each conversation of a range of creation times
// (of one queue, if asked) with when its steps first happened and its rating.
func testChatFacts(t *testing.T, open Opener) {
	s := open(t)
	an, ok := s.(store.Analytics)
	if !ok {
		t.Fatal("the store does not implement store.Analytics")
	}
	from := time.Now().Add(-time.Minute)
	a := conversation(t, s, "a", "support", store.StateQueued)
	conversation(t, s, "b", "sales", store.StateQueued)
	at := func(d time.Duration) time.Time { return a.CreatedAt.Add(d) }
	for _, act := range []store.Activity{
		{Type: "BotHandedOver", CreatedAt: at(time.Second)},
		{Type: "ChatAccepted", CreatedAt: at(30 * time.Second)},
		{Type: "ChatAccepted", CreatedAt: at(time.Minute)}, // after a transfer: the first counts
		{Type: "ChatNote", CreatedAt: at(time.Minute)},
		{Type: "ChatFinished", CreatedAt: at(2 * time.Minute)},
		{Type: "OfflineMessage", CreatedAt: at(3 * time.Minute)},
	} {
		act.ConversationID = a.ID
		if err := s.AppendActivity(ctx, act); err != nil {
			t.Fatal(err)
		}
	}
	must[store.Conversation](t)(s.RecordFeedback(ctx, store.VisitorFeedback{ConversationID: a.ID,
		Rating: &store.Rating{Scale: "Thumbs", Thumbs: store.ThumbsUp, RatedAt: at(3 * time.Minute)}}))
	to := time.Now().Add(time.Minute)
	all := must[[]store.ChatFacts](t)(an.ChatFacts(ctx, from, to, ""))
	if len(all) != 2 || all[0].Queue != "support" || all[1].Queue != "sales" {
		t.Fatalf("facts of all queues %+v, want a then b", all)
	}
	got := must[[]store.ChatFacts](t)(an.ChatFacts(ctx, from, to, "support"))
	want := store.ChatFacts{CreatedAt: a.CreatedAt, Queue: "support", State: store.StateQueued, Offline: true,
		HandedOverAt: at(time.Second), AcceptedAt: at(30 * time.Second), FinishedAt: at(2 * time.Minute), RatingScale: "Thumbs", RatingScore: 1}
	if len(got) != 1 || got[0] != want {
		t.Errorf("facts of support\n got %+v\nwant [%+v]", got, want)
	}
	if none := must[[]store.ChatFacts](t)(an.ChatFacts(ctx, to, to.Add(time.Hour), "")); len(none) != 0 {
		t.Errorf("facts after the range: %+v, want none", none)
	}
}
