// Package analytics computes a LiveChat's chat figures from the store: once a day,
// just after midnight in the LiveChat's time zone, the DailyAnalytics event with the
// figures of the day that ended (Userlike's daily analytics); and on request, the
// report of a range of days per day, queue and operator (the supervisors' analytics
// page). The daily event carries a key made of the day, so of the replicas that
// compute it, one records it; notification rules deliver it like any other event.
package analytics

import (
	"math"
	"slices"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Figures are the figures of a set of chats: one day's (the detail of a
// DailyAnalytics event), one day's of a queue, or a range's.
type Figures struct {
	// Day is the day, YYYY-MM-DD in TimeZone; empty for a range's figures.
	Day      string `json:"day,omitempty"`
	TimeZone string `json:"timeZone,omitempty"`
	// Queue is set for a queue's figures.
	Queue string `json:"queue,omitempty"`
	// Chats started.
	Chats int `json:"chats"`
	// MissedChats are the chats that reached a queue and that no operator accepted
	// (offline messages included, until someone takes them).
	MissedChats int `json:"missedChats"`
	// AnsweredChats are the chats an operator accepted.
	AnsweredChats int `json:"answeredChats"`
	// MedianWait and P90Wait are how long the live chats that an operator accepted
	// waited for it, in seconds: from the start (or the bot's handover) to the first
	// acceptance. Absent when no chat was accepted.
	MedianWait *float64 `json:"medianWaitSeconds,omitempty"`
	P90Wait    *float64 `json:"p90WaitSeconds,omitempty"`
	// MedianHandling is the median time from acceptance to the end of the finished
	// chats, in seconds; absent when none finished.
	MedianHandling *float64 `json:"medianHandlingSeconds,omitempty"`
	// Ratings are the chats' ratings; absent when none was rated.
	Ratings *Ratings `json:"ratings,omitempty"`
}

// Ratings summarize chat ratings: Count of either scale; Average of the Stars
// ratings (absent when there were none), ThumbsUp and ThumbsDown of the Thumbs ones.
type Ratings struct {
	Count      int      `json:"count"`
	Average    *float64 `json:"average,omitempty"`
	ThumbsUp   int      `json:"thumbsUp"`
	ThumbsDown int      `json:"thumbsDown"`
}

// Compute returns the figures of the conversations created in one day.
func Compute(day time.Time, facts []store.ChatFacts) Figures {
	f := aggregate(facts)
	f.Day, f.TimeZone = day.Format(time.DateOnly), day.Location().String()
	return f
}

// tally collects figures chat by chat.
type tally struct {
	f                Figures
	waits, handling  []float64
	stars, starCount int
	rated            bool
}

func (t *tally) add(c store.ChatFacts) {
	t.f.Chats++
	accepted := !c.AcceptedAt.IsZero()
	handedOver := !c.HandedOverAt.IsZero()
	// A bot's chat reaches the queue only when the bot hands it over.
	queued := handedOver || c.Offline || (!c.BotAnswered && c.State != store.StateBot)
	if queued && !accepted {
		t.f.MissedChats++
	}
	if accepted {
		t.f.AnsweredChats++
		if !c.Offline {
			from := c.CreatedAt
			if handedOver {
				from = c.HandedOverAt
			}
			t.waits = append(t.waits, max(c.AcceptedAt.Sub(from).Seconds(), 0))
		}
		if !c.FinishedAt.IsZero() {
			t.handling = append(t.handling, max(c.FinishedAt.Sub(c.AcceptedAt).Seconds(), 0))
		}
	}
	switch c.RatingScale {
	case "":
		return
	case "Thumbs":
		if c.RatingScore == 1 {
			t.ratings().ThumbsUp++
		} else {
			t.ratings().ThumbsDown++
		}
	default:
		t.ratings()
		t.stars += c.RatingScore
		t.starCount++
	}
	t.f.Ratings.Count++
}

func (t *tally) ratings() *Ratings {
	if t.f.Ratings == nil {
		t.f.Ratings = &Ratings{}
	}
	return t.f.Ratings
}

// merge adds another tally's chats to t.
func (t *tally) merge(o *tally) {
	t.f.Chats += o.f.Chats
	t.f.MissedChats += o.f.MissedChats
	t.f.AnsweredChats += o.f.AnsweredChats
	t.waits = append(t.waits, o.waits...)
	t.handling = append(t.handling, o.handling...)
	t.stars += o.stars
	t.starCount += o.starCount
	if r := o.f.Ratings; r != nil {
		mine := t.ratings()
		mine.Count += r.Count
		mine.ThumbsUp += r.ThumbsUp
		mine.ThumbsDown += r.ThumbsDown
	}
}

// sort orders the durations, so figures needs no copy of them.
func (t *tally) sort() {
	slices.Sort(t.waits)
	slices.Sort(t.handling)
}

// figures are the figures collected.
func (t *tally) figures() Figures {
	f := t.f
	if r := f.Ratings; r != nil {
		copied := *r
		f.Ratings = &copied
	}
	f.MedianWait = percentile(t.waits, 50)
	f.P90Wait = percentile(t.waits, 90)
	f.MedianHandling = percentile(t.handling, 50)
	if t.starCount > 0 {
		avg := math.Round(float64(t.stars)/float64(t.starCount)*100) / 100
		f.Ratings.Average = &avg
	}
	return f
}

func aggregate(facts []store.ChatFacts) Figures {
	var t tally
	for _, c := range facts {
		t.add(c)
	}
	return t.figures()
}

// percentile is the p-th percentile of values by nearest rank, and for the median of
// an even count the mean of the middle two; nil when there are none.
func percentile(values []float64, p float64) *float64 {
	if len(values) == 0 {
		return nil
	}
	v := values
	if !slices.IsSorted(v) {
		v = slices.Sorted(slices.Values(values))
	}
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
