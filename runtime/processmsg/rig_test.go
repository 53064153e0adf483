package processmsg_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/processmsg"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

const (
	// botToken is the bot token of config/samples/secrets.yaml.
	botToken     = "123456789:REPLACE-with-the-token-from-BotFather"
	processToken = "process-token-0123456789abcdef"
)

// rig is a runtime's messaging path in process, with the process-message API over
// real HTTP: the samples with their Telegram channel pointed at a fake Bot API, a
// real store, engine, channels manager and outbox.
type rig struct {
	st   *sqlstore.DB
	cfg  *config.Config
	fake *telegramfake.Server
	srv  *httptest.Server
	svc  *processmsg.Service
}

// newRig starts the rig; without the process API when off.
func newRig(t *testing.T, off bool) *rig {
	t.Helper()
	ctx := context.Background()
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	if !off {
		cfg.LiveChat.ProcessAPI = &config.ProcessAPI{TokenSecret: config.SecretKeyReference{Name: "process-api", Key: "token"}}
	}
	r := &rig{cfg: cfg, fake: telegramfake.New(telegramfake.Bot{Token: botToken})}
	t.Cleanup(r.fake.Close)
	for i := range cfg.Channels {
		if cfg.Channels[i].Telegram != nil {
			cfg.Channels[i].Telegram.APIBaseURL = r.fake.URL
		}
	}
	if r.st, err = sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{}); err != nil {
		t.Fatal(err)
	}
	secret := func(name, key string) []byte {
		switch name + "/" + key {
		case "telegram-bot/token":
			return []byte(botToken)
		case "process-api/token":
			return []byte(processToken)
		}
		return nil
	}
	var mg *channels.Manager
	engine := chat.New(r.st, hub.New(), cfg, chat.Options{Outbound: func(ch *config.Channel, c store.Conversation, m *store.Message) {
		mg.Outbound(ch, c, m)
	}})
	provider := telegram.Provider
	provider.Limits = channels.Limits{}
	mg = channels.NewManager(channels.Options{Store: r.st, Engine: engine, PollWait: time.Second, SendBackoff: 20 * time.Millisecond,
		Providers: map[config.ChannelType]channels.Provider{config.ChannelTelegram: provider}})
	r.svc = processmsg.New(processmsg.Options{Store: r.st, Engine: engine, Channels: mg, Secret: secret, WaitPoll: 5 * time.Millisecond})
	ob := outbox.New(r.st, outbox.Options{PollInterval: 100 * time.Millisecond, OnFailed: func(j store.Job) { mg.Failed(j); r.svc.Failed(j) }})
	if err := mg.Register(ob); err != nil {
		t.Fatal(err)
	}
	if err := r.svc.Register(ob); err != nil {
		t.Fatal(err)
	}
	mg.Apply(ctx, cfg, secret)
	ob.Start()
	srv := api.New(api.Options{Engine: engine, Verifier: auth.NewTokens(nil), ProcessMessages: r.svc})
	r.srv = httptest.NewServer(srv)
	t.Cleanup(func() {
		r.srv.Close()
		_ = ob.Close(context.Background())
		r.svc.Close()
		mg.Close()
		engine.Close()
		_ = r.st.Close()
	})
	return r
}

// telegramChat has a Telegram user write to the bot and returns their contact and
// conversation.
func (r *rig) telegramChat(t *testing.T, userID int64) (contact, conversation string) {
	t.Helper()
	ctx := context.Background()
	r.fake.Queue(r.fake.TextUpdate(telegramfake.User{ID: userID, FirstName: "Vera"}, "is my claim accepted?"))
	waitFor(t, "the Telegram user's conversation", func() bool {
		c, err := r.st.ContactByExternalID(ctx, "telegram", strconv.FormatInt(userID, 10))
		if err != nil {
			return false
		}
		convs, err := r.st.Conversations(ctx, store.ConversationFilter{ContactID: c.ID})
		if err != nil || len(convs) == 0 {
			return false
		}
		contact, conversation = c.ID, convs[0].ID
		return true
	})
	return contact, conversation
}

// sentTexts are the texts the fake Bot API accepted.
func (r *rig) sentTexts() []string {
	var out []string
	for _, s := range r.fake.Sent() {
		out = append(out, s.Text)
	}
	return out
}

// post sends a process message with the token and headers (name, value, ...).
func (r *rig) post(t *testing.T, token, body string, headers ...string) (int, string) {
	t.Helper()
	return r.do(t, http.MethodPost, "/api/v1/process-messages", token, body, headers...)
}

func (r *rig) do(t *testing.T, method, path, token, body string, headers ...string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, r.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(res.Body)
	return res.StatusCode, b.String()
}

// status reads a process message's status over the API.
func (r *rig) status(t *testing.T, id string) processmsg.Status {
	t.Helper()
	code, body := r.do(t, http.MethodGet, "/api/v1/process-messages/"+id, processToken, "")
	if code != http.StatusOK {
		t.Fatalf("GET process message %s: %d %s", id, code, body)
	}
	return decode[processmsg.Status](t, body)
}

// final waits until a process message is no longer pending and returns its status.
func (r *rig) final(t *testing.T, id string) processmsg.Status {
	t.Helper()
	var st processmsg.Status
	waitFor(t, "process message "+id+" to be sent or to fail", func() bool {
		st = r.status(t, id)
		return st.State != processmsg.StatePending
	})
	return st
}

func decode[T any](t *testing.T, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("decoding %s: %v", body, err)
	}
	return v
}

// waitFor polls cond until it holds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// body is a request body to the contact, with the error handling given as JSON.
func body(contact, text, onError string) string {
	if onError == "" {
		onError = "{}"
	}
	return fmt.Sprintf(`{"recipient": {"contactID": %q}, "text": %q, "onError": %s}`, contact, text, onError)
}
