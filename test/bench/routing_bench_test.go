package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/routing"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

const (
	routingOperators = 1000
	routingChats     = 10000
)

// routingConfig is the samples with 1,000 operators answering first-line, 10 chats
// each, and no offline messages (so chats wait in the queue).
func routingConfig(b *testing.B) *config.Config {
	cfg, err := samples.Config()
	if err != nil {
		b.Fatal(err)
	}
	for i := range cfg.Queues {
		if cfg.Queues[i].Name != "first-line" {
			continue
		}
		cfg.Queues[i].Operators = nil
		cfg.Queues[i].Offline.AcceptMessages = false
		for n := range routingOperators {
			name := fmt.Sprintf("op%04d", n)
			cfg.Queues[i].Operators = append(cfg.Queues[i].Operators, name)
			cfg.People = append(cfg.People, config.Person{Name: name, MaxChats: 10})
		}
	}
	return cfg
}

// decisions times routing.PickAvailable alone: 10,000 decisions among 1,000 online
// operators, each decision seeing the loads the previous ones left. Only the calls are
// timed: the rate is decisions over the summed time of the calls, and the bookkeeping
// between them (giving the chosen operator one more chat) is left out.
func decisions() {
	cands := make([]routing.Candidate, routingOperators)
	index := make(map[string]int, routingOperators)
	base := time.Now()
	for i := range cands {
		last := base.Add(-time.Duration(i) * time.Second)
		cands[i] = routing.Candidate{Name: fmt.Sprintf("op%04d", i), Online: true, Active: true, Limit: 10, LastAssigned: &last}
		index[cands[i].Name] = i
	}
	lat := make([]time.Duration, 0, routingChats)
	var total time.Duration
	for i := range routingChats {
		t0 := time.Now()
		name, ok := routing.PickAvailable(cands, nil)
		d := time.Since(t0)
		lat = append(lat, d)
		total += d
		if !ok {
			panic("no pick")
		}
		c := &cands[index[name]]
		c.Load++
		now := base.Add(time.Duration(i) * time.Millisecond)
		c.LastAssigned = &now
	}
	fmt.Printf("  decisions alone: %.0f/s (%d calls of routing.PickAvailable in %v, bookkeeping between them not counted), latency p50 %v p99 %v (1,000 online operators, 10,000 chats)\n",
		routingChats/total.Seconds(), routingChats, total.Round(time.Millisecond), percentileDur(lat, .5), percentileDur(lat, .99))
}

// committed routes 10,000 waiting chats to 1,000 operators through the engine and the
// store, as the runtime does: in the background, every assignment a committed,
// limit-checked claim. The chats wait while the queue has no operators; the clock
// starts when a new configuration gives it 1,000 online ones.
func committed(b *testing.B, name string, s store.Store) {
	ctx := context.Background()
	cfg := routingConfig(b)
	empty := routingConfig(b)
	for i := range empty.Queues {
		if empty.Queues[i].Name == "first-line" {
			empty.Queues[i].Operators = nil
		}
	}
	e := chat.New(s, hub.New(), empty, chat.Options{})
	defer e.Close()
	var wg sync.WaitGroup
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if _, err := e.Open(ctx, "website", chat.Identity{Name: fmt.Sprintf("v%d", i)}); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for i := range routingChats {
		work <- i
	}
	close(work)
	wg.Wait()
	for n := range routingOperators {
		if _, err := s.SetPresence(ctx, fmt.Sprintf("op%04d", n), store.PresenceOnline, nil); err != nil {
			b.Fatal(err)
		}
	}
	var mu sync.Mutex
	var lat []time.Duration
	all := make(chan struct{})
	last := time.Now()
	e.OnEvent(func(n chat.Notification) {
		if n.Type == "ChatAssigned" {
			mu.Lock()
			now := time.Now()
			lat = append(lat, now.Sub(last))
			last = now
			if len(lat) == routingChats {
				close(all)
			}
			mu.Unlock()
		}
	})
	mu.Lock()
	start := time.Now()
	last = start
	mu.Unlock()
	e.Apply(cfg)
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
	}
	elapsed := time.Since(start)
	mu.Lock()
	defer mu.Unlock()
	fmt.Printf("  %s: %d assignments committed in %v: %.0f/s; per assignment (decision and commit) p50 %v p99 %v\n",
		name, len(lat), elapsed.Round(time.Millisecond), float64(len(lat))/elapsed.Seconds(),
		percentileDur(lat, .5).Round(10*time.Microsecond), percentileDur(lat, .99).Round(10*time.Microsecond))
	if len(lat) != routingChats {
		b.Errorf("%d of %d chats assigned", len(lat), routingChats)
	}
}

// BenchmarkRouting measures routing decisions and committed assignments on both stores.
func BenchmarkRouting(b *testing.B) {
	fmt.Println("\nrouting benchmark")
	decisions()
	sq, err := sqlstore.OpenSQLite(context.Background(), b.TempDir(), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	committed(b, "SQLite", sq)
	sq.Close()
	pg, uri, err := pgtest.StartWithDatabase()
	if err != nil {
		b.Fatal(err)
	}
	defer pg.Stop()
	ps, err := sqlstore.OpenPostgres(context.Background(), uri, sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer ps.Close()
	committed(b, "PostgreSQL", ps)
}
