package twiliosms_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/twiliosms"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var tokenRef = config.SecretKeyReference{Name: "twilio", Key: "authToken"}

func sender(t *testing.T, fake *twiliofake.Server, from, token string) *twiliosms.Sender {
	t.Helper()
	c := &config.TwilioProvider{AccountSID: fake.AccountSID, AuthTokenSecretRef: tokenRef, From: from, APIBaseURL: fake.URL}
	s, err := twiliosms.New(c, func(r config.SecretKeyReference) []byte {
		if r == tokenRef {
			return []byte(token)
		}
		return nil
	}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func delivery() notify.Delivery {
	return notify.Delivery{IdempotencyKey: "k1", To: notify.Recipient{Name: "Alice", Phone: "+15551234567"},
		Subject: "New chat", Text: "Bob wrote: hello"}
}

func TestDeliver(t *testing.T) {
	long := strings.Repeat("a", 1590) + strings.Repeat("😀", 10) // 1610 UTF-16 units
	for _, tc := range []struct {
		name     string
		from     string
		mutate   func(*notify.Delivery)
		wantFrom string
		wantBody string
	}{
		{name: "from a number", from: twiliofake.DefaultNumber, wantFrom: twiliofake.DefaultNumber, wantBody: "Bob wrote: hello"},
		{name: "from a sender id", from: "Support", wantFrom: "Support", wantBody: "Bob wrote: hello"},
		{name: "the subject when there is no text", from: twiliofake.DefaultNumber, mutate: func(d *notify.Delivery) { d.Text = "" },
			wantFrom: twiliofake.DefaultNumber, wantBody: "New chat"},
		{name: "a long text is cut", from: twiliofake.DefaultNumber, mutate: func(d *notify.Delivery) { d.Text = long },
			wantFrom: twiliofake.DefaultNumber, wantBody: strings.Repeat("a", 1590) + strings.Repeat("😀", 4) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(twiliofake.Options{SenderIDs: []string{"Support"}})
			defer fake.Close()
			d := delivery()
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			if err := sender(t, fake, tc.from, fake.AuthToken).Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages, want 1", len(msgs))
			}
			m := msgs[0]
			if m.To != d.To.Phone || m.From != tc.wantFrom || m.Body != tc.wantBody {
				t.Errorf("message to %s from %s: %q; want to %s from %s: %q", m.To, m.From, m.Body, d.To.Phone, tc.wantFrom, tc.wantBody)
			}
			if n := len(utf16.Encode([]rune(m.Body))); n > twiliosms.MaxBodyLength {
				t.Errorf("the body is %d UTF-16 units long", n)
			}
		})
	}
}

func TestErrors(t *testing.T) {
	const wrongToken = "feedfacefeedfacefeedfacefeedface"
	for _, tc := range []struct {
		name       string
		token      string // the fake's when empty
		fail       *twiliofake.Failure
		optOut     bool
		closed     bool
		mutate     func(*notify.Delivery)
		permanent  bool
		auth       bool
		retryAfter time.Duration
		wantText   string
	}{
		{name: "wrong auth token", token: wrongToken, permanent: true, auth: true, wantText: "refused the account SID"},
		{name: "opted out", optOut: true, permanent: true, wantText: "replied STOP"},
		{name: "rate limited", fail: &twiliofake.Failure{Status: 429, RetryAfter: "7"}, retryAfter: 7 * time.Second, wantText: "429"},
		{name: "slow down code on another status", fail: &twiliofake.Failure{Status: 400, Code: 20429, RetryAfter: "3"}, retryAfter: 3 * time.Second, wantText: "more slowly"},
		{name: "unavailable", fail: &twiliofake.Failure{Status: 503, RetryAfter: "12"}, retryAfter: 12 * time.Second, wantText: "503"},
		{name: "server error", fail: &twiliofake.Failure{Status: 500}, wantText: "500"},
		{name: "refused with twilio's words", fail: &twiliofake.Failure{Status: 400, Code: 21602, Message: "Message body is required."},
			permanent: true, wantText: "error 21602: Message body is required."},
		{name: "country not enabled", fail: &twiliofake.Failure{Status: 400, Code: 21408, Message: "Permission to send an SMS has not been enabled"},
			permanent: true, wantText: "geographic permissions"},
		{name: "the token echoed back is scrubbed", fail: &twiliofake.Failure{Status: 400, Code: 21999, Message: "token " + twiliofake.DefaultAuthToken + " looks odd"},
			permanent: true, wantText: "[redacted]"},
		{name: "unreachable", closed: true, wantText: "reaching http://127.0.0.1"},
		{name: "no phone", mutate: func(d *notify.Delivery) { d.To.Phone = "" }, permanent: true, wantText: "no phone number"},
		{name: "phone not e164", mutate: func(d *notify.Delivery) { d.To.Phone = "0151 1234567" }, permanent: true, wantText: "E.164"},
		{name: "no text", mutate: func(d *notify.Delivery) { d.Text, d.Subject = " ", "" }, permanent: true, wantText: "no text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(twiliofake.Options{})
			defer fake.Close()
			token := tc.token
			if token == "" {
				token = fake.AuthToken
			}
			s := sender(t, fake, twiliofake.DefaultNumber, token)
			if tc.fail != nil {
				fake.FailNext(1, *tc.fail)
			}
			d := delivery()
			if tc.optOut {
				fake.OptOut(d.To.Phone)
			}
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			if tc.closed {
				fake.Close()
			}
			err := s.Deliver(context.Background(), d)
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			t.Log(err)
			if outbox.IsPermanent(err) != tc.permanent {
				t.Errorf("permanent = %v, want %v", outbox.IsPermanent(err), tc.permanent)
			}
			if outbox.IsAuth(err) != tc.auth {
				t.Errorf("IsAuth = %v, want %v", outbox.IsAuth(err), tc.auth)
			}
			after, ok := outbox.RetryAfterOf(err)
			if ok != (tc.retryAfter > 0) || after != tc.retryAfter {
				t.Errorf("RetryAfter = %v (%v), want %v", after, ok, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.wantText) {
				t.Errorf("error %q does not say %q", err, tc.wantText)
			}
			for _, secret := range []string{token, twiliofake.DefaultAuthToken} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds the auth token", err)
				}
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	valid := func() *config.TwilioProvider {
		return &config.TwilioProvider{AccountSID: twiliofake.DefaultAccountSID, AuthTokenSecretRef: tokenRef, From: "+15005550006"}
	}
	withToken := func(r config.SecretKeyReference) []byte { return []byte("token") }
	for _, tc := range []struct {
		name    string
		c       *config.TwilioProvider
		secrets notify.SecretFunc
		want    string
	}{
		{name: "no settings", secrets: withToken, want: "no twilio settings"},
		{name: "no account", c: &config.TwilioProvider{From: "+15005550006"}, secrets: withToken, want: "accountSID is empty"},
		{name: "no sender", c: &config.TwilioProvider{AccountSID: twiliofake.DefaultAccountSID}, secrets: withToken, want: "twilio.from is empty"},
		{name: "no token", c: valid(), secrets: func(config.SecretKeyReference) []byte { return nil }, want: `Secret "twilio" has no key "authToken"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := twiliosms.New(tc.c, tc.secrets, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
