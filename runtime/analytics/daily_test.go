package analytics_test

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// TestOneEventPerDayAcrossReplicas runs two daily analytics, each on its own handle of
// one store (two replicas), on a clock in Berlin that crosses midnight: each day is
// recorded once, with the chats of Berlin's day, not UTC's.
func TestOneEventPerDayAcrossReplicas(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	backends := []struct {
		name string
		open func(t *testing.T, now func() time.Time) *sqlstore.DB
	}{
		{"SQLite", func(t *testing.T, now func() time.Time) *sqlstore.DB {
			s, err := sqlstore.OpenSQLite(context.Background(), dir, sqlstore.Options{Now: now})
			return closing(t, s, err)
		}},
		{"PostgreSQL", func(t *testing.T, now func() time.Time) *sqlstore.DB {
			s, err := sqlstore.OpenPostgres(context.Background(), pgtest.Database(t, pg), sqlstore.Options{Now: now})
			return closing(t, s, err)
		}},
	}
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			clk := &clock{}
			st := b.open(t, clk.now)
			cfg := &config.Config{LiveChat: config.LiveChat{Name: "support", TimeZone: "Europe/Berlin"}}
			var replicas []*analytics.Daily
			for _, s := range []*sqlstore.DB{st, b.open(t, clk.now)} {
				replicas = append(replicas, analytics.New(analytics.Options{Store: s, Config: func() *config.Config { return cfg }, Now: clk.now}))
			}
			chat := func(id string, at time.Time, accepted, finished time.Duration) {
				clk.set(at)
				c, err := st.UpsertContact(ctx, store.Contact{ID: "k-" + id, Channel: "website", ExternalID: id})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := st.CreateConversation(ctx, store.Conversation{ID: id, Channel: "website", Queue: "q", ContactID: c.ID,
					State: store.StateQueued}, store.Activity{Type: "ChatStarted"}); err != nil {
					t.Fatal(err)
				}
				for _, s := range []struct {
					after time.Duration
					typ   string
				}{{accepted, "ChatAccepted"}, {finished, "ChatFinished"}} {
					if s.after > 0 {
						clk.set(at.Add(s.after))
						if err := st.AppendActivity(ctx, store.Activity{ConversationID: id, Type: s.typ}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			// May 6 in Berlin runs from 22:00 UTC on May 5 to 22:00 UTC on May 6.
			chat("early", time.Date(2030, 5, 5, 22, 30, 0, 0, time.UTC), 0, 0)                          // 00:30 in Berlin: May 6, never taken
			chat("late", time.Date(2030, 5, 6, 21, 45, 0, 0, time.UTC), 30*time.Second, 10*time.Minute) // 23:45: May 6
			chat("next", time.Date(2030, 5, 6, 22, 10, 0, 0, time.UTC), time.Minute, 0)                 // 00:10 on May 7

			steps := []struct {
				at   time.Time
				want []string // the days each replica records
			}{
				{time.Date(2030, 5, 6, 23, 59, 0, 0, berlin), []string{"2030-05-05"}}, // first start: yesterday's
				{time.Date(2030, 5, 6, 23, 59, 30, 0, berlin), nil},
				{time.Date(2030, 5, 7, 0, 0, 30, 0, berlin), []string{"2030-05-06"}}, // just past midnight in Berlin
				{time.Date(2030, 5, 7, 1, 0, 0, 0, berlin), nil},
			}
			for _, s := range steps {
				clk.set(s.at)
				var got []string
				var mu sync.Mutex
				var wg sync.WaitGroup
				for _, r := range replicas {
					wg.Go(func() {
						day, err := r.Step(ctx)
						if err != nil {
							t.Error(err)
						}
						if day != "" {
							mu.Lock()
							got = append(got, day)
							mu.Unlock()
						}
					})
				}
				wg.Wait()
				// Each replica computes the day once; the store keeps one event.
				if len(got) != 2*len(s.want) {
					t.Errorf("at %s the replicas recorded %v, want %v from each", s.at, got, s.want)
				}
			}
			evs, err := st.Events(ctx, 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			var figures []analytics.Figures
			for _, e := range evs {
				if e.Type != "DailyAnalytics" {
					continue
				}
				var f analytics.Figures
				if err := json.Unmarshal([]byte(e.Detail), &f); err != nil {
					t.Fatal(err)
				}
				figures = append(figures, f)
			}
			if len(figures) != 2 {
				t.Fatalf("%d DailyAnalytics events, want one per day (2): %+v", len(figures), figures)
			}
			may6 := figures[1]
			if may6.Day != "2030-05-06" || may6.TimeZone != "Europe/Berlin" || may6.Chats != 2 || may6.MissedChats != 1 ||
				may6.MedianWait == nil || *may6.MedianWait != 30 || may6.MedianHandling == nil || *may6.MedianHandling != 570 {
				data, _ := json.Marshal(may6)
				t.Errorf("May 6: %s, want Berlin's day: 2 chats, 1 missed, a 30s wait, 570s handled", data)
			}
		})
	}
}

func closing(t *testing.T, s *sqlstore.DB, err error) *sqlstore.DB {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}
