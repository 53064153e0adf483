package analytics

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// maxCachedDays bounds the days a Cache keeps: a report's 92 and room for a few time
// zones' and queues' views of them.
const maxCachedDays = 400

// Cache keeps the tallies of whole days in memory, so a report reads from the store
// only the days that changed since it was last asked for: reading a day is a range
// scan of its conversations, and a month of them is too many rows to read and add up
// on every page load. A day is keyed by the instants it spans, whatever the time
// zone.
// Whoever follows the store's changes calls Forget for every conversation that
// changes (ForgetAll when changes may have been missed), so no day is served stale.
type Cache struct {
	st store.Analytics
	mu sync.Mutex
	// days holds the tally of each day read; order is the order they were read in,
	// for eviction.
	days  map[span]*DayTally
	order []span
	// reading counts the days being read from the store. While any is, forgotten
	// holds the instants Forget was given, so a read that overlapped a change to its
	// own day is not kept (one that overlapped changes to other days is: in a busy
	// LiveChat something changes during every read). everything moves with ForgetAll.
	reading    int
	forgotten  []int64
	everything uint64
}

// maxForgotten bounds the instants kept while reads overlap without pause; past it,
// the reads in progress are not kept.
const maxForgotten = 1 << 16

// span is a day as the instants [from, to) in Unix milliseconds.
type span struct{ from, to int64 }

// NewCache returns a cache reading days from st.
func NewCache(st store.Analytics) *Cache {
	return &Cache{st: st, days: map[span]*DayTally{}}
}

// Forget drops the day that holds t: a conversation created at t changed.
func (c *Cache) Forget(t time.Time) {
	at := t.UnixMilli()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.reading > 0 {
		if len(c.forgotten) == maxForgotten {
			c.everything++
			c.forgotten = c.forgotten[:0]
		}
		c.forgotten = append(c.forgotten, at)
	}
	for s := range c.days {
		if s.from <= at && at < s.to {
			delete(c.days, s)
		}
	}
}

// ForgetAll drops every day.
func (c *Cache) ForgetAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.everything++
	clear(c.days)
	c.order = c.order[:0]
}

// Report makes the report of the range's days for the queues and operators given,
// as Build does from the facts.
func (c *Cache) Report(ctx context.Context, r Range, queue string, queues []string, operators []Operator) (Report, error) {
	days := r.days()
	tallies := make([]*DayTally, 0, len(days)-1)
	for i := range len(days) - 1 {
		t, err := c.day(ctx, span{days[i].UnixMilli(), days[i+1].UnixMilli()})
		if err != nil {
			return Report{}, err
		}
		tallies = append(tallies, t)
	}
	return build(r, queue, queues, operators, tallies), nil
}

// day returns a day's tally from memory, or reads the day and keeps its tally.
func (c *Cache) day(ctx context.Context, s span) (*DayTally, error) {
	c.mu.Lock()
	t, ok := c.days[s]
	if ok {
		c.mu.Unlock()
		return t, nil
	}
	c.reading++
	mark, everything := len(c.forgotten), c.everything
	c.mu.Unlock()
	facts, err := c.st.ChatFacts(ctx, time.UnixMilli(s.from), time.UnixMilli(s.to), "")
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := c.everything != everything || mark > len(c.forgotten) ||
		slices.ContainsFunc(c.forgotten[mark:], func(at int64) bool { return s.from <= at && at < s.to })
	if c.reading--; c.reading == 0 {
		c.forgotten = c.forgotten[:0]
	}
	if err != nil {
		return nil, err
	}
	t = TallyDay(facts)
	if !changed {
		c.days[s] = t
		c.order = append(c.order, s)
		for len(c.order) > maxCachedDays {
			delete(c.days, c.order[0])
			c.order = c.order[1:]
		}
	}
	return t, nil
}
