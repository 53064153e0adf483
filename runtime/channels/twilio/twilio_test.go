package twilio_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/twilio"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

func TestProviderLimits(t *testing.T) {
	l := twilio.Provider.Limits
	if twilio.Provider.New == nil || l.PerSender.Limit != 1 || l.PerRecipient.Limit != 1 || l.PerRecipient.Burst != 3 {
		t.Fatalf("Provider = %+v", l)
	}
}

func TestNewRefusesIncompleteSettings(t *testing.T) {
	noSender := settings("")
	noSender.From = ""
	noAccount := settings("")
	noAccount.AccountSID = ""
	tests := []struct {
		name   string
		spec   channels.Spec
		saying string
	}{
		{"no sms block", func() channels.Spec { s := spec(settings(""), token, ""); s.Channel.SMS = nil; return s }(), "no sms settings"},
		{"no auth token", spec(settings(""), "", ""), `Secret "twilio" has no auth token under key "authToken"`},
		{"blank auth token", spec(settings(""), " \n", ""), "has no auth token"},
		{"no sender", spec(noSender, token, ""), "set sms.from"},
		{"no account", spec(noAccount, token, ""), "accountSID is empty"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := twilio.New(tc.spec)
			if err == nil || a != nil || !strings.Contains(err.Error(), tc.saying) {
				t.Fatalf("New = %v, %v; want an error saying %q", a, err, tc.saying)
			}
		})
	}
}

func TestSendRequest(t *testing.T) {
	withService := func(from string) config.SMSChannel {
		s := settings("")
		s.From, s.MessagingServiceSID = from, service
		return s
	}
	tests := []struct {
		name       string
		sms        config.SMSChannel
		webhookURL string
		want       url.Values
	}{
		{"from a number", settings(""), hookURL,
			url.Values{"To": {contact}, "Body": {"Hi there"}, "From": {number}, "StatusCallback": {hookURL}}},
		{"through a service", withService(""), hookURL,
			url.Values{"To": {contact}, "Body": {"Hi there"}, "MessagingServiceSid": {service}, "StatusCallback": {hookURL}}},
		{"a number of a service", withService(number), hookURL,
			url.Values{"To": {contact}, "Body": {"Hi there"}, "From": {number}, "MessagingServiceSid": {service}, "StatusCallback": {hookURL}}},
		{"no public URL, no callback", settings(""), "",
			url.Values{"To": {contact}, "Body": {"Hi there"}, "From": {number}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(twiliofake.Options{MessagingServiceSID: service})
			defer fake.Close()
			tc.sms.APIBaseURL = fake.URL + "/" // a trailing slash is tolerated
			a := newAdapter(t, tc.sms, token, tc.webhookURL)
			sent, err := a.Send(context.Background(), channels.Outgoing{To: contact, Text: "Hi there"})
			if err != nil {
				t.Fatalf("Send: %v", err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("%d messages reached Twilio", len(msgs))
			}
			if sent.ProviderID != msgs[0].SID || !strings.HasPrefix(sent.ProviderID, "SM") {
				t.Fatalf("ProviderID %q, Twilio's sid %q", sent.ProviderID, msgs[0].SID)
			}
			if !reflect.DeepEqual(msgs[0].Form, tc.want) {
				t.Fatalf("request parameters\n got %v\nwant %v", msgs[0].Form, tc.want)
			}
		})
	}
}

func TestSendTakes1600Characters(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	defer fake.Close()
	a := newAdapter(t, settings(fake.URL), token, hookURL)
	for _, text := range []string{strings.Repeat("a", 1600), strings.Repeat("é", 1600), strings.Repeat("😀", 800)} {
		if _, err := a.Send(context.Background(), channels.Outgoing{To: contact, Text: text}); err != nil {
			t.Fatalf("Send of %d bytes: %v", len(text), err)
		}
	}
}

func TestSendErrors(t *testing.T) {
	type want struct {
		permanent, auth bool
		retryAfter      time.Duration // > 0: an outbox.RetryAfter
		saying          string
		reachesTwilio   bool
	}
	tests := []struct {
		name    string
		prepare func(*twiliofake.Server)
		secret  string
		to      string
		text    string
		want    want
	}{
		{"recipient replied STOP", func(f *twiliofake.Server) { f.OptOut(contact) }, token, contact, "hi",
			want{permanent: true, saying: "replied STOP", reachesTwilio: true}},
		{"invalid number", nil, token, "555-1234", "hi",
			want{permanent: true, saying: "not a valid mobile number (error 21211", reachesTwilio: true}},
		{"not a mobile number", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 400, Code: 21614, Message: "'To' number is not a valid mobile number"})
		}, token, contact, "hi", want{permanent: true, saying: "not a valid mobile number (error 21614", reachesTwilio: true}},
		{"region not enabled", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 400, Code: 21408, Message: "Permission to send an SMS has not been enabled for the region"})
		}, token, contact, "hi", want{permanent: true, saying: "geographic permissions", reachesTwilio: true}},
		{"wrong auth token", nil, "wrong-token", contact, "hi",
			want{permanent: true, auth: true, saying: "account SID or auth token", reachesTwilio: true}},
		{"rate limited with Retry-After", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 429, RetryAfter: "7"})
		}, token, contact, "hi", want{retryAfter: 7 * time.Second, saying: "429", reachesTwilio: true}},
		{"rate limited", func(f *twiliofake.Server) { f.FailNext(1, twiliofake.Failure{Status: 429}) }, token, contact, "hi",
			want{saying: "error 20429", reachesTwilio: true}},
		{"20429 under another status", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 400, Code: 20429, RetryAfter: "3"})
		}, token, contact, "hi", want{retryAfter: 3 * time.Second, saying: "error 20429", reachesTwilio: true}},
		{"server error", func(f *twiliofake.Server) { f.FailNext(1, twiliofake.Failure{Status: 500}) }, token, contact, "hi",
			want{saying: "500", reachesTwilio: true}},
		{"unavailable with Retry-After", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 503, RetryAfter: "2"})
		}, token, contact, "hi", want{retryAfter: 2 * time.Second, saying: "503", reachesTwilio: true}},
		{"another refusal", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 400, Code: 21606, Message: "The From phone number is not valid"})
		}, token, contact, "hi", want{permanent: true, saying: "error 21606: The From phone number is not valid", reachesTwilio: true}},
		{"a refusal that echoes the auth token", func(f *twiliofake.Server) {
			f.FailNext(1, twiliofake.Failure{Status: 400, Code: 21606, Message: "The From number is not valid for " + account + ":" + token})
		}, token, contact, "hi", want{permanent: true, saying: "error 21606", reachesTwilio: true}},
		{"too long", nil, token, contact, strings.Repeat("a", 1601), want{permanent: true, saying: "1601 characters long"}},
		{"too long in UTF-16", nil, token, contact, strings.Repeat("😀", 801), want{permanent: true, saying: "1602 characters long"}},
		{"empty", nil, token, contact, " \n", want{permanent: true, saying: "empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(twiliofake.Options{})
			defer fake.Close()
			if tc.prepare != nil {
				tc.prepare(fake)
			}
			a := newAdapter(t, settings(fake.URL), tc.secret, hookURL)
			_, err := a.Send(context.Background(), channels.Outgoing{To: tc.to, Text: tc.text})
			if err == nil {
				t.Fatal("Send succeeded")
			}
			noSecret(t, err)
			if strings.Contains(err.Error(), tc.secret) {
				t.Fatalf("the error holds the token used: %v", err)
			}
			wait, retry := outbox.RetryAfterOf(err)
			if outbox.IsPermanent(err) != tc.want.permanent || outbox.IsAuth(err) != tc.want.auth ||
				retry != (tc.want.retryAfter > 0) || wait != tc.want.retryAfter {
				t.Fatalf("error %q: permanent %v, auth %v, retry after %v %s; want %+v", err, outbox.IsPermanent(err),
					outbox.IsAuth(err), retry, wait, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want.saying) {
				t.Fatalf("error %q does not say %q", err, tc.want.saying)
			}
			if got := len(fake.Requests()) > 0; got != tc.want.reachesTwilio {
				t.Fatalf("reached Twilio: %v, want %v", got, tc.want.reachesTwilio)
			}
		})
	}
}

func TestSendWhenTwilioIsUnreachable(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	fake.Close()
	a := newAdapter(t, settings(fake.URL), token, hookURL)
	_, err := a.Send(context.Background(), channels.Outgoing{To: contact, Text: "hi"})
	if err == nil || outbox.IsPermanent(err) || outbox.IsAuth(err) {
		t.Fatalf("Send to a closed server: %v; want a temporary error", err)
	}
	noSecret(t, err)
}

func TestProbe(t *testing.T) {
	serviceOnly := settings("")
	serviceOnly.From, serviceOnly.MessagingServiceSID = "", service
	otherNumber := settings("")
	otherNumber.From = "+15005550009"
	tests := []struct {
		name    string
		sms     config.SMSChannel
		secret  string
		status  string
		auth    bool
		saying  string // "" for success
		lookups int    // IncomingPhoneNumbers calls
	}{
		{"active account and its number", settings(""), token, "", false, "", 1},
		{"service only: no number to look up", serviceOnly, token, "", false, "", 0},
		{"wrong auth token", settings(""), "wrong-token", "", true, "the account SID " + account + " or its auth token is wrong", 0},
		{"suspended account", settings(""), token, "suspended", false, "is suspended", 0},
		{"closed account", settings(""), token, "closed", false, "is closed", 0},
		{"an odd status", settings(""), token, "frozen", false, `is "frozen", not active`, 0},
		{"a number the account lacks", otherNumber, token, "", false, "has no phone number +15005550009", 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fake := twiliofake.New(twiliofake.Options{MessagingServiceSID: service})
			defer fake.Close()
			if tc.status != "" {
				fake.SetAccountStatus(tc.status)
			}
			tc.sms.APIBaseURL = fake.URL
			a := newAdapter(t, tc.sms, tc.secret, hookURL)
			for _, check := range []struct {
				name string
				fn   func(context.Context) error
			}{{"Probe", a.Probe}, {"Register", func(ctx context.Context) error { return a.Register(ctx, hookURL) }}} {
				err := check.fn(context.Background())
				noSecret(t, err)
				switch {
				case tc.saying == "" && err != nil:
					t.Fatalf("%s: %v", check.name, err)
				case tc.saying != "" && (err == nil || !strings.Contains(err.Error(), tc.saying)):
					t.Fatalf("%s = %v; want an error saying %q", check.name, err, tc.saying)
				case outbox.IsAuth(err) != tc.auth:
					t.Fatalf("%s: IsAuth(%v) = %v, want %v", check.name, err, outbox.IsAuth(err), tc.auth)
				}
			}
			lookups := 0
			for _, r := range fake.Requests() {
				if r.Method != http.MethodGet {
					t.Fatalf("probing changed something: %s %s", r.Method, r.Path)
				}
				if strings.HasSuffix(r.Path, "/IncomingPhoneNumbers.json") {
					lookups++
				}
			}
			if lookups != 2*tc.lookups {
				t.Fatalf("%d number lookups, want %d", lookups, 2*tc.lookups)
			}
		})
	}
}

func TestProbeWhenTwilioIsUnreachable(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	fake.Close()
	err := newAdapter(t, settings(fake.URL), token, hookURL).Probe(context.Background())
	if err == nil || outbox.IsAuth(err) || !strings.Contains(err.Error(), "reaching Twilio") {
		t.Fatalf("Probe of a closed server: %v", err)
	}
}

func TestDeregisterDoesNothing(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	defer fake.Close()
	if err := newAdapter(t, settings(fake.URL), token, hookURL).Deregister(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("Deregister made %d calls", n)
	}
}

// A message sent through the fake comes back as status callbacks to the channel's
// webhook, over HTTP, signed by the fake and verified by the adapter; an incoming text
// takes the same way.
func TestRoundTripThroughTheWebhook(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	defer fake.Close()
	var (
		mu     sync.Mutex
		events []channels.Event
		a      channels.Adapter
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		reply, err := a.Webhook(r, body)
		if err != nil {
			http.Error(w, err.Error(), err.(*channels.RequestError).Status)
			return
		}
		mu.Lock()
		events = append(events, reply.Events...)
		mu.Unlock()
	}))
	defer hook.Close()
	webhookURL := hook.URL + "/webhooks/sms"
	a = newAdapter(t, settings(fake.URL), token, webhookURL)
	ctx := context.Background()
	sent, err := a.Send(ctx, channels.Outgoing{To: contact, Text: "Your order shipped"})
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range []struct {
		status string
		code   int
	}{{"sent", 0}, {"undelivered", 30003}} {
		if status, err := fake.SendStatus(ctx, sent.ProviderID, st.status, st.code); err != nil || status != 200 {
			t.Fatalf("status callback %s: %d %v", st.status, status, err)
		}
	}
	if status, err := fake.Receive(ctx, webhookURL, twiliofake.Inbound{From: contact, Body: "STOP"}); err != nil || status != 200 {
		t.Fatalf("incoming text: %d %v", status, err)
	}
	mu.Lock()
	defer mu.Unlock()
	kinds := []channels.EventKind{}
	for _, ev := range events {
		kinds = append(kinds, ev.Kind)
	}
	wantKinds := []channels.EventKind{channels.EventDelivery, channels.EventDelivery, channels.EventOptOut, channels.EventMessage}
	if !slices.Equal(kinds, wantKinds) {
		t.Fatalf("events %+v", events)
	}
	if events[0].ProviderID != sent.ProviderID || events[0].Delivery != store.DeliverySent ||
		events[1].Delivery != store.DeliveryFailed || !strings.Contains(events[1].Error, "30003") {
		t.Fatalf("delivery events %+v", events[:2])
	}
	if events[3].Contact.ExternalID != contact || events[3].Text != "STOP" {
		t.Fatalf("incoming message %+v", events[3])
	}
}
