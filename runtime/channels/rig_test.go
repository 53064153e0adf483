package channels_test

import (
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

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

// sampleToken is the bot token of config/samples/secrets.yaml.
const sampleToken = "123456789:REPLACE-with-the-token-from-BotFather"

// rig is one runtime's messaging path, in process: the sample configuration with its
// Telegram channel pointed at a fake Bot API, a real store, engine, channels manager
// and outbox.
type rig struct {
	st     *sqlstore.DB
	engine *chat.Engine
	mg     *channels.Manager
	ob     *outbox.Outbox
	fake   *telegramfake.Server
	cfg    *config.Config
}

type rigOptions struct {
	publicURL string
	// fake, when set, is shared with another rig (a second replica).
	fake *telegramfake.Server
	// statuses hears the manager's status changes.
	statuses chan channels.Status
	// maxChats, when set, is every operator's limit.
	maxChats int32
	// unlimited lifts Telegram's rate limits, for tests about something else.
	unlimited bool
}

func secretOf(name, key string) []byte {
	if name == "telegram-bot" && key == "token" {
		return []byte(sampleToken)
	}
	return nil
}

func newRig(t testing.TB, st *sqlstore.DB, o rigOptions) *rig {
	t.Helper()
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	r := &rig{st: st, fake: o.fake, cfg: cfg}
	if r.fake == nil {
		r.fake = telegramfake.New(telegramfake.Bot{Token: sampleToken})
		t.Cleanup(r.fake.Close)
	}
	cfg.LiveChat.PublicURL = o.publicURL
	if o.maxChats > 0 {
		cfg.LiveChat.SimultaneousChats = o.maxChats
		for i := range cfg.People {
			cfg.People[i].MaxChats = o.maxChats
		}
	}
	for i := range cfg.Channels {
		if cfg.Channels[i].Telegram != nil {
			cfg.Channels[i].Telegram.APIBaseURL = r.fake.URL
		}
	}
	r.engine = chat.New(st, hub.New(), cfg, chat.Options{Outbound: func(ch *config.Channel, c store.Conversation, m *store.Message) {
		r.mg.Outbound(ch, c, m)
	}})
	var onStatus func(channels.Status)
	if o.statuses != nil {
		onStatus = func(s channels.Status) { o.statuses <- s }
	}
	provider := telegram.Provider
	if o.unlimited {
		provider.Limits = channels.Limits{}
	}
	r.mg = channels.NewManager(channels.Options{Store: st, Engine: r.engine, OnStatus: onStatus,
		Providers: map[config.ChannelType]channels.Provider{config.ChannelTelegram: provider},
		PollWait:  time.Second, SendBackoff: 20 * time.Millisecond})
	r.ob = outbox.New(st, outbox.Options{PollInterval: 100 * time.Millisecond, OnFailed: r.mg.Failed})
	if err := r.mg.Register(r.ob); err != nil {
		t.Fatal(err)
	}
	r.mg.Apply(context.Background(), cfg, secretOf)
	r.ob.Start()
	t.Cleanup(func() {
		_ = r.ob.Close(context.Background())
		r.mg.Close()
		r.engine.Close()
	})
	return r
}

func openSQLite(t testing.TB) *sqlstore.DB {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st
}

// waitFor polls cond until it holds.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// chatWith has a Telegram user write to the bot (through long polling), waits for
// the conversation, and has the operator take it. It returns the conversation id.
func (r *rig) chatWith(t testing.TB, userID int64, operator string) string {
	t.Helper()
	ctx := context.Background()
	r.fake.Queue(r.fake.TextUpdate(telegramfake.User{ID: userID, FirstName: "User " + strconv.FormatInt(userID, 10)}, "hello"))
	var conv string
	waitFor(t, fmt.Sprintf("the conversation of Telegram user %d", userID), 10*time.Second, func() bool {
		c, err := r.st.ContactByExternalID(ctx, "telegram", strconv.FormatInt(userID, 10))
		if err != nil {
			return false
		}
		convs, err := r.st.Conversations(ctx, store.ConversationFilter{ContactID: c.ID})
		if err != nil || len(convs) == 0 {
			return false
		}
		conv = convs[0].ID
		return true
	})
	if _, err := r.engine.Take(ctx, operator, conv); err != nil {
		t.Fatalf("%s taking %s: %v", operator, conv, err)
	}
	return conv
}
