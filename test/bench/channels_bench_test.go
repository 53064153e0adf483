package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// benchBotToken is the sample bot's token (config/samples/secrets.yaml).
const benchBotToken = "123456789:REPLACE-with-the-token-from-BotFather"

// messaging is one runtime's messaging path in process, on a store: the sample
// configuration with its Telegram channel on a fake Bot API, the engine, the
// channels manager behind an HTTP server, and the outbox.
type messaging struct {
	st      *sqlstore.DB
	engine  *chat.Engine
	mg      *channels.Manager
	ob      *outbox.Outbox
	fake    *telegramfake.Server
	webhook string
}

func newMessaging(b *testing.B, st *sqlstore.DB) *messaging {
	cfg, err := samples.Config()
	if err != nil {
		b.Fatal(err)
	}
	m := &messaging{st: st, fake: telegramfake.New(telegramfake.Bot{Token: benchBotToken})}
	b.Cleanup(m.fake.Close)
	// A public URL: updates come by webhook. Every operator may hold every chat.
	cfg.LiveChat.PublicURL = "https://chat.example.test"
	cfg.LiveChat.SimultaneousChats = 1 << 20
	for i := range cfg.People {
		cfg.People[i].MaxChats = 1 << 20
	}
	for i := range cfg.Channels {
		if t := cfg.Channels[i].Telegram; t != nil {
			t.APIBaseURL = m.fake.URL
		}
	}
	m.engine = chat.New(st, hub.New(), cfg, chat.Options{Outbound: func(ch *config.Channel, c store.Conversation, msg *store.Message) {
		m.mg.Outbound(ch, c, msg)
	}})
	// Telegram allows a bot 30 messages a second; the benchmark measures the
	// machinery, so the provider's limits are lifted.
	provider := telegram.Provider
	provider.Limits = channels.Limits{}
	m.mg = channels.NewManager(channels.Options{Store: st, Engine: m.engine,
		Providers: map[config.ChannelType]channels.Provider{config.ChannelTelegram: provider}})
	m.ob = outbox.New(st, outbox.Options{OnFailed: m.mg.Failed})
	if err := m.mg.Register(m.ob); err != nil {
		b.Fatal(err)
	}
	m.mg.Apply(context.Background(), cfg, func(name, key string) []byte {
		if name == "telegram-bot" {
			return []byte(benchBotToken)
		}
		return nil
	})
	m.ob.Start()
	mux := http.NewServeMux()
	mux.Handle("POST /webhooks/{channel}", m.mg)
	srv := httptest.NewServer(mux)
	m.webhook = srv.URL + "/webhooks/telegram"
	b.Cleanup(func() {
		srv.Close()
		_ = m.ob.Close(context.Background())
		m.mg.Close()
		m.engine.Close()
	})
	return m
}

// benchClient posts webhooks over kept-alive connections.
var benchClient = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}

// inbound posts n Telegram updates from users to the webhook from 32 goroutines, each
// answered only after it was stored, and reports updates per second.
func (m *messaging) inbound(b *testing.B, users, n int) {
	updates := make([][]byte, n)
	for i := range updates {
		u := telegramfake.User{ID: int64(100000 + i%users), FirstName: "User"}
		updates[i] = m.fake.TextUpdate(u, "message "+strconv.Itoa(i))
	}
	secret := telegram.SecretToken([]byte(benchBotToken))
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Int64
	start, cpu := time.Now(), processCPU()
	for range 32 {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				req, _ := http.NewRequest(http.MethodPost, m.webhook, bytes.NewReader(updates[i]))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set(telegram.SecretHeader, secret)
				res, err := benchClient.Do(req)
				if err != nil || res.StatusCode != http.StatusOK {
					failed.Add(1)
					if res != nil {
						res.Body.Close()
					}
					continue
				}
				res.Body.Close()
			}
		})
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), processCPU()-cpu
	if failed.Load() > 0 {
		b.Fatalf("%d of %d webhooks failed", failed.Load(), n)
	}
	b.Logf("inbound webhooks: %d updates from %d users in %.2fs = %.0f/s (verify, parse, commit, 200); process CPU %.2f cores",
		n, users, elapsed.Seconds(), float64(n)/elapsed.Seconds(), cpu.Seconds()/elapsed.Seconds())
}

// openChats gives every Telegram user of the inbound run to operator bob and
// returns the conversations.
func (m *messaging) openChats(b *testing.B, users int) []string {
	ctx := context.Background()
	convs := make([]string, users)
	for i := range users {
		c, err := m.st.ContactByExternalID(ctx, "telegram", strconv.Itoa(100000+i))
		if err != nil {
			b.Fatal(err)
		}
		cs, err := m.st.Conversations(ctx, store.ConversationFilter{ContactID: c.ID})
		if err != nil || len(cs) != 1 {
			b.Fatalf("conversations of user %d: %v %v", i, cs, err)
		}
		if _, err := m.engine.Take(ctx, "bob", cs[0].ID); err != nil {
			b.Fatal(err)
		}
		convs[i] = cs[0].ID
	}
	return convs
}

// outbound has bob reply n times over the chats, from 32 goroutines, paced at rate a
// second (0: as fast as they go), and waits until the fake Bot API got every reply.
// Latency runs from the reply's scheduled time (paced) or its call (as fast as
// possible) to the fake accepting it.
func (m *messaging) outbound(b *testing.B, convs []string, n, rate int) {
	started := make([]time.Time, n)
	var mu sync.Mutex
	var lat []time.Duration
	all := make(chan struct{})
	m.fake.OnSend(func(s telegramfake.Sent) {
		var seq int
		if _, err := fmt.Sscanf(s.Text, "reply %d", &seq); err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		lat = append(lat, s.At.Sub(started[seq]))
		if len(lat) == n {
			close(all)
		}
	})
	defer m.fake.OnSend(nil)
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	start, cpu := time.Now(), processCPU()
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				due := time.Now()
				if rate > 0 {
					due = start.Add(time.Duration(i) * time.Second / time.Duration(rate))
					time.Sleep(time.Until(due))
				}
				mu.Lock()
				started[i] = due
				mu.Unlock()
				if _, err := m.engine.Reply(ctx, "bob", convs[i%len(convs)], "reply "+strconv.Itoa(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case <-all:
	case <-time.After(5 * time.Minute):
		b.Fatalf("the fake Bot API got %d of %d replies", len(lat), n)
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(lat)
	mode := "as fast as possible"
	if rate > 0 {
		mode = fmt.Sprintf("paced at %d/s", rate)
	}
	b.Logf("outbound %s: %d replies in %.2fs = %.0f/s; reply→Bot API p50 %s p99 %s max %s; process CPU %.2f cores",
		mode, n, elapsed.Seconds(), float64(n)/elapsed.Seconds(), lat[len(lat)/2].Round(100*time.Microsecond),
		lat[len(lat)*99/100].Round(100*time.Microsecond), lat[len(lat)-1].Round(100*time.Microsecond), cpu.Seconds()/elapsed.Seconds())
}

// BenchmarkChannels measures the messenger path with Telegram, on SQLite and
// PostgreSQL: inbound webhooks per second, operator replies sent through the outbox per
// second, and the latency from reply to the Bot API at 1,000 replies a second.
func BenchmarkChannels(b *testing.B) {
	const users, updates, replies = 2000, 20000, 20000
	run := func(b *testing.B, st *sqlstore.DB) {
		m := newMessaging(b, st)
		m.inbound(b, users, updates)
		convs := m.openChats(b, users)
		m.outbound(b, convs, replies, 0)
		m.outbound(b, convs, 10000, 1000)
	}
	for _, full := range []bool{false, true} {
		// storage.embedded.durability: Normal (the default), and Full, which syncs the
		// log at every group commit.
		name := map[bool]string{false: "SQLite", true: "SQLiteFullDurability"}[full]
		b.Run(name, func(b *testing.B) {
			st, err := sqlstore.OpenSQLite(context.Background(), b.TempDir(), sqlstore.Options{FullDurability: full})
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			run(b, st)
		})
	}
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
