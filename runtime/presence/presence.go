// Package presence tells whether a visitor (or an internal client) has a live
// connection on any replica. Each replica knows its own connections; with several
// replicas on PostgreSQL it records them in the store, refreshing them while they
// last, so a replica that dies takes its records with it after a while. Notification
// rules ask it ("recipient offline": no live widget on any replica).
package presence

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"slices"
	"time"
)

// Store records the contacts each replica has connections of.
type Store interface {
	SetContactsOnline(ctx context.Context, replica string, contacts []string, until time.Time) error
	SetContactsOffline(ctx context.Context, replica string, contacts []string, expiredBefore time.Time) error
	ContactOnline(ctx context.Context, contact string, now time.Time) (bool, error)
}

// Timings. A connection that opens or closes is known to the other replicas within
// Poll; a replica that dies is forgotten after TTL.
const (
	Poll    = 2 * time.Second
	Refresh = 10 * time.Second
	TTL     = 45 * time.Second
)

// Tracker publishes this replica's connected contacts and answers for all replicas.
type Tracker struct {
	st      Store
	replica string
	// local lists the contacts connected here; localOnline asks for one.
	local       func() []string
	localOnline func(string) bool
	log         *slog.Logger
	now         func() time.Time
	// published is what the store holds of this replica, and when it was refreshed.
	published map[string]bool
	refreshed time.Time
}

// New returns a tracker of the connections local lists; Run publishes them.
func New(st Store, local func() []string, localOnline func(string) bool, log *slog.Logger) *Tracker {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &Tracker{st: st, replica: hex.EncodeToString(b), local: local, localOnline: localOnline, log: log,
		now: time.Now, published: map[string]bool{}}
}

// Online reports whether the contact has a live connection here or on another
// replica. When the store cannot say, the contact counts as offline: a notification
// too many beats one missed.
func (t *Tracker) Online(contact string) bool {
	if t.localOnline(contact) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	online, err := t.st.ContactOnline(ctx, contact, t.now())
	if err != nil {
		t.log.Warn("asking whether a visitor is online on another replica", "error", err)
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

// Sync publishes the contacts connected now: new ones at once, all of them again
// every Refresh, and those gone are withdrawn.
func (t *Tracker) Sync(ctx context.Context) {
	now := t.now()
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
	if err := t.st.SetContactsOnline(ctx, t.replica, fresh, now.Add(TTL)); err != nil {
		t.log.Warn("recording the visitors connected here", "error", err)
		return
	}
	if refresh {
		t.refreshed = now
	}
	if len(gone) > 0 || refresh {
		if err := t.st.SetContactsOffline(ctx, t.replica, gone, now.Add(-TTL)); err != nil {
			t.log.Warn("recording the visitors gone from here", "error", err)
			return
		}
	}
	t.published = current
}

// withdraw removes this replica's records at shutdown, so other replicas do not wait
// for them to expire.
func (t *Tracker) withdraw() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gone := make([]string, 0, len(t.published))
	for c := range t.published {
		gone = append(gone, c)
	}
	if err := t.st.SetContactsOffline(ctx, t.replica, gone, t.now().Add(-TTL)); err != nil {
		t.log.Warn("withdrawing the visitors connected here", "error", err)
	}
}
