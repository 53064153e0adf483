// Package analytics records a LiveChat's daily analytics (Userlike's): once a day,
// just after midnight in the LiveChat's time zone, a DailyAnalytics event with the
// figures of the day that ended, computed from the store. The event carries a key
// made of the day, so of the replicas that compute it, one records it; notification
// rules deliver it like any other event (by email to the supervisors, say).
package analytics

import (
	"math"
	"slices"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Steps are the activity types the figures are computed from.
var Steps = []string{"ChatStarted", "OfflineMessage", "BotHandedOver", "ChatAccepted", "ChatFinished"}

// Figures are one day's figures of a LiveChat: the detail of its DailyAnalytics event.
type Figures struct {
	// Day is the day, YYYY-MM-DD in TimeZone.
	Day      string `json:"day"`
	TimeZone string `json:"timeZone"`
	// Chats started that day.
	Chats int `json:"chats"`
	// MissedChats are the chats of that day that reached a queue and that no operator
	// accepted (offline messages included, until someone takes them).
	MissedChats int `json:"missedChats"`
	// MedianWait and P90Wait are how long the day's live chats that an operator
	// accepted waited for it, in seconds: from the start (or the bot's handover) to
	// the first acceptance. Absent when no chat was accepted.
	MedianWait *float64 `json:"medianWaitSeconds,omitempty"`
	P90Wait    *float64 `json:"p90WaitSeconds,omitempty"`
	// MedianHandling is the median time from acceptance to the end of the day's
	// finished chats, in seconds; absent when none finished.
	MedianHandling *float64 `json:"medianHandlingSeconds,omitempty"`
	// Ratings are the day's chat ratings; absent until visitors can rate chats.
	Ratings *Ratings `json:"ratings,omitempty"`
}

// Ratings summarize the day's chat ratings.
type Ratings struct {
	Count   int     `json:"count"`
	Average float64 `json:"average"`
}

// Compute returns the figures of the conversations created in one day.
func Compute(day time.Time, steps []store.ConversationSteps) Figures {
	f := Figures{Day: day.Format(time.DateOnly), TimeZone: day.Location().String(), Chats: len(steps)}
	var waits, handling []float64
	for _, c := range steps {
		handedOver, wasHandedOver := c.First["BotHandedOver"]
		_, offline := c.First["OfflineMessage"]
		accepted, wasAccepted := c.First["ChatAccepted"]
		// A bot's chat reaches the queue only when the bot hands it over.
		queued := wasHandedOver || offline || (!c.BotAnswered && c.State != store.StateBot)
		if queued && !wasAccepted {
			f.MissedChats++
		}
		if wasAccepted && !offline {
			from, ok := c.First["ChatStarted"]
			if wasHandedOver {
				from, ok = handedOver, true
			}
			if ok {
				waits = append(waits, max(accepted.Sub(from).Seconds(), 0))
			}
		}
		if finished, ok := c.First["ChatFinished"]; ok && wasAccepted {
			handling = append(handling, max(finished.Sub(accepted).Seconds(), 0))
		}
	}
	f.MedianWait = percentile(waits, 50)
	f.P90Wait = percentile(waits, 90)
	f.MedianHandling = percentile(handling, 50)
	return f
}

// percentile is the p-th percentile of values by nearest rank, and for the median of
// an even count the mean of the middle two; nil when there are none.
func percentile(values []float64, p float64) *float64 {
	if len(values) == 0 {
		return nil
	}
	v := slices.Sorted(slices.Values(values))
	n := len(v)
	var out float64
	if p == 50 && n%2 == 0 {
		out = (v[n/2-1] + v[n/2]) / 2
	} else {
		rank := int(math.Ceil(p / 100 * float64(n)))
		out = v[max(rank, 1)-1]
	}
	return &out
}
