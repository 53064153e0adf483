package chat_test

import (
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

// TestTwoReplicasRaceOnPostgres: two engines (two runtime replicas) on one PostgreSQL
// route 200 chats in the background while operators accept and take chats through
// both at once. No chat ever goes to two operators, and nobody ever holds more than
// their limit.
func TestTwoReplicasRaceOnPostgres(t *testing.T) {
	uri := pgtest.Database(t, pg)
	cfg := samples(t)
	var engines []*chat.Engine
	var stores []store.Store
	for range 2 {
		s, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		e := chat.New(s, hub.New(), cfg, chat.Options{})
		t.Cleanup(func() { e.Close(); s.Close() })
		engines, stores = append(engines, e), append(stores, s)
	}
	for _, op := range []string{"alice", "bob", "carol"} {
		if _, err := engines[0].SetPresence(ctx, op, store.PresenceOnline, nil); err != nil {
			t.Fatal(err)
		}
	}
	limit := map[string]int{}
	for _, p := range cfg.People {
		limit[p.Name] = int(p.MaxChats)
	}

	// Watch the limits the whole time.
	var over atomic.Value
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			select {
			case <-stop:
				return
			default:
			}
			loads, err := stores[1].Loads(ctx)
			if err == nil {
				for op, n := range loads {
					if n > limit[op] {
						over.Store(fmt.Sprintf("%s held %d chats, limit %d", op, n, limit[op]))
					}
				}
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()

	var wg sync.WaitGroup
	var accepted, closed atomic.Int64
	const wantAccepts = 20
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e := engines[i%2]
			o, err := e.Open(ctx, "website", chat.Identity{Name: fmt.Sprintf("v%d", i)})
			if err != nil {
				t.Error(err)
			}
			_ = o
		}()
	}
	// Operators work through both replicas: accept what is assigned to them, take
	// queued chats, close some, as fast as they can.
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			op := []string{"alice", "bob", "carol"}[w%3]
			// Until enough accepts raced (a busy machine needs longer), within a bound.
			deadline := time.Now().Add(60 * time.Second)
			for time.Now().Before(deadline) && accepted.Load() < wantAccepts {
				e := engines[rng.IntN(2)]
				list, err := e.Visible(ctx, op, []store.State{store.StateAssigned, store.StateQueued, store.StateActive})
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range list {
					switch {
					case c.State == store.StateAssigned && c.Operator == op, c.State == store.StateQueued:
						if _, err := e.Take(ctx, op, c.ID); err == nil {
							accepted.Add(1)
						}
					case c.State == store.StateActive && c.Operator == op && rng.IntN(3) == 0:
						if _, err := e.CloseConversation(ctx, op, c.ID); err == nil {
							closed.Add(1)
						}
					}
				}
			}
		}()
	}
	wg.Wait()
	close(stop)
	<-watched
	if v := over.Load(); v != nil {
		t.Fatalf("limit exceeded: %s", v)
	}
	// No double assignment: each chat was accepted at most once.
	all, _ := stores[0].Conversations(ctx, store.ConversationFilter{})
	for _, c := range all {
		acts, _ := stores[0].Activity(ctx, c.ID, 0, 0)
		n := 0
		for _, a := range acts {
			if a.Type == "ChatAccepted" {
				n++
			}
		}
		if n > 1 {
			t.Fatalf("chat %s was accepted %d times", c.ID, n)
		}
	}
	t.Logf("%d chats, %d accepts, %d closes across two replicas", len(all), accepted.Load(), closed.Load())
	if accepted.Load() < wantAccepts {
		t.Errorf("only %d accepts: the race did not happen", accepted.Load())
	}
}
