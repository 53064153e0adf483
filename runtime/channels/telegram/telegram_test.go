package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

const token = "7000000001:AAHfakeTOKENfor-tests_only123456789"

func newAdapter(t *testing.T, fake *telegramfake.Server, tok string) *Adapter {
	t.Helper()
	ch := &config.Channel{Name: "tg", Type: config.ChannelTelegram, Telegram: &config.TelegramChannel{
		BotTokenSecretRef: config.SecretKeyReference{Name: "tg", Key: "token"}, APIBaseURL: fake.URL}}
	a, err := New(channels.Spec{Channel: ch, Secret: func(config.SecretKeyReference) []byte { return []byte(tok) },
		HTTP: &http.Client{Timeout: 5 * time.Second}, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return a.(*Adapter)
}

func newFake(t *testing.T) *telegramfake.Server {
	f := telegramfake.New(telegramfake.Bot{Token: token})
	t.Cleanup(f.Close)
	return f
}

func TestNewNeedsAToken(t *testing.T) {
	ch := &config.Channel{Name: "tg", Type: config.ChannelTelegram, Telegram: &config.TelegramChannel{
		BotTokenSecretRef: config.SecretKeyReference{Name: "tg-bot", Key: "token"}}}
	_, err := New(channels.Spec{Channel: ch, Secret: func(config.SecretKeyReference) []byte { return nil }})
	if err == nil || !strings.Contains(err.Error(), `Secret "tg-bot" has no bot token under key "token"`) {
		t.Fatalf("error = %v", err)
	}
}

func TestProbe(t *testing.T) {
	fake := newFake(t)
	if err := newAdapter(t, fake, token).Probe(context.Background()); err != nil {
		t.Fatalf("probe with the right token: %v", err)
	}
	wrong := "7000000001:AAHwrongTOKEN"
	err := newAdapter(t, fake, wrong).Probe(context.Background())
	if !outbox.IsAuth(err) || !outbox.IsPermanent(err) {
		t.Fatalf("probe with a wrong token = %v, want an auth error", err)
	}
	if strings.Contains(err.Error(), wrong) || strings.Contains(err.Error(), "AAH") {
		t.Fatalf("the error shows the token: %v", err)
	}
}

func TestTransportErrorsHideTheToken(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	fake.Close() // nothing listens any more
	err := a.Probe(context.Background())
	if err == nil || strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "/bot") ||
		strings.Contains(err.Error(), "127.0.0.1") || !strings.Contains(err.Error(), "Telegram's API refused the connection") {
		t.Fatalf("error = %v: want what failed, without the URL, the token or the addresses dialled", err)
	}
}

func TestRegisterSetsTheWebhookWithTheDerivedSecret(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	if err := a.Register(context.Background(), "https://chat.example.com/webhooks/tg"); err != nil {
		t.Fatal(err)
	}
	w, sets, _ := fake.Webhook()
	switch {
	case sets != 1 || w.URL != "https://chat.example.com/webhooks/tg":
		t.Fatalf("webhook %+v after %d setWebhook calls", w, sets)
	case w.SecretToken != SecretToken([]byte(token)) || strings.Contains(w.SecretToken, token):
		t.Fatalf("secret token %q: want the one derived from the bot token, not the token", w.SecretToken)
	case !slices.Equal(w.AllowedUpdates, []string{"message"}):
		t.Fatalf("allowed_updates = %v", w.AllowedUpdates)
	}
	if err := a.Register(context.Background(), "http://insecure.example.com/webhooks/tg"); err == nil || !outbox.IsPermanent(err) {
		t.Fatalf("an http URL: %v, want Telegram's permanent refusal", err)
	}
	if err := a.Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w, _, deletes := fake.Webhook(); w.URL != "" || deletes != 1 {
		t.Fatalf("after deleteWebhook: %+v, %d deletes", w, deletes)
	}
}

func TestSend(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(*telegramfake.Server)
		to            string
		wantErr       bool
		wantPermanent bool
		wantAuth      bool
		wantWait      time.Duration
	}{
		{name: "accepted", to: "555"},
		{name: "too many requests", to: "555", setup: func(f *telegramfake.Server) {
			f.FailSends(1, 429, "Too Many Requests: retry after 7", 7)
		}, wantErr: true, wantWait: 7 * time.Second},
		{name: "server error is temporary", to: "555", setup: func(f *telegramfake.Server) {
			f.FailSends(1, 502, "Bad Gateway", 0)
		}, wantErr: true},
		{name: "blocked by the user is permanent", to: "556", setup: func(f *telegramfake.Server) { f.Block(556) },
			wantErr: true, wantPermanent: true},
		{name: "unknown chat is permanent", to: "not-a-chat", wantErr: true, wantPermanent: true},
		{name: "revoked token", to: "555", setup: func(f *telegramfake.Server) { f.FailSends(1, 401, "Unauthorized", 0) },
			wantErr: true, wantPermanent: true, wantAuth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			if tt.setup != nil {
				tt.setup(fake)
			}
			sent, err := newAdapter(t, fake, token).Send(context.Background(), channels.Outgoing{To: tt.to, Text: "Hello there"})
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				got := fake.Sent()
				if len(got) != 1 || got[0].Text != "Hello there" || got[0].ChatID != 555 {
					t.Fatalf("fake got %+v", got)
				}
				if want := "555:" + itoa(got[0].MessageID); sent.ProviderID != want {
					t.Fatalf("provider id %q, want %q", sent.ProviderID, want)
				}
				return
			}
			if outbox.IsPermanent(err) != tt.wantPermanent || outbox.IsAuth(err) != tt.wantAuth {
				t.Fatalf("err = %v: permanent %v auth %v, want %v %v", err, outbox.IsPermanent(err), outbox.IsAuth(err), tt.wantPermanent, tt.wantAuth)
			}
			if wait, ok := outbox.RetryAfterOf(err); tt.wantWait > 0 && (!ok || wait != tt.wantWait) {
				t.Fatalf("retry after %v %v, want %v", wait, ok, tt.wantWait)
			}
			if strings.Contains(err.Error(), token) {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func webhookRequest(body []byte, secret string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/tg", strings.NewReader(string(body)))
	r.Header.Set("Content-Type", "application/json")
	if secret != "" {
		r.Header.Set(SecretHeader, secret)
	}
	return r
}

func TestWebhookRefusesForgedRequests(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	body := fake.TextUpdate(telegramfake.User{ID: 42, FirstName: "Ada"}, "hi")
	tests := []struct {
		name, secret string
	}{
		{"missing secret", ""},
		{"wrong secret", "not-the-secret"},
		{"the bot token instead of the secret", token},
		{"another bot's secret", SecretToken([]byte("7000000002:other"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := a.Webhook(webhookRequest(body, tt.secret), body)
			var re *channels.RequestError
			if !errors.As(err, &re) || re.Status != http.StatusForbidden || re.Reason != "forged" {
				t.Fatalf("err = %v, want a forged 403", err)
			}
		})
	}
}

func TestWebhookParsesEveryMessageKind(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	ada := telegramfake.User{ID: 42, FirstName: "Ada", LastName: "Lovelace", Username: "ada"}
	tests := []struct {
		name   string
		fields map[string]any
		want   channels.Event
		none   bool
	}{
		{name: "text", fields: map[string]any{"text": "Hello"},
			want: channels.Event{Text: "Hello"}},
		{name: "photo with caption", fields: map[string]any{"caption": "my receipt", "photo": []map[string]any{
			{"file_id": "small", "file_unique_id": "s", "width": 90, "height": 90},
			{"file_id": "large", "file_unique_id": "l", "width": 1280, "height": 1280}}},
			want: channels.Event{Text: "my receipt", Attachments: []channels.Attachment{{Kind: "image", Ref: "large", ContentType: "image/jpeg"}}}},
		{name: "document", fields: map[string]any{"document": map[string]any{"file_id": "doc1", "file_unique_id": "d", "file_name": "invoice.pdf", "mime_type": "application/pdf"}},
			want: channels.Event{Attachments: []channels.Attachment{{Kind: "document", Ref: "doc1", Name: "invoice.pdf", ContentType: "application/pdf"}}}},
		{name: "voice", fields: map[string]any{"voice": map[string]any{"file_id": "v1", "file_unique_id": "v", "duration": 3, "mime_type": "audio/ogg"}},
			want: channels.Event{Attachments: []channels.Attachment{{Kind: "audio", Ref: "v1", ContentType: "audio/ogg"}}}},
		{name: "location", fields: map[string]any{"location": map[string]any{"latitude": 52.52, "longitude": 13.405}},
			want: channels.Event{Attachments: []channels.Attachment{{Kind: "location", Latitude: 52.52, Longitude: 13.405}}}},
		{name: "an edit is not a new message", none: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := fake.Update(ada, tt.fields)
			if tt.none {
				body = []byte(`{"update_id": 9, "edited_message": {"message_id": 1, "chat": {"id": 42, "type": "private"}, "date": 1, "text": "x"}}`)
			}
			reply, err := a.Webhook(webhookRequest(body, SecretToken([]byte(token))), body)
			if err != nil {
				t.Fatal(err)
			}
			if tt.none {
				if len(reply.Events) != 0 {
					t.Fatalf("events %+v, want none", reply.Events)
				}
				return
			}
			if len(reply.Events) != 1 {
				t.Fatalf("events %+v", reply.Events)
			}
			ev := reply.Events[0]
			if ev.Kind != channels.EventMessage || ev.Contact.ExternalID != "42" || ev.Contact.Name != "Ada Lovelace" ||
				!strings.HasPrefix(ev.ProviderID, "42:") || ev.At.IsZero() {
				t.Fatalf("event %+v", ev)
			}
			if ev.Text != tt.want.Text || !slices.Equal(ev.Attachments, tt.want.Attachments) {
				t.Fatalf("text %q attachments %+v, want %q %+v", ev.Text, ev.Attachments, tt.want.Text, tt.want.Attachments)
			}
		})
	}
}

func TestWebhookRefusesMalformedBodies(t *testing.T) {
	a := newAdapter(t, newFake(t), token)
	for _, body := range []string{``, `{`, `[]`, `{"update_id": 0}`, `{"update_id": "x"}`} {
		_, err := a.Webhook(webhookRequest([]byte(body), SecretToken([]byte(token))), []byte(body))
		var re *channels.RequestError
		if !errors.As(err, &re) || re.Status != http.StatusBadRequest {
			t.Errorf("body %q: err = %v, want a 400", body, err)
		}
	}
}

func TestPollCommitsBeforeConfirming(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	ada := telegramfake.User{ID: 42, FirstName: "Ada"}
	fake.Queue(fake.TextUpdate(ada, "one"), fake.TextUpdate(ada, "two"))
	ctx := context.Background()

	failing := errors.New("the store is down")
	if err := a.Poll(ctx, time.Second, func([]channels.Event) error { return failing }); !errors.Is(err, failing) {
		t.Fatalf("poll = %v", err)
	}
	var got []string
	commit := func(evs []channels.Event) error {
		for _, ev := range evs {
			got = append(got, ev.Text)
		}
		return nil
	}
	if err := a.Poll(ctx, time.Second, commit); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"one", "two"}) {
		t.Fatalf("after a failed commit the next poll got %v, want both updates again", got)
	}
	fake.Queue(fake.TextUpdate(ada, "three"))
	got = nil
	if err := a.Poll(ctx, time.Second, commit); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"three"}) || fake.Pending() != 1 {
		t.Fatalf("got %v with %d pending, want only the new update, the old ones confirmed", got, fake.Pending())
	}
}

func TestPollWhileAWebhookIsSetIsATemporaryError(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	if err := a.Register(context.Background(), "https://chat.example.com/webhooks/tg"); err != nil {
		t.Fatal(err)
	}
	err := a.Poll(context.Background(), time.Second, func([]channels.Event) error { return nil })
	if err == nil || outbox.IsPermanent(err) || !strings.Contains(err.Error(), "409") {
		t.Fatalf("poll = %v, want a temporary 409", err)
	}
}

func FuzzWebhook(f *testing.F) {
	fake := telegramfake.New(telegramfake.Bot{Token: token})
	defer fake.Close()
	ada := telegramfake.User{ID: 42, FirstName: "Ada"}
	f.Add([]byte(fake.TextUpdate(ada, "hi")), true)
	f.Add([]byte(fake.Update(ada, map[string]any{"photo": []map[string]any{{"file_id": "x"}}, "caption": "c"})), true)
	f.Add([]byte(fake.Update(ada, map[string]any{"location": map[string]any{"latitude": 1e300, "longitude": -1}})), false)
	f.Add([]byte(`{"update_id":1,"message":{"message_id":-1,"chat":{"id":0}}}`), true)
	f.Add([]byte(`{"update_id":1,"message":null}`), true)
	ch := &config.Channel{Name: "tg", Type: config.ChannelTelegram, Telegram: &config.TelegramChannel{APIBaseURL: fake.URL}}
	a, err := New(channels.Spec{Channel: ch, Secret: func(config.SecretKeyReference) []byte { return []byte(token) }, HTTP: http.DefaultClient})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body []byte, signed bool) {
		secret := ""
		if signed {
			secret = SecretToken([]byte(token))
		}
		reply, err := a.Webhook(webhookRequest(body, secret), body)
		var re *channels.RequestError
		switch {
		case !signed && !errors.As(err, &re):
			t.Fatalf("an unsigned request was not refused: %v", err)
		case err != nil && (!errors.As(err, &re) || re.Status < 400 || re.Status > 499):
			t.Fatalf("err = %v, want a 4xx RequestError", err)
		case err == nil:
			for _, ev := range reply.Events {
				if ev.ProviderID == "" || ev.Contact.ExternalID == "" {
					t.Fatalf("event without ids: %+v", ev)
				}
			}
		}
	})
}
