package presence

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

// replica is a tracker over a set of connected contacts the test changes.
type replica struct {
	*Tracker
	mu        sync.Mutex
	connected []string
}

func newReplica(st Store, now func() time.Time) *replica {
	r := &replica{}
	r.Tracker = New(st, func() []string {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Clone(r.connected)
	}, func(c string) bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		return slices.Contains(r.connected, c)
	}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r.now = now
	return r
}

func (r *replica) connect(contacts ...string) {
	r.mu.Lock()
	r.connected = contacts
	r.mu.Unlock()
}

// A visitor connected to one replica is online for every replica; gone, or their
// replica dead for longer than TTL, they are offline everywhere.
func TestVisitorsOnlineAcrossReplicas(t *testing.T) {
	for _, backend := range []string{"SQLite", "Postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			var st *sqlstore.DB
			var err error
			if backend == "SQLite" {
				st, err = sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{})
			} else {
				st, err = sqlstore.OpenPostgres(ctx, pgtest.Database(t, pg), sqlstore.Options{})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			now := func() time.Time { return clock }
			a, b := newReplica(st.ContactPresence(), now), newReplica(st.ContactPresence(), now)

			a.connect("vera")
			a.Sync(ctx)
			if !b.Online("vera") || !a.Online("vera") {
				t.Fatal("a visitor connected to replica a is offline")
			}
			if b.Online("walt") {
				t.Fatal("a visitor connected nowhere is online")
			}
			a.connect()
			a.Sync(ctx)
			if b.Online("vera") {
				t.Fatal("a visitor who left is still online")
			}
			// Replica a dies with vera connected: refreshes stop, the record expires.
			a.connect("vera")
			a.Sync(ctx)
			clock = clock.Add(TTL - time.Second)
			if !b.Online("vera") {
				t.Fatal("offline before the record expired")
			}
			clock = clock.Add(2 * time.Second)
			if b.Online("vera") {
				t.Fatal("a dead replica's visitor is still online after TTL")
			}
			// A live replica refreshes its visitors before they expire.
			a.Sync(ctx)    // refresh is due: Refresh < TTL
			for range 30 { // longer than TTL
				clock = clock.Add(Poll)
				a.Sync(ctx)
			}
			if !b.Online("vera") {
				t.Fatal("a visitor of a live replica expired")
			}
			// Shutdown withdraws at once.
			a.withdraw()
			if b.Online("vera") {
				t.Fatal("a stopped replica's visitor is still online")
			}
		})
	}
}
