package onesignal_test

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/onesignalfake"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/onesignal"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var keyRef = config.SecretKeyReference{Name: "onesignal", Key: "apiKey"}

func sender(t *testing.T, fake *onesignalfake.Server, key string) *onesignal.Sender {
	t.Helper()
	s, err := onesignal.New(&config.OneSignalProvider{AppID: fake.AppID, APIKeySecretRef: keyRef, APIBaseURL: fake.URL},
		func(r config.SecretKeyReference) []byte {
			if r == keyRef {
				return []byte(key)
			}
			return nil
		}, &http.Client{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func delivery() notify.Delivery {
	return notify.Delivery{IdempotencyKey: notify.Key("event-1", "rule", "alice", "push"), To: notify.Recipient{PushUserID: "alice"},
		Subject: "New message from Bob", Text: "hello", Link: "https://chat.example.com/console/c/42", Event: "MessageReceived"}
}

func TestDeliver(t *testing.T) {
	for _, tc := range []struct {
		name         string
		mutate       func(*notify.Delivery)
		wantHeading  string
		wantContents string
		wantURL      string
	}{
		{name: "heading, contents and url", wantHeading: "New message from Bob", wantContents: "hello", wantURL: "https://chat.example.com/console/c/42"},
		{name: "the subject when there is no text", mutate: func(d *notify.Delivery) { d.Text = "" },
			wantHeading: "New message from Bob", wantContents: "New message from Bob", wantURL: "https://chat.example.com/console/c/42"},
		{name: "long texts are cut", mutate: func(d *notify.Delivery) {
			d.Subject, d.Text, d.Link = strings.Repeat("é", 120), strings.Repeat("ж", 600), ""
		},
			wantHeading: strings.Repeat("é", 99) + "…", wantContents: strings.Repeat("ж", 499) + "…"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := onesignalfake.New(onesignalfake.Options{Subscribed: []string{"alice"}})
			defer fake.Close()
			d := delivery()
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			if err := sender(t, fake, fake.APIKey).Deliver(context.Background(), d); err != nil {
				t.Fatal(err)
			}
			ns := fake.Notifications()
			if len(ns) != 1 {
				t.Fatalf("%d notifications, want 1", len(ns))
			}
			n := ns[0]
			if n.AuthScheme != "Key" {
				t.Errorf("authorized with %q, want Key", n.AuthScheme)
			}
			if len(n.ExternalIDs) != 1 || n.ExternalIDs[0] != "alice" {
				t.Errorf("sent to %v, want alice", n.ExternalIDs)
			}
			if n.Headings["en"] != tc.wantHeading || n.Contents["en"] != tc.wantContents || n.URL != tc.wantURL {
				t.Errorf("heading %q contents %q url %q", n.Headings["en"], n.Contents["en"], n.URL)
			}
			if n.Data["event"] != "MessageReceived" {
				t.Errorf("data %v", n.Data)
			}
			if n.IdempotencyKey != onesignal.IdempotencyKey(d.IdempotencyKey) {
				t.Errorf("idempotency_key %q, want the delivery's", n.IdempotencyKey)
			}
		})
	}
}

func TestARetryNotifiesOnce(t *testing.T) {
	fake := onesignalfake.New(onesignalfake.Options{})
	defer fake.Close()
	s := sender(t, fake, fake.APIKey)
	other := delivery()
	other.IdempotencyKey = notify.Key("event-2", "rule", "alice", "push")
	for _, d := range []notify.Delivery{delivery(), delivery(), other} {
		if err := s.Deliver(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	if fake.Requests() != 3 || len(fake.Notifications()) != 2 {
		t.Errorf("%d requests made %d notifications, want 3 and 2", fake.Requests(), len(fake.Notifications()))
	}
}

func TestIdempotencyKeyIsAStableUUIDv3(t *testing.T) {
	v3 := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-3[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	a, b := onesignal.IdempotencyKey("k1"), onesignal.IdempotencyKey("k2")
	if !v3.MatchString(a) || !v3.MatchString(b) {
		t.Errorf("%s, %s are not version 3 UUIDs", a, b)
	}
	if a != onesignal.IdempotencyKey("k1") || a == b {
		t.Errorf("keys k1 %s and k2 %s: not stable or not distinct", a, b)
	}
}

func TestErrors(t *testing.T) {
	const wrongKey = "os_v2_app_wrongwrongwrongwrongwrongwrongwrongwrongwrong"
	for _, tc := range []struct {
		name       string
		key        string
		subscribed []string
		fail       *onesignalfake.Failure
		mutate     func(*notify.Delivery)
		permanent  bool
		auth       bool
		retryAfter time.Duration
		want       string
	}{
		{name: "wrong api key", key: wrongKey, permanent: true, auth: true, want: "refused the REST API key of app " + onesignalfake.DefaultAppID},
		{name: "not subscribed", subscribed: []string{"bob"}, permanent: true, want: `External ID "alice", which has no push subscription`},
		{name: "rate limited", fail: &onesignalfake.Failure{Status: 429, Errors: []string{"API rate limit exceeded."}, RetryAfter: "100"},
			retryAfter: 100 * time.Second, want: "API rate limit exceeded."},
		{name: "server error", fail: &onesignalfake.Failure{Status: 502}, want: "502"},
		{name: "refused with onesignal's words", fail: &onesignalfake.Failure{Status: 400, Errors: []string{"Invalid app_id format"}},
			permanent: true, want: "400 Bad Request: Invalid app_id format"},
		{name: "the key echoed back is scrubbed", fail: &onesignalfake.Failure{Status: 400, Errors: []string{"key " + onesignalfake.DefaultAPIKey + " is odd"}},
			permanent: true, want: "[redacted]"},
		{name: "no push user id", mutate: func(d *notify.Delivery) { d.To.PushUserID = "" }, permanent: true, want: "no push user id"},
		{name: "no idempotency key", mutate: func(d *notify.Delivery) { d.IdempotencyKey = "" }, permanent: true, want: "no idempotency key"},
		{name: "nothing to say", mutate: func(d *notify.Delivery) { d.Subject, d.Text = "", "" }, permanent: true, want: "neither a title nor a text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake := onesignalfake.New(onesignalfake.Options{Subscribed: tc.subscribed})
			defer fake.Close()
			key := tc.key
			if key == "" {
				key = fake.APIKey
			}
			s := sender(t, fake, key)
			if tc.fail != nil {
				fake.FailNext(1, *tc.fail)
			}
			d := delivery()
			if tc.mutate != nil {
				tc.mutate(&d)
			}
			err := s.Deliver(context.Background(), d)
			if err == nil {
				t.Fatal("Deliver succeeded")
			}
			t.Log(err)
			if outbox.IsPermanent(err) != tc.permanent || outbox.IsAuth(err) != tc.auth {
				t.Errorf("permanent %v auth %v, want %v %v", outbox.IsPermanent(err), outbox.IsAuth(err), tc.permanent, tc.auth)
			}
			after, ok := outbox.RetryAfterOf(err)
			if ok != (tc.retryAfter > 0) || after != tc.retryAfter {
				t.Errorf("RetryAfter %v %v, want %v", after, ok, tc.retryAfter)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), key) || strings.Contains(err.Error(), onesignalfake.DefaultAPIKey) {
				t.Errorf("error %q holds the API key", err)
			}
			if len(fake.Notifications()) != 0 {
				t.Error("the fake made a notification")
			}
		})
	}
}

func TestNewRefuses(t *testing.T) {
	key := func(config.SecretKeyReference) []byte { return []byte("key") }
	for _, tc := range []struct {
		name    string
		c       *config.OneSignalProvider
		secrets notify.SecretFunc
		want    string
	}{
		{name: "no settings", secrets: key, want: "no oneSignal settings"},
		{name: "no app", c: &config.OneSignalProvider{APIKeySecretRef: keyRef}, secrets: key, want: "appID is empty"},
		{name: "no key", c: &config.OneSignalProvider{AppID: onesignalfake.DefaultAppID, APIKeySecretRef: keyRef},
			secrets: func(config.SecretKeyReference) []byte { return nil }, want: `Secret "onesignal" has no key "apiKey"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := onesignal.New(tc.c, tc.secrets, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error saying %q", err, tc.want)
			}
		})
	}
}
