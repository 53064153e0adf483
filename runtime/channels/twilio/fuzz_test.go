package twilio_test

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Signing modes of a fuzzed request.
const (
	unsigned = iota
	forged   // a signature the fuzzer made up
	signed   // signed with the channel's token, over whatever the body parses to
)

// FuzzWebhook: no input panics; a request not signed with the token is always refused
// with a 4xx; a signed one is either refused with a 4xx or brings well-formed events.
func FuzzWebhook(f *testing.F) {
	seeds := []url.Values{
		incoming("hello").Params(),
		incoming("STOP").Params(),
		func() url.Values {
			in := incoming("")
			in.Media = []twiliofake.Media{{URL: "https://api.twilio.com/m/0", ContentType: "image/jpeg"}}
			return in.Params()
		}(),
		func() url.Values { in := incoming("PARAR"); in.OptOutType = "STOP"; return in.Params() }(),
		statusParams("delivered", 0),
		statusParams("undelivered", 30003),
		statusParams("queued", 0),
	}
	for _, p := range seeds {
		body := p.Encode()
		f.Add(body, uint8(signed), "")
		f.Add(body, uint8(unsigned), "")
		f.Add(body, uint8(forged), twiliofake.Sign("not-the-token", hookURL, p))
	}
	f.Add("NumMedia=99999999999999999999&MessageSid=SM1&From=%2B1&To=%2B15005550006&AccountSid="+account, uint8(signed), "")
	f.Add("a=%zz", uint8(signed), "")
	f.Add("", uint8(signed), "")
	a := newAdapter(f, settings(""), token, hookURL)
	f.Fuzz(func(t *testing.T, body string, mode uint8, signature string) {
		mode %= 3
		r, err := http.NewRequest(http.MethodPost, hookURL, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		switch mode {
		case forged:
			r.Header.Set(twiliofake.SignatureHeader, signature)
		case signed:
			params, _ := url.ParseQuery(body)
			r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, hookURL, params))
		}
		reply, err := a.Webhook(r, []byte(body))
		if err != nil {
			var re *channels.RequestError
			if !errors.As(err, &re) || re.Status < 400 || re.Status > 499 || re.Reason == "" || re.Message == "" {
				t.Fatalf("refusal %v (%T) is not a 4xx *channels.RequestError", err, err)
			}
			if len(reply.Events) != 0 {
				t.Fatalf("a refused request brought events: %+v", reply.Events)
			}
			noSecret(t, err)
			return
		}
		if mode != signed {
			t.Fatalf("a request not signed with the token was taken: %q", body)
		}
		for _, ev := range reply.Events {
			checkEvent(t, ev)
		}
	})
}

// checkEvent asserts that an event is one the manager can commit.
func checkEvent(t *testing.T, ev channels.Event) {
	t.Helper()
	switch ev.Kind {
	case channels.EventMessage:
		if ev.ProviderID == "" || ev.Contact.ExternalID == "" {
			t.Fatalf("message without id or contact: %+v", ev)
		}
		for _, at := range ev.Attachments {
			if at.Ref == "" || at.Kind == "" {
				t.Fatalf("attachment without ref or kind: %+v", at)
			}
		}
	case channels.EventDelivery:
		switch ev.Delivery {
		case store.DeliverySent, store.DeliveryDelivered, store.DeliveryRead, store.DeliveryFailed:
		default:
			t.Fatalf("delivery state %q", ev.Delivery)
		}
		if ev.ProviderID == "" {
			t.Fatalf("delivery without a message id: %+v", ev)
		}
	case channels.EventOptOut, channels.EventOptIn:
		if ev.Contact.ExternalID == "" {
			t.Fatalf("opt event without a contact: %+v", ev)
		}
	default:
		t.Fatalf("event kind %q", ev.Kind)
	}
}
