package whatsapp

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

const (
	phoneNumberID     = "2002"
	businessAccountID = "3003"
	waID              = "15550001111"
	accessToken       = "EAAGwhatsappTOKENforTESTSonly0123"
	appSecret         = "wa-app-secret-0123456789abcdef"
	verifyToken       = "wa-verify-token-for-tests"
)

var secretValues = map[string]string{"token": accessToken, "app-secret": appSecret, "verify": verifyToken}

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newFake(t *testing.T) *metafake.Server {
	t.Helper()
	f := metafake.New(metafake.Options{PhoneNumberID: phoneNumberID, BusinessAccountID: businessAccountID,
		AccessToken: accessToken, Version: "v21.0", Now: func() time.Time { return epoch }})
	t.Cleanup(f.Close)
	return f
}

func testChannel(baseURL string) *config.Channel {
	return &config.Channel{Name: "wa", Type: config.ChannelWhatsApp, Active: true,
		WhatsApp: &config.WhatsAppChannel{PhoneNumberID: phoneNumberID,
			AccessTokenSecretRef: config.SecretKeyReference{Name: "wa", Key: "token"},
			AppSecretSecretRef:   config.SecretKeyReference{Name: "wa", Key: "app-secret"},
			VerifyTokenSecretRef: config.SecretKeyReference{Name: "wa", Key: "verify"},
			GraphAPIVersion:      "v21.0", APIBaseURL: baseURL}}
}

func spec(ch *config.Channel, secrets map[string]string) channels.Spec {
	return channels.Spec{Channel: ch, HTTP: &http.Client{Timeout: 5 * time.Second}, Now: func() time.Time { return epoch },
		Secret: func(ref config.SecretKeyReference) []byte {
			if v, ok := secrets[ref.Key]; ok {
				return []byte(v)
			}
			return nil
		}}
}

func newAdapter(t *testing.T, f *metafake.Server, change func(*config.Channel, map[string]string)) *Adapter {
	t.Helper()
	ch, secrets := testChannel(f.URL), map[string]string{}
	for k, v := range secretValues {
		secrets[k] = v
	}
	if change != nil {
		change(ch, secrets)
	}
	a, err := New(spec(ch, secrets))
	if err != nil {
		t.Fatal(err)
	}
	return a.(*Adapter)
}

func wrongToken(_ *config.Channel, s map[string]string) { s["token"] = "EAAGwrongTOKEN42" }

func withBusinessAccount(ch *config.Channel, _ map[string]string) {
	ch.WhatsApp.BusinessAccountID = businessAccountID
}

func TestNewNeedsItsSecrets(t *testing.T) {
	for key, words := range map[string]string{"token": `Secret "wa" has no access token under key "token"`,
		"app-secret": `Secret "wa" has no app secret under key "app-secret"`, "verify": `Secret "wa" has no verify token under key "verify"`} {
		secrets := map[string]string{}
		for k, v := range secretValues {
			secrets[k] = v
		}
		delete(secrets, key)
		_, err := New(spec(testChannel(""), secrets))
		if err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("without %s: %v", key, err)
		}
	}
	if _, err := New(spec(&config.Channel{Name: "wa"}, secretValues)); err == nil {
		t.Error("a channel without whatsApp settings was taken")
	}
}

func TestProbe(t *testing.T) {
	f := newFake(t)
	if err := newAdapter(t, f, nil).Probe(context.Background()); err != nil {
		t.Fatalf("probe: %v", err)
	}
	err := newAdapter(t, f, wrongToken).Probe(context.Background())
	if !outbox.IsAuth(err) || !strings.HasPrefix(err.Error(), "the access token is invalid or expired: ") ||
		strings.Contains(err.Error(), "EAAGwrongTOKEN42") {
		t.Fatalf("probe with a wrong token = %v", err)
	}
	err = newAdapter(t, f, func(ch *config.Channel, _ map[string]string) { ch.WhatsApp.PhoneNumberID = "2009" }).Probe(context.Background())
	if !outbox.IsAuth(err) || !strings.Contains(err.Error(), "cannot see phone number id 2009") {
		t.Fatalf("probe of another number = %v", err)
	}
	fail := metafake.ServerError
	fail.Endpoint = metafake.EndpointProbe
	f.FailNext(1, fail)
	if err := newAdapter(t, f, nil).Probe(context.Background()); err == nil || outbox.IsAuth(err) {
		t.Fatalf("probe during an outage = %v", err)
	}
}

func TestRegister(t *testing.T) {
	f := newFake(t)
	if err := newAdapter(t, f, nil).Register(context.Background(), "https://chat.example.com/webhooks/wa"); err != nil || f.Subscriptions() != 0 {
		t.Fatalf("register without a business account: %v, %d subscriptions", err, f.Subscriptions())
	}
	a := newAdapter(t, f, withBusinessAccount)
	if err := a.Register(context.Background(), "https://chat.example.com/webhooks/wa"); err != nil || f.Subscriptions() != 1 {
		t.Fatalf("register: %v, %d subscriptions", err, f.Subscriptions())
	}
	if err := newAdapter(t, f, func(ch *config.Channel, s map[string]string) {
		withBusinessAccount(ch, s)
		wrongToken(ch, s)
	}).Register(context.Background(), ""); !outbox.IsAuth(err) || f.Subscriptions() != 1 {
		t.Fatalf("register with a wrong token = %v", err)
	}
	err := newAdapter(t, f, func(ch *config.Channel, _ map[string]string) { ch.WhatsApp.BusinessAccountID = "3009" }).Register(context.Background(), "")
	if !outbox.IsAuth(err) || !strings.Contains(err.Error(), "cannot see business account 3009") {
		t.Fatalf("register with another account = %v", err)
	}
	fail := metafake.ServerError
	fail.Endpoint = metafake.EndpointSubscribe
	f.FailNext(1, fail)
	if err := a.Register(context.Background(), ""); err == nil || outbox.IsPermanent(err) || outbox.IsAuth(err) {
		t.Fatalf("register during an outage = %v, want a temporary error", err)
	}
	if err := a.Deregister(context.Background()); err != nil {
		t.Fatalf("deregister: %v", err)
	}
}

func TestSend(t *testing.T) {
	f := newFake(t)
	sent, err := newAdapter(t, f, nil).Send(context.Background(), channels.Outgoing{To: waID, Text: "Your order ships today"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Sends()
	if len(got) != 1 || got[0].Product != metafake.WhatsApp || got[0].To != waID || got[0].Text != "Your order ships today" ||
		sent.ProviderID != got[0].MessageID || !strings.HasPrefix(sent.ProviderID, "wamid.") {
		t.Fatalf("sent %+v; the fake took %+v", sent, got)
	}
	// A text over the limit goes in parts.
	if _, err := newAdapter(t, f, nil).Send(context.Background(), channels.Outgoing{To: waID, Text: strings.Repeat("ab ", 2000)}); err != nil {
		t.Fatal(err)
	}
	if got := f.Sends(); len(got) != 3 {
		t.Fatalf("a 6000-character text went in %d sends", len(got)-1)
	}
}

func TestSendErrors(t *testing.T) {
	throughput := metafake.WhatsAppThroughput
	throughput.RetryAfter = "2"
	tests := []struct {
		name      string
		failure   *metafake.Failure
		out       channels.Outgoing
		window    bool
		permanent bool
		auth      bool
		wait      time.Duration
		text      string
	}{
		{name: "server error", failure: &metafake.ServerError, text: "whatsapp send: An unexpected error has occurred"},
		{name: "throughput with Retry-After", failure: &throughput, wait: 2 * time.Second, text: "Meta is limiting the rate of calls"},
		{name: "pair rate", failure: &metafake.WhatsAppPairRate, text: "code 131056"},
		{name: "re-engagement", failure: &metafake.WhatsAppReEngagement, permanent: true,
			text: "whatsapp send: more than 24 hours since the contact's last message: WhatsApp requires a template message to reopen the conversation"},
		{name: "the fake's window", window: true, permanent: true, text: "WhatsApp requires a template message"},
		{name: "known last message outside the window", out: channels.Outgoing{LastInbound: epoch.Add(-25 * time.Hour)}, permanent: true,
			text: "WhatsApp requires a template message"},
		{name: "undeliverable", failure: &metafake.WhatsAppUndeliverable, permanent: true, text: "WhatsApp could not deliver the message"},
		{name: "invalid token", failure: &metafake.InvalidToken, permanent: true, auth: true, text: "Meta refused the access token"},
		{name: "invalid recipient", out: channels.Outgoing{To: "not a number"}, permanent: true, text: "code 100"},
		{name: "no recipient", out: channels.Outgoing{To: "-"}, permanent: true, text: "no WhatsApp number"},
		{name: "no text", out: channels.Outgoing{Text: "  "}, permanent: true, text: "the message has no text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.failure != nil {
				f.FailNext(1, *tt.failure)
			}
			if tt.window {
				f.SetLastCustomerMessage(waID, epoch.Add(-25*time.Hour))
			}
			out := tt.out
			switch out.To {
			case "":
				out.To = waID
			case "-":
				out.To = ""
			}
			if out.Text == "" {
				out.Text = "hello"
			}
			_, err := newAdapter(t, f, nil).Send(context.Background(), out)
			if err == nil {
				t.Fatal("the send succeeded")
			}
			if outbox.IsPermanent(err) != tt.permanent || outbox.IsAuth(err) != tt.auth {
				t.Fatalf("%v: permanent %v auth %v, want %v %v", err, outbox.IsPermanent(err), outbox.IsAuth(err), tt.permanent, tt.auth)
			}
			if wait, ok := outbox.RetryAfterOf(err); ok != (tt.wait > 0) || wait != tt.wait {
				t.Fatalf("%v: RetryAfter %s %v, want %s", err, wait, ok, tt.wait)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Fatalf("error = %q, want it to say %q", err, tt.text)
			}
			if len(f.Sends()) != 0 {
				t.Fatalf("the fake took %+v", f.Sends())
			}
		})
	}
}

func TestNoSecretInErrors(t *testing.T) {
	f := newFake(t)
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range []string{"token", "app-secret", "verify"} {
		_, err := New(spec(testChannel(f.URL), map[string]string{s: secretValues[s]}))
		collect(err)
	}
	wrong := newAdapter(t, f, func(ch *config.Channel, s map[string]string) {
		withBusinessAccount(ch, s)
		s["token"] = accessToken + "x"
	})
	collect(wrong.Probe(context.Background()))
	collect(wrong.Register(context.Background(), ""))
	_, err := wrong.Send(context.Background(), channels.Outgoing{To: waID, Text: "hi"})
	collect(err)
	a := newAdapter(t, f, withBusinessAccount)
	for _, fail := range []metafake.Failure{metafake.ServerError, metafake.WhatsAppReEngagement, metafake.InvalidToken,
		{Code: 100, Message: "echoing " + accessToken, Details: "and again " + accessToken}} {
		f.FailNext(1, fail)
		_, err := a.Send(context.Background(), channels.Outgoing{To: waID, Text: "hi"})
		collect(err)
	}
	for _, r := range webhookRefusals() {
		_, err := a.Webhook(r.req, r.body)
		collect(err)
	}
	f.Close()
	collect(a.Probe(context.Background()))
	collect(a.Register(context.Background(), ""))
	_, err = a.Send(context.Background(), channels.Outgoing{To: waID, Text: "hi"})
	collect(err)
	if len(errs) < 14 {
		t.Fatalf("only %d errors collected", len(errs))
	}
	for _, err := range errs {
		for _, secret := range secretValues {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("error %q holds a secret", err)
			}
		}
		var re *channels.RequestError
		if errors.As(err, &re) && strings.Contains(re.Message, verifyToken) {
			t.Errorf("refusal %q holds the verify token", re.Message)
		}
	}
}
