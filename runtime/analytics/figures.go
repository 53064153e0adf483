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
	"sort"
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
	f Figures
	// waits and handling are the durations added one by one; waitRuns and
	// handlingRuns those of merged tallies, each run sorted.
	waits, handling        []float64
	waitRuns, handlingRuns [][]float64
	stars, starCount       int
	rated                  bool
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
	// The merged tally's sorted runs are shared, not copied: a month's page adds up
	// 30 days' tallies without moving their durations.
	t.waitRuns = append(t.waitRuns, o.runs(o.waits, o.waitRuns)...)
	t.handlingRuns = append(t.handlingRuns, o.runs(o.handling, o.handlingRuns)...)
	t.stars += o.stars
	t.starCount += o.starCount
	if r := o.f.Ratings; r != nil {
		mine := t.ratings()
		mine.Count += r.Count
		mine.ThumbsUp += r.ThumbsUp
		mine.ThumbsDown += r.ThumbsDown
	}
}

// runs are a tally's sorted runs of durations: own, sorted when it is not yet, and
// merged.
func (t *tally) runs(own []float64, merged [][]float64) [][]float64 {
	out := merged
	if len(own) > 0 {
		if !slices.IsSorted(own) {
			own = slices.Sorted(slices.Values(own))
		}
		out = append(out[:len(out):len(out)], own)
	}
	return out
}

// sort orders the durations added, so a tally read by many reports is never sorted
// again.
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
	waits, handling := t.runs(t.waits, t.waitRuns), t.runs(t.handling, t.handlingRuns)
	f.MedianWait = percentile(waits, 50)
	f.P90Wait = percentile(waits, 90)
	f.MedianHandling = percentile(handling, 50)
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

// percentile is the p-th percentile of the values of sorted runs by nearest rank,
// and for the median of an even count the mean of the middle two; nil when there are
// none.
func percentile(runs [][]float64, p float64) *float64 {
	n := 0
	for _, r := range runs {
		n += len(r)
	}
	if n == 0 {
		return nil
	}
	var out float64
	if p == 50 && n%2 == 0 {
		out = (kth(runs, n/2-1) + kth(runs, n/2)) / 2
	} else {
		rank := int(math.Ceil(p / 100 * float64(n)))
		out = kth(runs, max(rank, 1)-1)
	}
	return &out
}

// kth is the k-th smallest (from 0) of the values of sorted runs, found without
// merging them: each round counts, by binary search in every run, the values below
// and up to a pivot from the widest run still in play, and narrows every run to the
// side that holds the k-th, halving the widest run at least.
func kth(runs [][]float64, k int) float64 {
	lo, hi := make([]int, len(runs)), make([]int, len(runs))
	below, upTo := make([]int, len(runs)), make([]int, len(runs))
	for i, r := range runs {
		hi[i] = len(r)
	}
	for {
		widest := -1
		for i := range runs {
			if hi[i] > lo[i] && (widest < 0 || hi[i]-lo[i] > hi[widest]-lo[widest]) {
				widest = i
			}
		}
		pivot := runs[widest][(lo[widest]+hi[widest])/2]
		lt, le := 0, 0
		for i, r := range runs {
			part := r[lo[i]:hi[i]]
			below[i] = lo[i] + sort.SearchFloat64s(part, pivot)
			upTo[i] = lo[i] + sort.Search(len(part), func(j int) bool { return part[j] > pivot })
			lt += below[i] - lo[i]
			le += upTo[i] - lo[i]
		}
		switch {
		case k < lt:
			copy(hi, below)
		case k < le:
			return pivot
		default:
			k -= le
			copy(lo, upTo)
		}
	}
}
