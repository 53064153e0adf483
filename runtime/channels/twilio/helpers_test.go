package twilio_test

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/twilio"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

const (
	account = twiliofake.DefaultAccountSID
	token   = twiliofake.DefaultAuthToken
	number  = twiliofake.DefaultNumber
	service = "MG00112233445566778899aabbccddeeff"
	contact = "+15551234567"
	hookURL = "https://chat.example.com/webhooks/sms"
)

var tokenRef = config.SecretKeyReference{Name: "twilio", Key: "authToken"}

// settings are an SMS channel's settings sending from number.
func settings(apiBase string) config.SMSChannel {
	return config.SMSChannel{AccountSID: account, AuthTokenSecretRef: tokenRef, From: number, APIBaseURL: apiBase}
}

// newAdapter makes an adapter of sms whose Secret holds secret.
func newAdapter(t testing.TB, sms config.SMSChannel, secret, webhookURL string) channels.Adapter {
	t.Helper()
	a, err := twilio.New(spec(sms, secret, webhookURL))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func spec(sms config.SMSChannel, secret, webhookURL string) channels.Spec {
	return channels.Spec{
		Channel: &config.Channel{Name: "sms", Type: config.ChannelSMS, Queue: "support", Active: true, WebhookPath: "/webhooks/sms", SMS: &sms},
		Secret: func(r config.SecretKeyReference) []byte {
			if r == tokenRef && secret != "" {
				return []byte(secret)
			}
			return nil
		},
		HTTP:       &http.Client{Timeout: 5 * time.Second},
		WebhookURL: webhookURL,
		Now:        func() time.Time { return time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC) },
	}
}

// deliver passes r to the adapter's Webhook as the manager does.
func deliver(t *testing.T, a channels.Adapter, r *http.Request) (channels.Reply, error) {
	t.Helper()
	var body []byte
	if r.Body != nil {
		var err error
		if body, err = io.ReadAll(r.Body); err != nil {
			t.Fatal(err)
		}
	}
	return a.Webhook(r, body)
}

// incoming are the parameters of a text from the contact to our number.
func incoming(body string) twiliofake.Inbound {
	return twiliofake.Inbound{AccountSID: account, MessageSID: "SM" + strings.Repeat("a", 32), From: contact, To: number, Body: body}
}

// statusParams are the parameters of a status callback of one of our messages.
func statusParams(status string, errorCode int) url.Values {
	return twiliofake.StatusParams(account, "SM"+strings.Repeat("b", 32), number, contact, status, errorCode)
}

// refused asserts that err refuses the request with status and reason.
func refused(t *testing.T, reply channels.Reply, err error, status int, reason string) {
	t.Helper()
	var re *channels.RequestError
	if !errors.As(err, &re) {
		t.Fatalf("error %v (%T), want a *channels.RequestError", err, err)
	}
	if re.Status != status || re.Reason != reason {
		t.Fatalf("refused with %d %s (%s), want %d %s", re.Status, re.Reason, re.Message, status, reason)
	}
	if len(reply.Events) != 0 {
		t.Fatalf("a refused request brought events: %+v", reply.Events)
	}
	noSecret(t, err)
}

// noSecret asserts that err says nothing of the auth token.
func noSecret(t testing.TB, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), token) {
		t.Fatalf("the error holds the auth token: %v", err)
	}
}
