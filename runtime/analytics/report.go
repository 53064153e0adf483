package analytics

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// MaxDays bounds the days of one report: a quarter.
const MaxDays = 92

// Range is the days of a report, From's to To's, both included, in a time zone.
type Range struct {
	From, To time.Time // midnights in the time zone
}

// ParseRange reads a range of days written YYYY-MM-DD in the location; the error says
// what to fix.
func ParseRange(from, to string, loc *time.Location) (Range, error) {
	var r Range
	var err error
	if from == "" || to == "" {
		return r, errors.New("from and to are required: the first and last day, YYYY-MM-DD")
	}
	if r.From, err = time.ParseInLocation(time.DateOnly, from, loc); err != nil {
		return r, fmt.Errorf("from %q is no day: write it YYYY-MM-DD", from)
	}
	if r.To, err = time.ParseInLocation(time.DateOnly, to, loc); err != nil {
		return r, fmt.Errorf("to %q is no day: write it YYYY-MM-DD", to)
	}
	if r.To.Before(r.From) {
		return r, fmt.Errorf("to (%s) is before from (%s)", to, from)
	}
	// Days are 23 to 25 hours long: the rounding counts them.
	if n := int(r.To.Sub(r.From).Round(24*time.Hour)/(24*time.Hour)) + 1; n > MaxDays {
		return r, fmt.Errorf("%d days asked for: a report covers at most %d; ask for a shorter range", n, MaxDays)
	}
	return r, nil
}

// days are the midnights of the range's days and the one after the last: days of
// 23 or 25 hours where the clocks change.
func (r Range) days() []time.Time {
	var out []time.Time
	for d := r.From; !d.After(r.To); d = time.Date(d.Year(), d.Month(), d.Day()+1, 0, 0, 0, 0, d.Location()) {
		out = append(out, d)
		if len(out) > MaxDays+1 {
			break
		}
	}
	last := out[len(out)-1]
	return append(out, time.Date(last.Year(), last.Month(), last.Day()+1, 0, 0, 0, 0, last.Location()))
}

// End is the midnight that ends the range.
func (r Range) End() time.Time { d := r.days(); return d[len(d)-1] }

// Operator is what a report shows of an operator besides their chats.
type Operator struct {
	Name        string
	DisplayName string
	// Load is the chats they hold now; Limit how many they may hold at once.
	Load, Limit int
}

// OperatorFigures are an operator's figures over the report's days: the chats they
// held last that an operator accepted (a chat transferred counts for whoever had it
// last), and their load now.
type OperatorFigures struct {
	Name           string   `json:"name"`
	DisplayName    string   `json:"displayName"`
	Chats          int      `json:"chats"`
	MedianHandling *float64 `json:"medianHandlingSeconds,omitempty"`
	Ratings        *Ratings `json:"ratings,omitempty"`
	Load           int      `json:"load"`
	Limit          int      `json:"limit"`
}

// Report is the analytics of a range of days.
type Report struct {
	From     string `json:"from"`
	To       string `json:"to"`
	TimeZone string `json:"timeZone"`
	// Queue is the queue asked for; empty for all.
	Queue string `json:"queue,omitempty"`
	// Total are the figures of the whole range.
	Total Figures `json:"total"`
	// Days are each day's figures, first day first.
	Days []Figures `json:"days"`
	// Queues are each day's figures of each queue, by day, then queue.
	Queues []Figures `json:"queues"`
	// Operators are sorted by name.
	Operators []OperatorFigures `json:"operators"`
}

// Build makes the report of facts (the conversations created in the range, oldest
// first) for the queues and operators given; an operator who held chats of the range
// but is no longer configured is shown by name.
func Build(r Range, queue string, queues []string, operators []Operator, facts []store.ChatFacts) Report {
	days := r.days()
	var tallies []*DayTally
	i := 0
	for d := range len(days) - 1 {
		start := i
		for i < len(facts) && facts[i].CreatedAt.Before(days[d+1]) {
			i++
		}
		tallies = append(tallies, TallyDay(facts[start:i]))
	}
	return build(r, queue, queues, operators, tallies)
}

// DayTally is one day's chats summed up by queue and by operator and queue: what a
// report needs of the day, a fraction of its facts' size and quick to add up.
type DayTally struct {
	queues    map[string]*tally
	operators map[operatorQueue]*tally
}

type operatorQueue struct{ operator, queue string }

// TallyDay sums up one day's facts.
func TallyDay(facts []store.ChatFacts) *DayTally {
	d := &DayTally{queues: map[string]*tally{}, operators: map[operatorQueue]*tally{}}
	for _, c := range facts {
		into(d.queues, c.Queue).add(c)
		// An operator's chats are those they had last, once accepted.
		if c.Operator != "" && !c.AcceptedAt.IsZero() {
			into(d.operators, operatorQueue{c.Operator, c.Queue}).add(c)
		}
	}
	for _, t := range d.queues {
		t.sort()
	}
	for _, t := range d.operators {
		t.sort()
	}
	return d
}

func into[K comparable](m map[K]*tally, k K) *tally {
	t := m[k]
	if t == nil {
		t = &tally{}
		m[k] = t
	}
	return t
}

// build makes the report of the range's days' tallies.
func build(r Range, queue string, queues []string, operators []Operator, days []*DayTally) Report {
	loc := r.From.Location()
	rep := Report{From: r.From.Format(time.DateOnly), To: r.To.Format(time.DateOnly), TimeZone: loc.String(), Queue: queue,
		Days: []Figures{}, Queues: []Figures{}, Operators: []OperatorFigures{}}
	if queue != "" {
		queues = []string{queue}
	}
	var total tally
	byOperator := map[string]*tally{}
	starts := r.days()
	for d, day := range days {
		var all tally
		name := starts[d].Format(time.DateOnly)
		for _, q := range queues {
			var qf Figures
			if t := day.queues[q]; t != nil {
				qf = t.figures()
				all.merge(t)
			}
			qf.Day, qf.Queue = name, q
			rep.Queues = append(rep.Queues, qf)
		}
		if queue == "" {
			// Chats of queues no longer configured count in the day's figures.
			for q, t := range day.queues {
				if !slices.Contains(queues, q) {
					all.merge(t)
				}
			}
		}
		f := all.figures()
		f.Day = name
		rep.Days = append(rep.Days, f)
		total.merge(&all)
		for k, t := range day.operators {
			if queue == "" || k.queue == queue {
				into(byOperator, k.operator).merge(t)
			}
		}
	}
	rep.Total = total.figures()
	known := map[string]bool{}
	for _, o := range operators {
		known[o.Name] = true
	}
	for name := range byOperator {
		if !known[name] {
			operators = append(operators, Operator{Name: name, DisplayName: name})
		}
	}
	slices.SortFunc(operators, func(a, b Operator) int { return strings.Compare(a.Name, b.Name) })
	for _, o := range operators {
		of := OperatorFigures{Name: o.Name, DisplayName: o.DisplayName, Load: o.Load, Limit: o.Limit}
		if t := byOperator[o.Name]; t != nil {
			f := t.figures()
			of.Chats, of.MedianHandling, of.Ratings = f.Chats, f.MedianHandling, f.Ratings
		}
		rep.Operators = append(rep.Operators, of)
	}
	return rep
}
