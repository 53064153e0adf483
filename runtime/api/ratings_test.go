package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// widget sets the website channel's ratings, scale, survey and goals.
func widget(ratings bool, scale string, goals ...string) func(*config.Config) {
	return func(cfg *config.Config) {
		for i := range cfg.Channels {
			if w := cfg.Channels[i].WebWidget; w != nil && cfg.Channels[i].Name == "website" {
				w.Ratings, w.RatingScale, w.Goals = ratings, scale, goals
				w.Survey = []config.SurveyQuestion{
					{Name: "solved", Text: "Was your question answered?", Options: []string{"yes", "no"}},
					{Name: "comments", Text: "Anything else?"},
				}
			}
		}
	}
}

// TestVisitorFeedback walks a visitor through rating their chat, leaving feedback,
// answering the survey and reaching goals, each refused when it should be; the
// conversation then carries them for the operator and the visitor alike, and each
// recorded one is an event of the catalogue.
func TestVisitorFeedback(t *testing.T) {
	rg := startRig(t, api.Options{}, widget(true, config.RatingStars, "purchase", "signup"))
	v := openVisitor(t, rg)
	base := rg.srv.URL + "/api/v1/channels/website/conversations/" + v.Conversation.ID
	origin := []string{"Origin", "http://localhost:8080"}
	steps := []struct {
		name, path, body string
		before           func()
		wantCode         int
		wantBody         string
	}{
		{name: "rating before an operator had the chat", path: "/rating", body: `{"score":5}`, wantCode: http.StatusConflict,
			wantBody: "no operator has had this chat yet"},
		{name: "a score out of range", path: "/rating", body: `{"score":6}`, wantCode: http.StatusBadRequest,
			before: func() { takeEventually(t, rg, "alice", v.Conversation.ID) }, wantBody: `with n from 1 to 5 (got 6)`},
		{name: "thumbs on a Stars channel", path: "/rating", body: `{"thumbs":"up"}`, wantCode: http.StatusBadRequest, wantBody: "rates chats with stars"},
		{name: "an unknown field", path: "/rating", body: `{"stars":4}`, wantCode: http.StatusBadRequest, wantBody: "stars"},
		{name: "a rating", path: "/rating", body: `{"score":4}`, wantCode: http.StatusOK, wantBody: `"rating":{"scale":"Stars","score":4,`},
		{name: "a second rating", path: "/rating", body: `{"score":1}`, wantCode: http.StatusConflict, wantBody: "this chat was rated already"},
		{name: "empty feedback", path: "/feedback", body: `{"text":"  "}`, wantCode: http.StatusBadRequest, wantBody: "feedback is empty"},
		{name: "feedback too long", path: "/feedback", body: `{"text":"` + strings.Repeat("é", 2001) + `"}`, wantCode: http.StatusBadRequest,
			wantBody: "feedback is 2001 characters long: the limit is 2000"},
		{name: "feedback", path: "/feedback", body: `{"text":"Quick and kind."}`, wantCode: http.StatusOK, wantBody: `"feedback":"Quick and kind."`},
		{name: "feedback again", path: "/feedback", body: `{"text":"More"}`, wantCode: http.StatusConflict, wantBody: "given feedback already"},
		{name: "an unknown question", path: "/survey", body: `{"answers":{"mood":"good"}}`, wantCode: http.StatusBadRequest,
			wantBody: `the survey has no question \"mood\": answer solved, comments`},
		{name: "an answer not among the options", path: "/survey", body: `{"answers":{"solved":"maybe"}}`, wantCode: http.StatusBadRequest,
			wantBody: `must be one of: yes, no`},
		{name: "no answers", path: "/survey", body: `{"answers":{}}`, wantCode: http.StatusBadRequest, wantBody: "no answers"},
		{name: "the survey", path: "/survey", body: `{"answers":{"solved":"yes","comments":"Thanks"}}`, wantCode: http.StatusOK,
			wantBody: `"survey":{"comments":"Thanks","solved":"yes"}`},
		{name: "the survey again", path: "/survey", body: `{"answers":{"solved":"no"}}`, wantCode: http.StatusConflict, wantBody: "answered the survey already"},
		{name: "a goal not listed", path: "/goals", body: `{"goal":"checkout"}`, wantCode: http.StatusBadRequest,
			wantBody: `goal \"checkout\" is not one of the channel's goals: purchase, signup`},
		{name: "a goal", path: "/goals", body: `{"goal":"signup"}`, wantCode: http.StatusOK, wantBody: `"goal":"signup","reached":true`},
		{name: "the goal again", path: "/goals", body: `{"goal":"signup"}`, wantCode: http.StatusOK, wantBody: `"goal":"signup","reached":false`},
		{name: "another goal", path: "/goals", body: `{"goal":"purchase"}`, wantCode: http.StatusOK, wantBody: `"goals":["signup","purchase"]`},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		res, body := do(t, http.MethodPost, base+s.path, v.Token, s.body, origin...)
		if res.StatusCode != s.wantCode || !strings.Contains(body, s.wantBody) {
			t.Errorf("%s: %d %s, want %d with %s", s.name, res.StatusCode, body, s.wantCode, s.wantBody)
		}
	}
	if res, _ := do(t, http.MethodPost, base+"/rating", "not-the-token", `{"score":3}`, origin...); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("a rating without the visitor's token: %d, want 401", res.StatusCode)
	}

	const want = `"rating":{"scale":"Stars","score":4,`
	for _, view := range []struct{ name, url, token string }{
		{"operator", rg.srv.URL + "/api/v1/conversations/" + v.Conversation.ID, aliceToken},
		{"visitor", base, v.Token},
	} {
		_, body := do(t, http.MethodGet, view.url, view.token, "", origin...)
		for _, part := range []string{want, `"feedback":"Quick and kind."`, `"survey":{"comments":"Thanks","solved":"yes"}`, `"goals":["signup","purchase"]`} {
			if !strings.Contains(body, part) {
				t.Errorf("the %s's conversation %s lacks %s", view.name, body, part)
			}
		}
	}

	events, err := rg.engine.Store().(store.Events).Events(context.Background(), 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		if e.ConversationID == v.Conversation.ID && strings.HasPrefix(e.Type, "Chat") && e.Type != "ChatStarted" && e.Type != "ChatAccepted" {
			got = append(got, e.Type+"="+e.Detail+" by "+e.Operator)
		}
	}
	wantEvents := "[ChatRated=4/5 by alice ChatFeedback=Quick and kind. by alice ChatSurvey=Was your question answered?: yes\nAnything else?: Thanks by alice " +
		"ChatGoalReached=signup by alice ChatGoalReached=purchase by alice]"
	if fmt.Sprint(got) != wantEvents {
		t.Errorf("events\n got %q\nwant %q", fmt.Sprint(got), wantEvents)
	}
}

// TestFeedbackFollowsTheChannel: a channel without ratings refuses ratings, feedback
// and surveys, one without goals refuses goals, and a Thumbs channel takes thumbs
// only; channel info tells the widget which.
func TestFeedbackFollowsTheChannel(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*config.Config)
		info     string
		requests []struct{ path, body string }
		want     []int
	}{
		{"ratings off", widget(false, config.RatingStars), `"goals":null,"greeting"`,
			[]struct{ path, body string }{{"/rating", `{"score":5}`}, {"/feedback", `{"text":"hi"}`}, {"/survey", `{"answers":{"solved":"yes"}}`}, {"/goals", `{"goal":"signup"}`}},
			[]int{http.StatusForbidden, http.StatusForbidden, http.StatusForbidden, http.StatusForbidden}},
		{"thumbs", widget(true, config.RatingThumbs, "signup"), `"ratingScale":"Thumbs","ratings":true,"survey":[{"name":"solved","text":"Was your question answered?","options":["yes","no"]},{"name":"comments","text":"Anything else?"}]`,
			[]struct{ path, body string }{{"/rating", `{"score":5}`}, {"/rating", `{"thumbs":"sideways"}`}, {"/rating", `{"thumbs":"down"}`}, {"/goals", `{"goal":"signup"}`}},
			[]int{http.StatusBadRequest, http.StatusBadRequest, http.StatusOK, http.StatusOK}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rg := startRig(t, api.Options{}, tt.edit)
			origin := []string{"Origin", "http://localhost:8080"}
			if _, body := do(t, http.MethodGet, rg.srv.URL+"/api/v1/channels/website", "", "", origin...); !strings.Contains(body, tt.info) {
				t.Errorf("channel info %s lacks %s", body, tt.info)
			}
			v := openVisitor(t, rg)
			takeEventually(t, rg, "alice", v.Conversation.ID)
			for i, req := range tt.requests {
				res, body := do(t, http.MethodPost, rg.srv.URL+"/api/v1/channels/website/conversations/"+v.Conversation.ID+req.path, v.Token, req.body, origin...)
				if res.StatusCode != tt.want[i] {
					t.Errorf("POST %s %s: %d %s, want %d", req.path, req.body, res.StatusCode, body, tt.want[i])
				}
			}
		})
	}
}

// TestAnalyticsAPI: supervisors read the analytics of a bounded range of days; other
// operators are refused.
func TestAnalyticsAPI(t *testing.T) {
	rg := startRig(t, api.Options{}, widget(true, config.RatingStars), func(cfg *config.Config) {
		cfg.LiveChat.TimeZone = "Europe/Berlin"
	})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	v := openVisitor(t, rg)
	takeEventually(t, rg, "alice", v.Conversation.ID)
	origin := []string{"Origin", "http://localhost:8080"}
	if res, body := do(t, http.MethodPost, rg.srv.URL+"/api/v1/channels/website/conversations/"+v.Conversation.ID+"/rating", v.Token, `{"score":5}`, origin...); res.StatusCode != http.StatusOK {
		t.Fatalf("rating: %d %s", res.StatusCode, body)
	}
	openVisitor(t, rg) // waits

	today := time.Now().In(berlin).Format(time.DateOnly)
	plain, _ := rg.engine.Config()
	supervised := *plain
	supervised.LiveChat.Supervisors = append([]string{"alice"}, plain.LiveChat.Supervisors...)
	tests := []struct {
		name      string
		supervise bool
		query     string
		wantCode  int
		want      []string
	}{
		{"an operator who is no supervisor", false, "from=" + today + "&to=" + today, http.StatusForbidden,
			[]string{"the analytics are for supervisors, and alice is none"}},
		{"today", true, "from=" + today + "&to=" + today, http.StatusOK, []string{
			`"timeZone":"Europe/Berlin"`,
			`"days":[{"day":"` + today + `","chats":2,"missedChats":1,"answeredChats":1,`,
			`"ratings":{"count":1,"average":5,"thumbsUp":0,"thumbsDown":0}`,
			`{"day":"` + today + `","queue":"accounting","chats":0,`,
			`{"name":"alice","displayName":"Alice Andersen","chats":1,"ratings":{"count":1,"average":5,"thumbsUp":0,"thumbsDown":0},"load":1,"limit":2}`,
		}},
		{"one queue", true, "from=" + today + "&to=" + today + "&queue=accounting", http.StatusOK, []string{
			`"queue":"accounting","total":{"chats":0,`, `"queues":[{"day":"` + today + `","queue":"accounting","chats":0,`}},
		{"an unknown queue", true, "from=" + today + "&to=" + today + "&queue=nope", http.StatusBadRequest, []string{`queue \"nope\" does not exist`}},
		{"too many days", true, "from=2030-01-01&to=2030-06-01", http.StatusBadRequest, []string{"152 days asked for: a report covers at most 92"}},
		{"no range", true, "", http.StatusBadRequest, []string{"from and to are required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.supervise {
				rg.engine.Apply(&supervised)
			} else {
				rg.engine.Apply(plain)
			}
			res, body := do(t, http.MethodGet, rg.srv.URL+"/api/v1/analytics?"+tt.query, aliceToken, "")
			if res.StatusCode != tt.wantCode {
				t.Fatalf("%d %s, want %d", res.StatusCode, body, tt.wantCode)
			}
			for _, part := range tt.want {
				if !strings.Contains(body, part) {
					t.Errorf("%s\nlacks %s", body, part)
				}
			}
		})
	}
	// A chat rated after the page was read shows at the next load (alice supervises
	// since the cases above).
	later := openVisitor(t, rg)
	takeEventually(t, rg, "alice", later.Conversation.ID)
	if res, body := do(t, http.MethodPost, rg.srv.URL+"/api/v1/channels/website/conversations/"+later.Conversation.ID+"/rating", later.Token, `{"score":3}`, origin...); res.StatusCode != http.StatusOK {
		t.Fatalf("rating: %d %s", res.StatusCode, body)
	}
	want := `"ratings":{"count":2,"average":4,`
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		_, body := do(t, http.MethodGet, rg.srv.URL+"/api/v1/analytics?from="+today+"&to="+today, aliceToken, "")
		if strings.Contains(body, want) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after another rating: %s, want %s", body, want)
		}
	}
}
