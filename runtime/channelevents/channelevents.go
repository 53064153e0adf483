// Package channelevents records ChannelChanged events: a channel switched on or off
// (its Channel's spec.active, as the configuration says) or its connection to the
// provider won or lost (as the channels manager reports it). The store keeps each
// channel's last known facts and records the event in the transaction that changes
// them, so of the replicas that see the same change, one records it; a channel seen
// for the first time records nothing.
package channelevents

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Statuses of a change, the detail's status.
const (
	Activated    = "activated"
	Deactivated  = "deactivated"
	Connected    = "connected"
	Disconnected = "disconnected"
)

// Change is the detail of a ChannelChanged event.
type Change struct {
	Channel string `json:"channel"`
	// Status is activated, deactivated, connected or disconnected.
	Status string `json:"status"`
	// Reason and Message are the connection's, for connected and disconnected: the
	// provider's answer in plain words, without secrets.
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// Store is what the recorder needs of the store.
type Store interface {
	SetChannelFlag(ctx context.Context, channel string, flag store.ChannelFlag, value bool, ev store.Event) (bool, error)
}

// retryDelay is the wait before recording a fact again after the store failed.
const retryDelay = time.Second

// Recorder records channel facts in the background: Status and Configured return at
// once (Status is meant for channels.Options.OnStatus, called under the manager's
// lock), and only a channel's newest fact of each kind waits to be recorded.
type Recorder struct {
	st  Store
	log *slog.Logger

	mu      sync.Mutex
	pending map[fact]Change
	// inactive channels' connection news is not news: a channel switched off is
	// reported as such, not as disconnected too.
	inactive map[string]bool
	kick     chan struct{}
}

// fact names one flag of one channel.
type fact struct {
	channel string
	flag    store.ChannelFlag
}

// New returns a recorder; Run records what it hears.
func New(st Store, log *slog.Logger) *Recorder {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Recorder{st: st, log: log, pending: map[fact]Change{}, inactive: map[string]bool{}, kick: make(chan struct{}, 1)}
}

// Status hears a channel's connection status.
func (r *Recorder) Status(s channels.Status) {
	if s.Reason == channels.ReasonInactive {
		return
	}
	c := Change{Channel: s.Channel, Status: Disconnected, Reason: s.Reason, Message: strings.Join(strings.Fields(s.Message), " ")}
	if s.Connected {
		c.Status = Connected
	}
	r.mu.Lock()
	if !r.inactive[s.Channel] {
		r.pending[fact{s.Channel, store.ChannelConnected}] = c
	}
	r.mu.Unlock()
	r.poke()
}

// Configured hears the configuration applied: whether each channel is active.
func (r *Recorder) Configured(cfg *config.Config) {
	r.mu.Lock()
	for _, ch := range cfg.Channels {
		c := Change{Channel: ch.Name, Status: Activated}
		if !ch.Active {
			c.Status = Deactivated
		}
		r.inactive[ch.Name] = !ch.Active
		r.pending[fact{ch.Name, store.ChannelActive}] = c
	}
	r.mu.Unlock()
	r.poke()
}

func (r *Recorder) poke() {
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// Pending is how many facts wait to be recorded.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

// Run records what the recorder hears until ctx ends.
func (r *Recorder) Run(ctx context.Context) {
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		var retry <-chan time.Time
		if !r.flush(ctx) {
			timer.Reset(retryDelay)
			retry = timer.C
		}
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-retry:
		}
	}
}

// flush records every pending fact; it reports false when one failed and waits.
func (r *Recorder) flush(ctx context.Context) bool {
	r.mu.Lock()
	batch := make(map[fact]Change, len(r.pending))
	for f, c := range r.pending {
		batch[f] = c
	}
	r.mu.Unlock()
	ok := true
	for f, c := range batch {
		detail, err := json.Marshal(c)
		if err != nil {
			continue
		}
		value := c.Status == Activated || c.Status == Connected
		_, err = r.st.SetChannelFlag(ctx, f.channel, f.flag, value, store.Event{Type: string(chatv1alpha1.EventChannelChanged),
			Detail: string(detail)})
		if errors.Is(err, store.ErrStoreClosed) {
			return true // the runtime is stopping
		}
		if err != nil {
			if ctx.Err() == nil {
				r.log.Warn("recording a channel's change; trying again", "channel", f.channel, "error", err)
			}
			ok = false
			continue
		}
		r.mu.Lock()
		if r.pending[f] == c { // unless a newer fact came in meanwhile
			delete(r.pending, f)
		}
		r.mu.Unlock()
	}
	return ok
}
