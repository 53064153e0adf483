// Package presence tells whether someone has a live connection on any replica: a
// visitor or internal client (notification rules ask: "recipient offline" means no
// live widget on any replica), or an operator's console (their presence follows it).
// Each replica knows its own connections and records them in the store, refreshing
// them while they last, so a replica that dies takes its records with it after a
// while. A tracker with a linger leaves a closed connection's record to lapse that
// much later rather than removing it: a reload within it is no disconnection.
package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Store records the keys (contacts, operators) each replica has connections of.
type Store interface {
	SetOnline(ctx context.Context, replica string, keys []string, until time.Time) error
	SetOffline(ctx context.Context, replica string, keys []string, expiredBefore time.Time) error
	Online(ctx context.Context, key string, now time.Time) (bool, error)
}

// Timings. A connection that opens or closes is known to the other replicas within
// Poll; a replica that dies is forgotten after TTL.
const (
	Poll    = 2 * time.Second
	Refresh = 10 * time.Second
	TTL     = 45 * time.Second
)

// Tracker publishes this replica's connections and answers for all replicas.
type Tracker struct {
	st      Store
	replica string
	// local lists the keys connected here; localOnline asks for one.
	local       func() []string
	localOnline func(string) bool
	log         *slog.Logger
	now         func() time.Time
	// mu serializes Sync: a caller may sync at once when a connection opens or
	// closes, beside Run's poll.
	mu sync.Mutex
	// published is what the store holds of this replica, and when it was refreshed.
	published map[string]bool
	refreshed time.Time
	// linger, when set, is how long a closed connection's record outlives it.
	linger func() time.Duration
}

// Option changes a tracker.
type Option func(*Tracker)

// Linger leaves the record of a connection that closed (or of every connection, when
// the tracker stops) to lapse d() later instead of removing it, and keeps live
// connections' records that much longer too, so that a replica that dies counts the
// same as connections closed at once. Expired records are then the caller's to
// forget (Store.SetOffline never runs).
func Linger(d func() time.Duration) Option { return func(t *Tracker) { t.linger = d } }

// New returns a tracker of the connections local lists; Run publishes them.
func New(st Store, local func() []string, localOnline func(string) bool, log *slog.Logger, opts ...Option) *Tracker {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	t := &Tracker{st: st, replica: hex.EncodeToString(b), local: local, localOnline: localOnline, log: log,
		now: time.Now, published: map[string]bool{}}
	for _, o := range opts {
		o(t)
	}
	return t
}

// lingering is how long closed connections' records outlive them; 0: not at all.
func (t *Tracker) lingering() time.Duration {
	if t.linger == nil {
		return 0
	}
	return t.linger()
}

// Online reports whether the key has a live connection here or on another replica
// (or one that closed less than the linger ago). When the store cannot say, the key
// counts as offline: a notification too many beats one missed.
func (t *Tracker) Online(key string) bool {
	if t.localOnline(key) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	online, err := t.st.Online(ctx, key, t.now())
	if err != nil {
		t.log.Warn("asking whether a connection is open on another replica", "error", err)
	}
	return online
}

// Run publishes the connections every Poll until ctx ends, then withdraws them.
func (t *Tracker) Run(ctx context.Context) {
	tick := time.NewTicker(Poll)
	defer tick.Stop()
	for {
		t.Sync(ctx)
		select {
		case <-ctx.Done():
			t.withdraw()
			return
		case <-tick.C:
		}
	}
}

// Sync publishes the keys connected now: new ones at once, all of them again every
// Refresh, and those gone are withdrawn (or left to lapse after the linger).
func (t *Tracker) Sync(ctx context.Context) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	linger := t.lingering()
	current := map[string]bool{}
	for _, c := range t.local() {
		current[c] = true
	}
	var fresh, gone []string
	refresh := now.Sub(t.refreshed) >= Refresh
	for c := range current {
		if refresh || !t.published[c] {
			fresh = append(fresh, c)
		}
	}
	for c := range t.published {
		if !current[c] {
			gone = append(gone, c)
		}
	}
	slices.Sort(fresh)
	slices.Sort(gone)
	if err := t.st.SetOnline(ctx, t.replica, fresh, now.Add(TTL+linger)); err != nil {
		t.log.Warn("recording the connections open here", "error", err)
		return
	}
	if refresh {
		t.refreshed = now
	}
	if !t.forget(ctx, gone, now, linger, refresh) {
		return
	}
	t.published = current
}

// forget withdraws the records of connections gone, or with a linger leaves them to
// lapse then; it reports whether the store took it.
func (t *Tracker) forget(ctx context.Context, gone []string, now time.Time, linger time.Duration, purge bool) bool {
	var err error
	switch {
	case linger > 0:
		err = t.st.SetOnline(ctx, t.replica, gone, now.Add(linger))
	case len(gone) > 0 || purge:
		err = t.st.SetOffline(ctx, t.replica, gone, now.Add(-TTL))
	}
	if err != nil {
		t.log.Warn("recording the connections closed here", "error", err)
	}
	return err == nil
}

// withdraw removes this replica's records at shutdown, so other replicas do not wait
// for them to expire; with a linger it leaves them to lapse after it, so consoles
// that reconnect to another replica (a rolling update) keep their presence.
func (t *Tracker) withdraw() {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gone := make([]string, 0, len(t.published))
	for c := range t.published {
		gone = append(gone, c)
	}
	slices.Sort(gone)
	t.forget(ctx, gone, t.now(), t.lingering(), true)
}
