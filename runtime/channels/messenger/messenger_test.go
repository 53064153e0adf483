package messenger

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

const (
	pageID      = "1001"
	appID       = "5005"
	psid        = "4004"
	pageToken   = "EAAGpageTOKENforTESTSonly0123456789"
	appSecret   = "app-secret-0123456789abcdef"
	verifyToken = "verify-token-for-tests"
)

var secretValues = map[string]string{"token": pageToken, "app-secret": appSecret, "verify": verifyToken}

var epoch = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newFake(t *testing.T) *metafake.Server {
	t.Helper()
	f := metafake.New(metafake.Options{PageID: pageID, PageToken: pageToken, PageName: "Acme Support", AppID: appID,
		Version: "v21.0", Now: func() time.Time { return epoch }})
	t.Cleanup(f.Close)
	return f
}

func testChannel(baseURL string) *config.Channel {
	return &config.Channel{Name: "fb", Type: config.ChannelFacebookMessenger, Active: true,
		FacebookMessenger: &config.FacebookMessengerChannel{PageID: pageID,
			PageAccessTokenSecretRef: config.SecretKeyReference{Name: "fb", Key: "token"},
			AppSecretSecretRef:       config.SecretKeyReference{Name: "fb", Key: "app-secret"},
			VerifyTokenSecretRef:     config.SecretKeyReference{Name: "fb", Key: "verify"},
			GraphAPIVersion:          "v21.0", APIBaseURL: baseURL}}
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

// newAdapter makes an adapter for the fake; change, when not nil, edits the channel
// and the Secret's values first.
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

func withBot(ch *config.Channel, _ map[string]string) { ch.Bot = &config.Bot{} }

func TestNewNeedsItsSecrets(t *testing.T) {
	for key, words := range map[string]string{"token": `Secret "fb" has no page access token under key "token"`,
		"app-secret": `Secret "fb" has no app secret under key "app-secret"`, "verify": `Secret "fb" has no verify token under key "verify"`} {
		secrets := map[string]string{}
		for k, v := range secretValues {
			secrets[k] = v
		}
		secrets[key] = " \n"
		_, err := New(spec(testChannel(""), secrets))
		if err == nil || !strings.Contains(err.Error(), words) {
			t.Errorf("without %s: %v", key, err)
		}
	}
	bad := testChannel("")
	bad.FacebookMessenger.GraphAPIVersion = "21"
	if _, err := New(spec(bad, secretValues)); err == nil {
		t.Error("a bad Graph API version was taken")
	}
	if _, err := New(spec(&config.Channel{Name: "fb"}, secretValues)); err == nil {
		t.Error("a channel without facebookMessenger settings was taken")
	}
}

func TestProbe(t *testing.T) {
	f := newFake(t)
	if err := newAdapter(t, f, nil).Probe(context.Background()); err != nil {
		t.Fatalf("probe with the Page's token: %v", err)
	}
	if err := newAdapter(t, f, nil).Register(context.Background(), "https://chat.example.com/webhooks/fb"); err != nil {
		t.Fatalf("register: %v", err)
	}

	wrong := "EAAGwrongTOKEN123"
	err := newAdapter(t, f, func(_ *config.Channel, s map[string]string) { s["token"] = wrong }).Probe(context.Background())
	if !outbox.IsAuth(err) || !strings.HasPrefix(err.Error(), "the page access token is invalid or expired: ") ||
		strings.Contains(err.Error(), wrong) {
		t.Fatalf("probe with a wrong token = %v", err)
	}
	if err := newAdapter(t, f, func(_ *config.Channel, s map[string]string) { s["token"] = wrong }).Register(context.Background(), ""); !outbox.IsAuth(err) {
		t.Fatalf("register with a wrong token = %v", err)
	}

	// The fake's token belongs to Page 1001: configured for another Page, it is the
	// wrong token.
	other := metafake.New(metafake.Options{PageID: "1009", PageToken: pageToken, PageName: "Other Page"})
	defer other.Close()
	err = newAdapter(t, other, nil).Probe(context.Background())
	if !outbox.IsAuth(err) || !strings.Contains(err.Error(), `a token of Page 1009 ("Other Page"), not of Page 1001`) {
		t.Fatalf("probe with another Page's token = %v", err)
	}

	fail := metafake.ServerError
	fail.Endpoint = metafake.EndpointProbe
	f.FailNext(1, fail)
	if err := newAdapter(t, f, nil).Probe(context.Background()); err == nil || outbox.IsAuth(err) {
		t.Fatalf("probe during an outage = %v, want an error that is not about credentials", err)
	}
	if err := newAdapter(t, f, nil).Deregister(context.Background()); err != nil {
		t.Fatalf("deregister: %v", err)
	}
}

func TestSend(t *testing.T) {
	f := newFake(t)
	a := newAdapter(t, f, nil)
	sent, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "Hello from Acme"})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Sends()
	if len(got) != 1 || got[0].To != psid || got[0].Text != "Hello from Acme" || got[0].MessagingType != "RESPONSE" ||
		sent.ProviderID != got[0].MessageID {
		t.Fatalf("sent %+v; the fake took %+v", sent, got)
	}
	if f.TakeThreadControlCalls() != 0 {
		t.Fatal("a channel without a bot took thread control")
	}
}

func TestSendSplitsLongText(t *testing.T) {
	f := newFake(t)
	text := strings.Repeat("word ", 900) // 4500 characters
	sent, err := newAdapter(t, f, nil).Send(context.Background(), channels.Outgoing{To: psid, Text: text})
	if err != nil {
		t.Fatal(err)
	}
	got := f.Sends()
	if len(got) != 3 || sent.ProviderID != got[2].MessageID {
		t.Fatalf("%d parts, sent %+v", len(got), sent)
	}
	var joined []string
	for _, s := range got {
		if utf8.RuneCountInString(s.Text) > MaxText {
			t.Fatalf("a part of %d characters", utf8.RuneCountInString(s.Text))
		}
		joined = append(joined, s.Text)
	}
	if strings.TrimSpace(strings.Join(joined, " ")) != strings.TrimSpace(text) {
		t.Fatal("the parts do not make the text")
	}
}

func TestSendErrors(t *testing.T) {
	withRetryAfter := metafake.MessengerRateLimited
	withRetryAfter.RetryAfter = "5"
	tests := []struct {
		name      string
		failure   *metafake.Failure
		out       channels.Outgoing
		window    bool // the person last wrote 25 hours ago, by the fake's clock
		permanent bool
		auth      bool
		wait      time.Duration
		text      string
	}{
		{name: "server error", failure: &metafake.ServerError, text: "messenger send: An unexpected error has occurred"},
		{name: "app rate limit", failure: &metafake.AppRateLimited, text: "Meta is limiting the rate of calls"},
		{name: "page rate limit with Retry-After", failure: &withRetryAfter, wait: 5 * time.Second, text: "code 613"},
		{name: "outside the window", failure: &metafake.MessengerOutsideWindow, permanent: true,
			text: "messenger send: more than 24 hours since the contact's last message: Messenger allows no reply outside the 24-hour window"},
		{name: "the fake's window", window: true, permanent: true, text: "Messenger allows no reply outside the 24-hour window"},
		{name: "known last message outside the window", out: channels.Outgoing{LastInbound: epoch.Add(-25 * time.Hour)},
			permanent: true, text: "Messenger allows no reply outside the 24-hour window"},
		{name: "user unavailable", failure: &metafake.MessengerUserUnavailable, permanent: true, text: "cannot get messages from the Page right now"},
		{name: "no such user", failure: &metafake.MessengerNoSuchUser, permanent: true, text: "no person has this page-scoped id"},
		{name: "invalid token", failure: &metafake.InvalidToken, permanent: true, auth: true, text: "Meta refused the access token"},
		{name: "no recipient", out: channels.Outgoing{To: "-"}, permanent: true, text: "the contact has no page-scoped id"},
		{name: "no text", out: channels.Outgoing{Text: " \n "}, permanent: true, text: "the message has no text"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t)
			if tt.failure != nil {
				f.FailNext(1, *tt.failure)
			}
			if tt.window {
				f.SetLastCustomerMessage(psid, epoch.Add(-25*time.Hour))
			}
			out := tt.out
			switch out.To {
			case "":
				out.To = psid
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

// TestSendKnowsTheWindowWithoutACall: a reply known to be too late is not tried.
func TestSendKnowsTheWindowWithoutACall(t *testing.T) {
	f := newFake(t)
	a := newAdapter(t, f, nil)
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "hi", LastInbound: epoch.Add(-23 * time.Hour)}); err != nil {
		t.Fatalf("inside the window: %v", err)
	}
	calls := f.Calls()
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "hi", LastInbound: epoch.Add(-25 * time.Hour)}); !outbox.IsPermanent(err) {
		t.Fatalf("outside the window: %v", err)
	}
	if f.Calls() != calls {
		t.Fatal("a reply outside the window was tried")
	}
}

func TestSendWithABotTakesTheThread(t *testing.T) {
	f := newFake(t)
	a := newAdapter(t, f, withBot)
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "An operator here"}); err != nil {
		t.Fatal(err)
	}
	if f.TakeThreadControlCalls() != 1 || f.ThreadOwner(psid) != appID || len(f.Sends()) != 1 {
		t.Fatalf("thread controls %+v, sends %+v", f.ThreadControls(), f.Sends())
	}
	// The bot's own answer leaves the thread where it is.
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "the bot answers", ByBot: true}); err != nil {
		t.Fatal(err)
	}
	if f.TakeThreadControlCalls() != 1 || len(f.Sends()) != 2 {
		t.Fatalf("a bot's answer took the thread: %d takes", f.TakeThreadControlCalls())
	}

	// Meta down: the reply waits, for the thread may still be the bot's.
	takeFails := metafake.ServerError
	takeFails.Endpoint = metafake.EndpointThreadControl
	f.FailNext(1, takeFails)
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "again"}); err == nil || outbox.IsPermanent(err) {
		t.Fatalf("send while taking the thread fails for now = %v, want a temporary error", err)
	}
	if len(f.Sends()) != 2 {
		t.Fatal("the reply went out without the thread")
	}

	// Refused for good (the app may not take it, or it is already its own): the send
	// itself decides.
	refused := metafake.Failure{Endpoint: metafake.EndpointThreadControl, Code: 10, Type: "OAuthException",
		Message: "(#10) Only the primary receiver may take thread control"}
	f.FailNext(1, refused)
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "third"}); err != nil {
		t.Fatalf("send after a refused take: %v", err)
	}
	if len(f.Sends()) != 3 {
		t.Fatalf("sends = %+v", f.Sends())
	}

	bad := metafake.InvalidToken
	bad.Endpoint = metafake.EndpointThreadControl
	f.FailNext(1, bad)
	if _, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "fourth"}); !outbox.IsAuth(err) {
		t.Fatalf("send with a refused token = %v", err)
	}
}

func TestPassThreadControl(t *testing.T) {
	f := newFake(t)
	a := newAdapter(t, f, withBot)
	if err := a.PassThreadControl(context.Background(), psid, "6006", "back to the bot"); err != nil {
		t.Fatal(err)
	}
	if got := f.ThreadControls(); len(got) != 1 || got[0] != (metafake.ThreadControl{Action: "pass", Recipient: psid,
		TargetAppID: "6006", Metadata: "back to the bot"}) || f.ThreadOwner(psid) != "6006" {
		t.Fatalf("thread controls = %+v", got)
	}
	if err := a.TakeThreadControl(context.Background(), ""); !outbox.IsPermanent(err) {
		t.Fatalf("take without a person = %v", err)
	}
}

// TestNoSecretInErrors collects the adapter's errors on every path and looks for the
// token, the app secret and the verify token in them.
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
	wrong := newAdapter(t, f, func(_ *config.Channel, s map[string]string) { s["token"] = pageToken + "x" })
	collect(wrong.Probe(context.Background()))
	_, err := wrong.Send(context.Background(), channels.Outgoing{To: psid, Text: "hi"})
	collect(err)
	a := newAdapter(t, f, withBot)
	for _, fail := range []metafake.Failure{metafake.ServerError, metafake.MessengerOutsideWindow, metafake.InvalidToken,
		{Code: 100, Message: "echoing " + pageToken}} {
		f.FailNext(1, fail)
		_, err := a.Send(context.Background(), channels.Outgoing{To: psid, Text: "hi"})
		collect(err)
	}
	for _, r := range webhookRefusals() {
		_, err := a.Webhook(r.req, r.body)
		collect(err)
	}
	f.Close()
	collect(a.Probe(context.Background()))
	_, err = a.Send(context.Background(), channels.Outgoing{To: psid, Text: "hi"})
	collect(err)
	if len(errs) < 12 {
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
