package channels_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// telegramChannel returns the configuration's Telegram channel.
func telegramChannel(cfg *config.Config) *config.Channel {
	for i := range cfg.Channels {
		if cfg.Channels[i].Type == config.ChannelTelegram {
			return &cfg.Channels[i]
		}
	}
	return nil
}

// clone copies a configuration deeply enough to change its Telegram channel.
func clone(cfg *config.Config) *config.Config {
	c := *cfg
	c.Channels = append([]config.Channel(nil), cfg.Channels...)
	for i := range c.Channels {
		if t := c.Channels[i].Telegram; t != nil {
			tt := *t
			c.Channels[i].Telegram = &tt
		}
	}
	return &c
}

func serveWebhook(r *rig, channel string, body []byte, secret string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/"+channel, bytes.NewReader(body))
	req.SetPathValue("channel", channel)
	if secret != "" {
		req.Header.Set(telegram.SecretHeader, secret)
	}
	rec := httptest.NewRecorder()
	r.mg.ServeHTTP(rec, req)
	return rec
}

func TestWebhookAnswers(t *testing.T) {
	r := newRig(t, openSQLite(t), rigOptions{publicURL: "https://chat.example.test"})
	secret := telegram.SecretToken([]byte(sampleToken))
	user := telegramfake.User{ID: 99, FirstName: "Max"}
	tests := []struct {
		name     string
		channel  string
		body     []byte
		secret   string
		want     int
		stored   int
		inactive bool
	}{
		{name: "unknown channel", channel: "nope", body: r.fake.TextUpdate(user, "a"), secret: secret, want: 404},
		{name: "a widget channel takes no webhooks", channel: "website", body: r.fake.TextUpdate(user, "a"), secret: secret, want: 404},
		{name: "forged", channel: "telegram", body: r.fake.TextUpdate(user, "a"), secret: "forged", want: 403},
		{name: "malformed", channel: "telegram", body: []byte("{"), secret: secret, want: 400},
		{name: "too large", channel: "telegram", body: bytes.Repeat([]byte("x"), channels.MaxWebhookBytes+1), secret: secret, want: 413},
		{name: "stored", channel: "telegram", body: r.fake.TextUpdate(user, "stored once"), secret: secret, want: 200, stored: 1},
		{name: "switched off: taken and dropped", channel: "telegram", body: r.fake.TextUpdate(user, "dropped"), secret: secret, want: 200, inactive: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.inactive {
				cfg := clone(r.cfg)
				telegramChannel(cfg).Active = false
				r.mg.Apply(context.Background(), cfg, secretOf)
			}
			rec := serveWebhook(r, tt.channel, tt.body, tt.secret)
			if rec.Code != tt.want {
				t.Fatalf("answer %d %q, want %d", rec.Code, rec.Body.String(), tt.want)
			}
			if strings.Contains(rec.Body.String(), sampleToken) || strings.Contains(rec.Body.String(), secret) {
				t.Fatalf("the answer shows a secret: %q", rec.Body.String())
			}
			if c, err := r.st.ContactByExternalID(context.Background(), "telegram", "99"); tt.stored > 0 && err != nil {
				t.Fatal(err)
			} else if err == nil {
				convs, _ := r.st.Conversations(context.Background(), store.ConversationFilter{ContactID: c.ID})
				msgs, _ := r.st.Messages(context.Background(), convs[0].ID, 0, 0)
				if len(msgs) != 1 {
					t.Fatalf("%d messages stored, want the one accepted message", len(msgs))
				}
			}
		})
	}
}

func TestWebhookMetrics(t *testing.T) {
	st := openSQLite(t)
	reg := prometheus.NewRegistry()
	r := newRig(t, st, rigOptions{publicURL: "https://chat.example.test"})
	// A second manager on the same store, with metrics, serving the same channel.
	mg := channels.NewManager(channels.Options{Store: st, Engine: r.engine, Metrics: reg,
		Providers: map[config.ChannelType]channels.Provider{config.ChannelTelegram: telegram.Provider}})
	defer mg.Close()
	mg.Apply(context.Background(), r.cfg, secretOf)
	for _, secret := range []string{"", "bad", telegram.SecretToken([]byte(sampleToken))} {
		req := httptest.NewRequest(http.MethodPost, "/webhooks/telegram", bytes.NewReader(r.fake.TextUpdate(telegramfake.User{ID: 5}, "hi")))
		req.SetPathValue("channel", "telegram")
		req.Header.Set(telegram.SecretHeader, secret)
		mg.ServeHTTP(httptest.NewRecorder(), req)
	}
	want := `
# HELP switchboard_runtime_channel_webhook_requests_total Webhook requests from messenger providers by channel type and result: ok, inactive, malformed, forged, stale, too_large, error (not stored; the provider retries), unknown_channel.
# TYPE switchboard_runtime_channel_webhook_requests_total counter
switchboard_runtime_channel_webhook_requests_total{result="forged",type="Telegram"} 2
switchboard_runtime_channel_webhook_requests_total{result="ok",type="Telegram"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "switchboard_runtime_channel_webhook_requests_total"); err != nil {
		t.Fatal(err)
	}
}

// TestConnectedGaugeLeavesInactiveChannelsOut: switchboard_runtime_channel_connected is
// 1 for a connected channel and has no series for one switched off, which is not a
// disconnection to alert on.
func TestConnectedGaugeLeavesInactiveChannelsOut(t *testing.T) {
	st := openSQLite(t)
	reg := prometheus.NewRegistry()
	r := newRig(t, st, rigOptions{publicURL: "https://chat.example.test"})
	mg := channels.NewManager(channels.Options{Store: st, Engine: r.engine, Metrics: reg,
		Providers: map[config.ChannelType]channels.Provider{config.ChannelTelegram: telegram.Provider}})
	defer mg.Close()
	connected := func() (float64, bool) {
		families, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			for _, m := range f.GetMetric() {
				if f.GetName() == "switchboard_runtime_channel_connected" && m.GetLabel()[0].GetValue() == "telegram" {
					return m.GetGauge().GetValue(), true
				}
			}
		}
		return 0, false
	}
	mg.Apply(context.Background(), r.cfg, secretOf)
	waitFor(t, "connected = 1", 10*time.Second, func() bool { v, ok := connected(); return ok && v == 1 })
	off := clone(r.cfg)
	telegramChannel(off).Active = false
	mg.Apply(context.Background(), off, secretOf)
	waitFor(t, "no connected series for the channel switched off", 10*time.Second, func() bool { _, ok := connected(); return !ok })
}

// TestRegistrationFollowsTheConfiguration: the webhook is registered once per
// setting, again when the token changes, removed when the channel is switched off or
// deleted; and the status says so.
func TestRegistrationFollowsTheConfiguration(t *testing.T) {
	statuses := make(chan channels.Status, 64)
	r := newRig(t, openSQLite(t), rigOptions{publicURL: "https://chat.example.test", statuses: statuses})
	ctx := context.Background()
	sets := func() int { _, n, _ := r.fake.Webhook(); return n }
	deletes := func() int { _, _, n := r.fake.Webhook(); return n }
	waitStatus := func(reason string) channels.Status {
		t.Helper()
		deadline := time.After(10 * time.Second)
		for {
			select {
			case s := <-statuses:
				if s.Reason == reason {
					return s
				}
			case <-deadline:
				t.Fatalf("no status with reason %s", reason)
			}
		}
	}

	s := waitStatus(channels.ReasonConnected)
	if !s.Connected || s.WebhookURL != "https://chat.example.test/webhooks/telegram" {
		t.Fatalf("status %+v", s)
	}
	r.mg.Apply(ctx, r.cfg, secretOf) // the same configuration again
	r.mg.Apply(ctx, clone(r.cfg), secretOf)
	time.Sleep(300 * time.Millisecond)
	if n := sets(); n != 1 {
		t.Fatalf("%d setWebhook calls for one configuration, want 1", n)
	}

	off := clone(r.cfg)
	telegramChannel(off).Active = false
	r.mg.Apply(ctx, off, secretOf)
	waitFor(t, "deleteWebhook when switched off", 10*time.Second, func() bool { return deletes() == 1 })
	if s := waitStatus(channels.ReasonInactive); s.Connected {
		t.Fatalf("an inactive channel reported connected: %+v", s)
	}

	r.mg.Apply(ctx, r.cfg, secretOf) // on again
	waitFor(t, "setWebhook when switched on again", 10*time.Second, func() bool { return sets() == 2 })

	deleted := clone(r.cfg)
	deleted.Channels = nil
	for _, ch := range r.cfg.Channels {
		if ch.Type != config.ChannelTelegram {
			deleted.Channels = append(deleted.Channels, ch)
		}
	}
	r.mg.Apply(ctx, deleted, secretOf)
	waitFor(t, "deleteWebhook when the Channel is deleted", 10*time.Second, func() bool { return deletes() == 2 })
	if len(r.mg.Statuses()) != 0 {
		t.Fatalf("a deleted channel still has a status: %+v", r.mg.Statuses())
	}
}

func TestStatusSaysWhatIsWrong(t *testing.T) {
	statuses := make(chan channels.Status, 64)
	r := newRig(t, openSQLite(t), rigOptions{statuses: statuses})
	ctx := context.Background()
	wrong := func(name, key string) []byte {
		if name == "telegram-bot" {
			return []byte("123456789:a-revoked-token")
		}
		return nil
	}
	missing := func(string, string) []byte { return nil }
	for _, tt := range []struct {
		name    string
		secret  func(string, string) []byte
		reason  string
		message string
	}{
		{"a revoked token", wrong, channels.ReasonInvalidCredentials, "rejects the bot token"},
		{"no token", missing, channels.ReasonInvalidCredentials, `Secret "telegram-bot" has no bot token under key "token"`},
		{"a working token without a public URL", secretOf, channels.ReasonPolling, "no public https URL"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r.mg.Apply(ctx, clone(r.cfg), tt.secret)
			deadline := time.After(10 * time.Second)
			for {
				select {
				case s := <-statuses:
					if s.Reason != tt.reason {
						continue
					}
					if !strings.Contains(s.Message, tt.message) || strings.Contains(s.Message, "a-revoked-token") {
						t.Fatalf("status message %q", s.Message)
					}
					return
				case <-deadline:
					t.Fatalf("no %s status", tt.reason)
				}
			}
		})
	}
}

// TestSendsToOptedOutContactsFail: a contact who opted out gets nothing, and the
// operator sees why.
func TestSendsToOptedOutContactsFail(t *testing.T) {
	r := newRig(t, openSQLite(t), rigOptions{})
	ctx := context.Background()
	conv := r.chatWith(t, 31, "alice")
	c, _ := r.st.ContactByExternalID(ctx, "telegram", "31")
	if err := r.st.SetOptedOut(ctx, c.ID, true); err != nil {
		t.Fatal(err)
	}
	m, err := r.engine.Reply(ctx, "alice", conv, "hello?")
	if err != nil {
		t.Fatal(err)
	}
	if m.Delivery != store.DeliveryQueued {
		t.Fatalf("a messenger reply starts %q, want queued", m.Delivery)
	}
	waitFor(t, "the failure recorded", 10*time.Second, func() bool {
		msgs, _ := r.st.Messages(ctx, conv, 0, 0)
		last := msgs[len(msgs)-1]
		return last.Delivery == store.DeliveryFailed && strings.Contains(last.DeliveryError, "opted out")
	})
	if len(r.fake.Sent()) != 0 {
		t.Fatal("a message went to a contact who opted out")
	}
}
