package analytics_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

func TestCompute(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2030, 5, 6, 0, 0, 0, 0, berlin)
	at := func(min float64) time.Time { return day.Add(time.Duration(min * float64(time.Minute))) }
	chat := func(state store.State, steps map[string]float64) store.ConversationSteps {
		c := store.ConversationSteps{State: state, First: map[string]time.Time{}}
		for typ, min := range steps {
			c.First[typ] = at(min)
		}
		return c
	}
	tests := []struct {
		name  string
		steps []store.ConversationSteps
		want  string
	}{
		{"a quiet day", nil, `{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":0,"missedChats":0}`},
		{"answered, missed, offline and the bot's", []store.ConversationSteps{
			chat(store.StateClosed, map[string]float64{"ChatStarted": 0, "ChatAccepted": 1, "ChatFinished": 11}),
			chat(store.StateActive, map[string]float64{"ChatStarted": 10, "ChatAccepted": 13}),
			chat(store.StateClosed, map[string]float64{"ChatStarted": 20, "ChatFinished": 25}), // nobody took it
			chat(store.StateMissed, map[string]float64{"OfflineMessage": 30}),                  // left for later
			chat(store.StateClosed, map[string]float64{"OfflineMessage": 40, "ChatAccepted": 400, "ChatFinished": 405}),
			// The bot's chat, handed over: the wait starts at the handover.
			chat(store.StateClosed, map[string]float64{"ChatStarted": 50, "BotHandedOver": 55, "ChatAccepted": 57, "ChatFinished": 60}),
			{State: store.StateClosed, BotAnswered: true, First: map[string]time.Time{"ChatStarted": at(70), "ChatFinished": at(72)}}, // the bot's alone
			{State: store.StateBot, First: map[string]time.Time{"ChatStarted": at(80)}},                                               // still with the bot
		},
			// Waits of the live chats taken: 1, 3, 2 minutes; handling 10, 5, 3 minutes.
			`{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":8,"missedChats":2,"medianWaitSeconds":120,"p90WaitSeconds":180,"medianHandlingSeconds":300}`},
		{"an even count: the median is between the middle two", []store.ConversationSteps{
			chat(store.StateActive, map[string]float64{"ChatStarted": 0, "ChatAccepted": 1}),
			chat(store.StateActive, map[string]float64{"ChatStarted": 0, "ChatAccepted": 2}),
		}, `{"day":"2030-05-06","timeZone":"Europe/Berlin","chats":2,"missedChats":0,"medianWaitSeconds":90,"p90WaitSeconds":120}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(analytics.Compute(day, tt.steps))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("figures\n got %s\nwant %s", got, tt.want)
			}
		})
	}
}
