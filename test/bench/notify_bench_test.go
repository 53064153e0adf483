package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/notify/providers"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// webhookSink receives notification webhooks and times each from its event's
// recording to its arrival, matching them by the event's text (its sequence number).
type webhookSink struct {
	srv      *httptest.Server
	mu       sync.Mutex
	recorded map[string]time.Time // event id → when it was recorded
	lat      []time.Duration
	seen     map[string]int
	want     int
	full     chan struct{}
}

func newWebhookSink(b *testing.B) *webhookSink {
	s := &webhookSink{}
	s.srv = httptest.NewServer(matchByDetail(s))
	b.Cleanup(s.srv.Close)
	return s
}

func (s *webhookSink) expect(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recorded, s.lat, s.seen, s.want, s.full = map[string]time.Time{}, nil, map[string]int{}, n, make(chan struct{})
}

// notifyConfig is the sample configuration with one policy: every ChatStarted goes to
// a webhook.
func notifyConfig(b *testing.B, url string) *config.Config {
	cfg, err := samples.Config()
	if err != nil {
		b.Fatal(err)
	}
	cfg.Policies = []config.Policy{{Name: "bench", Retry: config.Retry{Attempts: 3},
		Providers: []config.NotificationProvider{{Name: "hook", Webhook: &config.WebhookProvider{
			Webhook: config.Webhook{URL: url, SecretRef: &config.SecretKeyReference{Name: "webhook-signing", Key: "notifications"},
				Timeout: config.Duration{Duration: 10 * time.Second}}, Format: "JSON"}}},
		Rules: []config.Rule{{Name: "started", Events: []config.EventType{"ChatStarted"},
			Recipients: config.Recipients{Kinds: []config.RecipientKind{"Supervisors"}, Strategy: config.RecipientsAll},
			Send:       []config.SendSpec{{Provider: "hook"}}}}}}
	return cfg
}

// notifyRun records n events (32 writers, paced at rate a second when rate > 0) and
// waits until the sink has every delivery.
func notifyRun(b *testing.B, st *sqlstore.DB, sink *webhookSink, n, rate int) {
	sink.expect(n)
	ctx := context.Background()
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for range 32 {
		wg.Go(func() {
			for {
				next.Lock()
				seq := i
				i++
				next.Unlock()
				if seq >= n {
					return
				}
				if rate > 0 {
					time.Sleep(time.Until(start.Add(time.Duration(seq) * time.Second / time.Duration(rate))))
				}
				// Timed from just before the event is recorded: its delivery may arrive
				// before the call returns.
				sink.mu.Lock()
				sink.recorded[strconv.Itoa(seq)] = time.Now()
				sink.mu.Unlock()
				if err := st.AppendEvents(ctx, store.Event{Type: "ChatStarted", Detail: strconv.Itoa(seq)}); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-sink.full:
	case <-time.After(5 * time.Minute):
		b.Fatalf("the sink got %d of %d", len(sink.lat), n)
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu
	time.Sleep(200 * time.Millisecond)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	lat := slices.Clone(sink.lat)
	slices.Sort(lat)
	dups := 0
	for _, c := range sink.seen {
		dups += c - 1
	}
	mode := "as fast as possible"
	if rate > 0 {
		mode = fmt.Sprintf("paced at %d/s", rate)
	}
	b.Logf("notifications %s: %d events → %d webhooks in %.2fs = %.0f/s; event→webhook p50 %s p99 %s max %s; duplicates %d; process CPU %.2f cores",
		mode, n, len(lat), elapsed.Seconds(), float64(n)/elapsed.Seconds(), lat[len(lat)/2].Round(100*time.Microsecond),
		lat[len(lat)*99/100].Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond), dups, cpu.Seconds()/elapsed.Seconds())
}

// BenchmarkNotify measures the whole notification path on SQLite and PostgreSQL:
// events recorded, followed by the dispatcher, planned by the rules, stored as
// delivery jobs with the cursor, sent by the outbox through the webhook provider
// (signed JSON) to a local receiver. The receiver matches deliveries to events by the
// event's detail, which carries its sequence number.
func BenchmarkNotify(b *testing.B) {
	run := func(b *testing.B, st *sqlstore.DB) {
		sink := newWebhookSink(b)
		cfg := notifyConfig(b, sink.srv.URL)
		current := func() *config.Config { return cfg }
		secret := func(config.SecretKeyReference) []byte { return []byte("bench-signing-key") }
		deliverer := dispatch.NewDeliverer(st, current, func(p config.NotificationProvider) (notify.Provider, error) {
			return providers.New(p, providers.Options{Secret: secret, HTTP: benchClient})
		}, nil)
		ob := outbox.New(st, outbox.Options{OnFailed: deliverer.Failed})
		if err := ob.Handle(dispatch.KindDeliver, deliverer.Kind()); err != nil {
			b.Fatal(err)
		}
		d := dispatch.New(dispatch.Options{Store: st, Config: current})
		ob.Start()
		d.Start()
		defer func() { d.Close(); _ = ob.Close(context.Background()); deliverer.Close() }()
		notifyRun(b, st, sink, 20000, 0)
		notifyRun(b, st, sink, 10000, 1000)
	}
	b.Run("SQLite", func(b *testing.B) {
		st, err := sqlstore.OpenSQLite(context.Background(), b.TempDir(), sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st)
	})
	b.Run("Postgres", func(b *testing.B) {
		pg, uri, err := pgtest.StartWithDatabase()
		if err != nil {
			b.Fatal(err)
		}
		defer pg.Stop()
		st, err := sqlstore.OpenPostgres(context.Background(), uri, sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		run(b, st)
	})
}

// matchByDetail is the sink's handler: the webhook's data carries the event's text
// (its detail), which is the sequence number the run recorded the event under.
func matchByDetail(s *webhookSink) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var v map[string]any
		_ = json.Unmarshal(body, &v)
		seq := findText(v)
		s.mu.Lock()
		s.seen[seq]++
		if at, ok := s.recorded[seq]; ok && s.seen[seq] == 1 {
			s.lat = append(s.lat, time.Since(at))
			if len(s.lat) == s.want {
				close(s.full)
			}
		}
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
}

// findText is the event's detail: data.text of the webhook's JSON.
func findText(v map[string]any) string {
	data, _ := v["data"].(map[string]any)
	t, _ := data["text"].(string)
	return t
}
