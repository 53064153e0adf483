package analytics_test

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

func TestParseRange(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		from, to string
		// wantStart and wantEnd are the instants the range covers, in UTC; or wantErr.
		wantStart, wantEnd string
		wantErr            string
	}{
		{from: "2030-03-30", to: "2030-03-31", wantStart: "2030-03-29T23:00:00Z", wantEnd: "2030-03-31T22:00:00Z"}, // the clocks go forward
		{from: "2030-10-27", to: "2030-10-27", wantStart: "2030-10-26T22:00:00Z", wantEnd: "2030-10-27T23:00:00Z"}, // a 25-hour day
		{from: "2030-01-01", to: "2030-04-02", wantStart: "2029-12-31T23:00:00Z", wantEnd: "2030-04-02T22:00:00Z"}, // 92 days
		{from: "2030-01-01", to: "2030-04-03", wantErr: "93 days asked for: a report covers at most 92"},
		{from: "2030-05-02", to: "2030-05-01", wantErr: "to (2030-05-01) is before from (2030-05-02)"},
		{from: "2030-5-1", to: "2030-05-01", wantErr: `from "2030-5-1" is no day: write it YYYY-MM-DD`},
		{from: "2030-05-01", to: "", wantErr: "from and to are required"},
	}
	for _, tt := range tests {
		t.Run(tt.from+".."+tt.to, func(t *testing.T) {
			r, err := analytics.ParseRange(tt.from, tt.to, berlin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := r.From.UTC().Format(time.RFC3339) + " " + r.End().UTC().Format(time.RFC3339); got != tt.wantStart+" "+tt.wantEnd {
				t.Errorf("range covers %s, want %s %s", got, tt.wantStart, tt.wantEnd)
			}
		})
	}
}

// TestBuild checks a report against figures worked out by hand, across a day
// boundary in the LiveChat's time zone on the day its clocks go forward.
func TestBuild(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	utc := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	r, err := analytics.ParseRange("2030-03-30", "2030-03-31", berlin)
	if err != nil {
		t.Fatal(err)
	}
	facts := []store.ChatFacts{
		// 00:30 on March 30 in Berlin (CET): the first day's.
		chat{state: store.StateClosed, start: 0, handover: -1, accept: 2, finish: 12, queue: "support", operator: "ann", scale: "Stars", score: 4}.
			facts(utc("2030-03-29T23:30:00Z")),
		// 23:59 on March 30: still the first day's; nobody took it.
		chat{state: store.StateQueued, start: 0, handover: -1, accept: -1, finish: -1, queue: "sales"}.facts(utc("2030-03-30T22:59:00Z")),
		// Midnight: the second day's, handled by an operator no longer configured.
		chat{state: store.StateClosed, start: 0, handover: -1, accept: 1, finish: 5, queue: "support", operator: "bob", scale: "Thumbs", score: 1}.
			facts(utc("2030-03-30T23:00:00Z")),
		// 23:59 on March 31, summer time (CEST) now: the second day's.
		chat{state: store.StateActive, start: 0, handover: -1, accept: 3, finish: -1, queue: "support", operator: "ann"}.facts(utc("2030-03-31T21:59:00Z")),
	}
	operators := []analytics.Operator{{Name: "cy", DisplayName: "Cy", Limit: 3}, {Name: "ann", DisplayName: "Ann", Load: 1, Limit: 2}}
	tests := []struct {
		name  string
		queue string
		facts []store.ChatFacts
		want  []string // the report's JSON, a line per part
	}{
		{"all queues", "", facts, []string{
			`"from":"2030-03-30","to":"2030-03-31","timeZone":"Europe/Berlin"`,
			// Waits 2, 1 and 3 minutes; handling 10 and 4 minutes.
			`"total":{"chats":4,"missedChats":1,"answeredChats":3,"medianWaitSeconds":120,"p90WaitSeconds":180,"medianHandlingSeconds":420,"ratings":{"count":2,"average":4,"thumbsUp":1,"thumbsDown":0}}`,
			`"days":[{"day":"2030-03-30","chats":2,"missedChats":1,"answeredChats":1,"medianWaitSeconds":120,"p90WaitSeconds":120,"medianHandlingSeconds":600,"ratings":{"count":1,"average":4,"thumbsUp":0,"thumbsDown":0}},` +
				`{"day":"2030-03-31","chats":2,"missedChats":0,"answeredChats":2,"medianWaitSeconds":120,"p90WaitSeconds":180,"medianHandlingSeconds":240,"ratings":{"count":1,"thumbsUp":1,"thumbsDown":0}}]`,
			`"queues":[{"day":"2030-03-30","queue":"sales","chats":1,"missedChats":1,"answeredChats":0},` +
				`{"day":"2030-03-30","queue":"support","chats":1,"missedChats":0,"answeredChats":1,"medianWaitSeconds":120,"p90WaitSeconds":120,"medianHandlingSeconds":600,"ratings":{"count":1,"average":4,"thumbsUp":0,"thumbsDown":0}},` +
				`{"day":"2030-03-31","queue":"sales","chats":0,"missedChats":0,"answeredChats":0},` +
				`{"day":"2030-03-31","queue":"support","chats":2,"missedChats":0,"answeredChats":2,"medianWaitSeconds":120,"p90WaitSeconds":180,"medianHandlingSeconds":240,"ratings":{"count":1,"thumbsUp":1,"thumbsDown":0}}]`,
			`"operators":[{"name":"ann","displayName":"Ann","chats":2,"medianHandlingSeconds":600,"ratings":{"count":1,"average":4,"thumbsUp":0,"thumbsDown":0},"load":1,"limit":2},` +
				`{"name":"bob","displayName":"bob","chats":1,"medianHandlingSeconds":240,"ratings":{"count":1,"thumbsUp":1,"thumbsDown":0},"load":0,"limit":0},` +
				`{"name":"cy","displayName":"Cy","chats":0,"load":0,"limit":3}]`,
		}},
		{"no chats", "sales", nil, []string{
			`"queue":"sales","total":{"chats":0,"missedChats":0,"answeredChats":0}`,
			`"days":[{"day":"2030-03-30","chats":0,"missedChats":0,"answeredChats":0},{"day":"2030-03-31","chats":0,"missedChats":0,"answeredChats":0}]`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(analytics.Build(r, tt.queue, []string{"sales", "support"}, append([]analytics.Operator(nil), operators...), tt.facts))
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range tt.want {
				if !strings.Contains(string(b), part) {
					t.Errorf("report\n%s\nlacks\n%s", b, part)
				}
			}
		})
	}
}

// TestRangePercentilesAreExact: the range's median and 90th percentile, found across
// the days' sorted durations without merging them, are those of all the durations
// sorted together, duplicates and uneven days included.
func TestRangePercentilesAreExact(t *testing.T) {
	r, err := analytics.ParseRange("2030-05-01", "2030-05-30", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1, 2, 3, 10, 101, 1000, 4097} {
		var facts []store.ChatFacts
		var waits, handling []float64
		for i := range n {
			created := r.From.Add(time.Duration(i) * 30 * 24 * time.Hour / time.Duration(n))
			wait := time.Duration((i*7919)%97) * time.Second // many equal waits
			handled := time.Duration((i*104729)%6007) * 100 * time.Millisecond
			facts = append(facts, store.ChatFacts{CreatedAt: created, Queue: "q", State: store.StateClosed,
				AcceptedAt: created.Add(wait), FinishedAt: created.Add(wait + handled)})
			waits, handling = append(waits, wait.Seconds()), append(handling, handled.Seconds())
		}
		slices.Sort(waits)
		slices.Sort(handling)
		median := func(v []float64) float64 {
			if len(v)%2 == 0 {
				return (v[len(v)/2-1] + v[len(v)/2]) / 2
			}
			return v[len(v)/2]
		}
		p90 := waits[int(math.Ceil(0.9*float64(len(waits))))-1]
		got := analytics.Build(r, "", []string{"q"}, nil, facts).Total
		if *got.MedianWait != median(waits) || *got.P90Wait != p90 || *got.MedianHandling != median(handling) {
			t.Errorf("%d chats: median wait %v, p90 %v, median handling %v; want %v, %v, %v", n,
				*got.MedianWait, *got.P90Wait, *got.MedianHandling, median(waits), p90, median(handling))
		}
	}
}
