package analytics

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Store is what the daily analytics need of the store.
type Store interface {
	store.Events
	store.Analytics
}

// Options of the daily analytics. Zero fields take defaults.
type Options struct {
	Store Store
	// Config returns the configuration in force (the LiveChat's time zone).
	Config func() *config.Config
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Interval is how often the clock is looked at; a minute by default, so a day's
	// figures are recorded within a minute of its end.
	Interval time.Duration
	Log      *slog.Logger
}

// Daily records the DailyAnalytics event of each day that ends.
type Daily struct {
	opts Options
	// last is the key of the day this process recorded last: a day is computed once
	// per process.
	last   string
	cancel func()
	done   chan struct{}
}

// New returns the daily analytics; Start runs them.
func New(o Options) *Daily {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Interval <= 0 {
		o.Interval = time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return &Daily{opts: o, done: make(chan struct{})}
}

// Start looks at the clock every Interval until Close, recording each day that ended.
func (d *Daily) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	go func() {
		defer close(d.done)
		ticker := time.NewTicker(d.opts.Interval)
		defer ticker.Stop()
		for {
			if _, err := d.Step(ctx); err != nil && ctx.Err() == nil && !errors.Is(err, store.ErrStoreClosed) {
				d.opts.Log.Warn("recording the daily analytics; trying again", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
}

// Close stops the analytics and waits for a step in progress.
func (d *Daily) Close() {
	if d.cancel == nil {
		return
	}
	d.cancel()
	<-d.done
}

// Key is the event key of a day's analytics.
func Key(day time.Time) string {
	return string(chatv1alpha1.EventDailyAnalytics) + "/" + day.Format(time.DateOnly)
}

// Step records the figures of the day that ended last, in the LiveChat's time zone,
// unless this process has; the store keeps one event per day whichever replica
// records it. It reports the day it recorded, or "" when there was nothing to do.
func (d *Daily) Step(ctx context.Context) (string, error) {
	cfg := d.opts.Config()
	loc, err := config.Location(cfg.LiveChat.TimeZone)
	if err != nil {
		loc = time.UTC // a compile problem the operator reports; the figures go on
	}
	now := d.opts.Now().In(loc)
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, loc)
	day := today.AddDate(0, 0, -1)
	key := Key(day)
	if key == d.last {
		return "", nil
	}
	facts, err := d.opts.Store.ChatFacts(ctx, day, today, "")
	if err != nil {
		return "", err
	}
	detail, err := json.Marshal(Compute(day, facts))
	if err != nil {
		return "", err
	}
	if err := d.opts.Store.AppendEvents(ctx, store.Event{Type: string(chatv1alpha1.EventDailyAnalytics), Detail: string(detail),
		CreatedAt: now, Key: key}); err != nil {
		return "", err
	}
	d.last = key
	d.opts.Log.Info("daily analytics recorded", "day", day.Format(time.DateOnly), "timeZone", loc.String(), "chats", len(facts))
	return day.Format(time.DateOnly), nil
}
