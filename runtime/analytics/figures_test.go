package analytics_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// chat builds a conversation's facts from minutes after base: the start, then the
// handover, acceptance and finish (negative: never).
type chat struct {
	state                           store.State
	start, handover, accept, finish float64
	offline, bot                    bool
	queue, operator, scale          string
	score                           int
}

func (c chat) facts(base time.Time) store.ChatFacts {
	at := func(min float64) time.Time {
		if min < 0 {
			return time.Time{}
		}
		return base.Add(time.Duration(min * float64(time.Minute)))
	}
	return store.ChatFacts{CreatedAt: at(c.start), Queue: c.queue, Operator: c.operator, State: c.state, BotAnswered: c.bot,
		Offline: c.offline, HandedOverAt: at(c.handover), AcceptedAt: at(c.accept), FinishedAt: at(c.finish),
		RatingScale: c.scale, RatingScore: c.score}
}

func TestCompute(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2030, 5, 6, 0, 0, 0, 0, berlin)
	tests := []struct {
		name  string
		chats []chat
		want  string
	}{
		{"a quiet day", nil, `{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":0,"missedChats":0,"answeredChats":0}`},
		{"answered, missed, offline and the bot's", []chat{
			{state: store.StateClosed, start: 0, handover: -1, accept: 1, finish: 11, scale: "Stars", score: 5},
			{state: store.StateActive, start: 10, handover: -1, accept: 13, finish: -1, scale: "Stars", score: 2},
			{state: store.StateClosed, start: 20, handover: -1, accept: -1, finish: 25},                // nobody took it
			{state: store.StateMissed, start: 30, handover: -1, accept: -1, finish: -1, offline: true}, // left for later
			{state: store.StateClosed, start: 40, handover: -1, accept: 400, finish: 405, offline: true, scale: "Thumbs", score: 1},
			// The bot's chat, handed over: the wait starts at the handover.
			{state: store.StateClosed, start: 50, handover: 55, accept: 57, finish: 60, scale: "Thumbs", score: 0},
			{state: store.StateClosed, start: 70, handover: -1, accept: -1, finish: 72, bot: true}, // the bot's alone
			{state: store.StateBot, start: 80, handover: -1, accept: -1, finish: -1},               // still with the bot
		},
			// Waits of the live chats taken: 1, 3, 2 minutes; handling 10, 5, 3 minutes.
			`{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":8,"missedChats":2,"answeredChats":4,"medianWaitSeconds":120,"p90WaitSeconds":180,"medianHandlingSeconds":300,` +
				`"ratings":{"count":4,"average":3.5,"thumbsUp":1,"thumbsDown":1}}`},
		{"an even count: the median is between the middle two", []chat{
			{state: store.StateActive, start: 0, handover: -1, accept: 1, finish: -1},
			{state: store.StateActive, start: 0, handover: -1, accept: 2, finish: -1},
		}, `{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":2,"missedChats":0,"answeredChats":2,"medianWaitSeconds":90,"p90WaitSeconds":120}`},
		{"thumbs only: no average", []chat{
			{state: store.StateClosed, start: 0, handover: -1, accept: 1, finish: 2, scale: "Thumbs", score: 1},
		}, `{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":1,"missedChats":0,"answeredChats":1,"medianWaitSeconds":60,"p90WaitSeconds":60,"medianHandlingSeconds":60,` +
			`"ratings":{"count":1,"thumbsUp":1,"thumbsDown":0}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var facts []store.ChatFacts
			for _, c := range tt.chats {
				facts = append(facts, c.facts(day))
			}
			got, err := json.Marshal(analytics.Compute(day, facts))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("figures\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
