package whatsapp

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// FuzzWebhook: whatever the body and signature, the webhook never panics; a request
// whose signature does not verify is refused with a 4xx; a signed one is parsed into
// sound events or refused with a 4xx.
func FuzzWebhook(f *testing.F) {
	for _, wh := range []metafake.Webhook{
		metafake.WhatsAppTextWebhook(appSecret, phoneNumberID, waID, "Ana", "wamid.1", "hello", epoch),
		incoming("wamid.2", "image", map[string]any{"id": "1", "mime_type": "image/jpeg", "caption": "c"}),
		incoming("wamid.3", "document", map[string]any{"id": "2", "filename": "a.pdf"}),
		incoming("wamid.4", "location", map[string]any{"latitude": 1.5, "longitude": -2}),
		incoming("wamid.5", "interactive", map[string]any{"button_reply": map[string]any{"title": "Yes"}}),
		metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out", "read", epoch),
		metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out", "failed", epoch,
			metafake.WhatsAppError{Code: 131047, Title: "Re-engagement message"}),
	} {
		f.Add(wh.Body, "", true)
	}
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"statuses":[{"errors":[{"error_data":"x"}]}]}}]}]}`), "", true)
	f.Add(metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out", "failed", epoch).Body, "", true)
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"2002"},
		"messages":[{"id":"wamid.x","type":"text","text":{"body":"no sender"}},{"from":"1","type":"text","text":{"body":"no id"}}]}}]}]}`), "", true)
	text := metafake.WhatsAppTextWebhook(appSecret, phoneNumberID, waID, "Ana", "wamid.1", "hello", epoch).Body
	f.Add(text, metafake.Sign("another app's secret", text), false)
	f.Add(text, metafake.Sign(appSecret, append(text, ' ')), false)
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":null}`), "sha256=00", false)
	f.Add([]byte(`[]`), metafake.Sign(appSecret, []byte(`[]`)), false)
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
			switch {
			case ev.ProviderID == "":
				t.Fatalf("event without an id: %+v", ev)
			case ev.Kind == channels.EventMessage && ev.Contact.ExternalID == "":
				t.Fatalf("message without a contact: %+v", ev)
			case ev.Kind == channels.EventDelivery && ev.Delivery == store.DeliveryFailed && ev.Error == "":
				t.Fatalf("failure without a reason: %+v", ev)
			case ev.Kind != channels.EventMessage && ev.Kind != channels.EventDelivery:
				t.Fatalf("event kind %q", ev.Kind)
			}
		}
	})
}
