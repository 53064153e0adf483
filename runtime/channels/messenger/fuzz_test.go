package messenger

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// FuzzWebhook: whatever the body and signature, the webhook never panics; a request
// whose signature does not verify is refused with a 4xx; a signed one is parsed into
// sound events or refused with a 4xx.
func FuzzWebhook(f *testing.F) {
	later := epoch.Add(time.Minute)
	for _, wh := range []metafake.Webhook{
		metafake.MessengerTextWebhook(appSecret, pageID, psid, "m_1", "hello", epoch),
		metafake.MessengerDeliveryWebhook(appSecret, pageID, psid, []string{"m_a"}, later),
		metafake.MessengerReadWebhook(appSecret, pageID, psid, later),
		metafake.MessengerWebhook(appSecret, pageID, epoch, item("postback", map[string]any{"mid": "m_4", "title": "Yes"})),
		metafake.MessengerWebhook(appSecret, pageID, epoch, item("message", map[string]any{"mid": "m_2", "attachments": []any{
			map[string]any{"type": "location", "payload": map[string]any{"coordinates": map[string]any{"lat": 1.5, "long": 2}}},
			map[string]any{"type": "fallback", "title": "t", "url": "https://x"}}})),
		metafake.MessengerWebhook(appSecret, pageID, epoch, item("pass_thread_control", map[string]any{"new_owner_app_id": 1})),
	} {
		f.Add(wh.Body, "", true)
	}
	f.Add([]byte(`{"object":"page","entry":[{"id":"1001","messaging":[{"sender":{"id":"4004"},"timestamp":"x"}]}]}`), "", true)
	f.Add([]byte(`{"object":"page","entry":[{"id":"1001","messaging":[{"sender":{"id":"4004"},"message":{"text":"no mid"}}]}]}`), "", true)
	text := metafake.MessengerTextWebhook(appSecret, pageID, psid, "m_1", "hello", epoch).Body
	f.Add(text, metafake.Sign("another app's secret", text), false)
	f.Add(text, metafake.Sign(appSecret, append(text, ' ')), false)
	f.Add([]byte(`{"object":"page","entry":null}`), "sha256=00", false)
	f.Add([]byte(`not json`), metafake.Sign(appSecret, []byte(`not json`)), false)
	f.Add([]byte{}, "", false)

	// Webhooks make no calls: the Graph API's address does not matter.
	adapter, err := New(spec(testChannel("https://graph.invalid"), secretValues))
	if err != nil {
		f.Fatal(err)
	}
	a := adapter.(*Adapter)
	f.Fuzz(func(t *testing.T, body []byte, signature string, sign bool) {
		if sign {
			signature = metafake.Sign(appSecret, body)
		}
		r := httptest.NewRequest(http.MethodPost, hookURL, bytes.NewReader(body))
		if signature != "" {
			r.Header.Set(metafake.SignatureHeader, signature)
		}
		reply, err := a.Webhook(r, body)
		var re *channels.RequestError
		if err != nil && (!errors.As(err, &re) || re.Status < 400 || re.Status > 499) {
			t.Fatalf("error %v is not a 4xx refusal", err)
		}
		if signature != metafake.Sign(appSecret, body) {
			if err == nil {
				t.Fatalf("a request signed %q was taken", signature)
			}
			return
		}
		if err != nil {
			return
		}
		for _, ev := range reply.Events {
			checkEvent(t, ev)
		}
	})
}

// checkEvent fails for an event the manager could not use.
func checkEvent(t *testing.T, ev channels.Event) {
	t.Helper()
	if ev.Contact.ExternalID == "" {
		t.Fatalf("event without a contact: %+v", ev)
	}
	switch ev.Kind {
	case channels.EventMessage:
		if ev.ProviderID == "" {
			t.Fatalf("message without an id: %+v", ev)
		}
	case channels.EventDelivery:
		if ev.ProviderID == "" && ev.Watermark.IsZero() {
			t.Fatalf("delivery that names no message: %+v", ev)
		}
		if ev.Delivery != store.DeliveryDelivered && ev.Delivery != store.DeliveryRead {
			t.Fatalf("delivery state %q", ev.Delivery)
		}
	case channels.EventHandover:
	default:
		t.Fatalf("event kind %q", ev.Kind)
	}
}
