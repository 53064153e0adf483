package presence

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// An operator's consoles on any replica keep them online; they go offline, once,
// when the last has been closed for the grace on every replica, or their replica died
// (its records not refreshed for TTL, then the grace).
func TestOperatorOfflineAfterTheGraceOnEveryReplica(t *testing.T) {
	const grace = 30 * time.Second
	for _, backend := range []string{"SQLite", "Postgres"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			var mu sync.Mutex
			clock := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			now := func() time.Time { mu.Lock(); defer mu.Unlock(); return clock }
			advance := func(d time.Duration) { mu.Lock(); clock = clock.Add(d); mu.Unlock() }
			dir := t.TempDir()
			uri := ""
			if backend == "Postgres" {
				uri = pgtest.Database(t, pg)
			}
			open := func() *sqlstore.DB {
				var st *sqlstore.DB
				var err error
				if backend == "SQLite" {
					st, err = sqlstore.OpenSQLite(ctx, dir, sqlstore.Options{Now: now})
				} else {
					st, err = sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{Now: now})
				}
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { st.Close() })
				return st
			}
			cfg, err := samples.Config()
			if err != nil {
				t.Fatal(err)
			}
			cfg.LiveChat.OperatorPresence = &config.OperatorPresence{OfflineAfter: config.Duration{Duration: grace},
				OpenChatsWhenOffline: config.OpenChatsForward}
			// Two replicas: each a store connection, an engine and a console tracker.
			type node struct {
				*replica
				e *chat.Engine
			}
			var nodes []node
			var offline sync.Map
			stores := []*sqlstore.DB{open()}
			if backend == "Postgres" {
				stores = append(stores, open())
			} else {
				stores = append(stores, stores[0]) // one SQLite file: replicas share it
			}
			for _, st := range stores {
				e := chat.New(st, hub.New(), cfg, chat.Options{Now: now})
				t.Cleanup(e.Close)
				e.OnEvent(func(n chat.Notification) {
					if n.Type == "OperatorOffline" {
						v, _ := offline.LoadOrStore(n.Operator, new(int))
						mu.Lock()
						*v.(*int)++
						mu.Unlock()
					}
				})
				r := newReplica(st.OperatorConsoles(), now)
				r.linger = func() time.Duration { return grace }
				nodes = append(nodes, node{r, e})
			}
			a, b := nodes[0], nodes[1]
			presenceOf := func() store.Presence {
				t.Helper()
				me, err := b.e.Me(ctx, "alice")
				if err != nil {
					t.Fatal(err)
				}
				return me.Presence
			}
			sweep := func() {
				t.Helper()
				var wg sync.WaitGroup
				for _, n := range nodes { // both replicas at once: one sets her offline
					wg.Add(1)
					go func() {
						defer wg.Done()
						if err := n.e.LapseConsoles(ctx); err != nil {
							t.Error(err)
						}
					}()
				}
				wg.Wait()
			}
			offlineEvents := func() int {
				v, ok := offline.Load("alice")
				if !ok {
					return 0
				}
				mu.Lock()
				defer mu.Unlock()
				return *v.(*int)
			}

			// alice's console opens on replica a.
			a.connect("alice")
			a.Sync(ctx)
			if err := a.e.ConsoleOpened(ctx, "alice", false); err != nil {
				t.Fatal(err)
			}
			// It closes; within the grace she opens one on replica b.
			a.connect()
			a.Sync(ctx)
			advance(grace - time.Second)
			sweep()
			if p := presenceOf(); p != store.PresenceOnline {
				t.Fatalf("within the grace alice is %s", p)
			}
			if !b.Online("alice") {
				t.Fatal("replica b does not know alice's console session goes on")
			}
			b.connect("alice")
			b.Sync(ctx)
			advance(2 * time.Second) // a's record has lapsed, b's is live
			sweep()
			if p := presenceOf(); p != store.PresenceOnline {
				t.Fatalf("with a console on replica b alice is %s", p)
			}
			// b's closes too: after the grace she is offline, once.
			b.connect()
			b.Sync(ctx)
			advance(grace - time.Second)
			sweep()
			if p := presenceOf(); p != store.PresenceOnline {
				t.Fatalf("within the grace of her last console alice is %s", p)
			}
			advance(2 * time.Second)
			sweep()
			sweep()
			if p := presenceOf(); p != store.PresenceOffline {
				t.Fatalf("after the grace of her last console alice is %s", p)
			}
			if n := offlineEvents(); n != 1 {
				t.Errorf("OperatorOffline %d times, want once", n)
			}
			// Her console opens on a, whose replica then dies: no refresh, no close.
			a.connect("alice")
			a.Sync(ctx)
			if err := a.e.ConsoleOpened(ctx, "alice", false); err != nil {
				t.Fatal(err)
			}
			advance(TTL + grace - time.Second)
			sweep()
			if p := presenceOf(); p != store.PresenceOnline {
				t.Fatalf("before a dead replica's record lapsed alice is %s", p)
			}
			advance(2 * time.Second)
			sweep()
			if p := presenceOf(); p != store.PresenceOffline {
				t.Fatalf("after her dead replica's record lapsed alice is %s", p)
			}
		})
	}
}
