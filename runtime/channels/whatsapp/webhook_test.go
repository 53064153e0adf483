package whatsapp

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

const hookURL = "https://chat.example.com/webhooks/wa"

func adapterForWebhooks(t *testing.T) *Adapter {
	t.Helper()
	return newAdapter(t, newFake(t), nil)
}

// incoming is a delivery of one message of typ from the contact named Ana.
func incoming(wamid, typ string, content any) metafake.Webhook {
	return metafake.WhatsAppWebhook(appSecret, phoneNumberID, map[string]any{
		"contacts": []any{metafake.WhatsAppContact(waID, "Ana")},
		"messages": []any{metafake.WhatsAppMessage(waID, wamid, typ, epoch, content)}})
}

func TestWebhookHandshake(t *testing.T) {
	a := adapterForWebhooks(t)
	reply, err := a.Webhook(metafake.VerifyRequest(hookURL, verifyToken, "1158201444"), nil)
	if err != nil || string(reply.Response) != "1158201444" {
		t.Fatalf("handshake = %+v, %v", reply, err)
	}
	var re *channels.RequestError
	if _, err := a.Webhook(metafake.VerifyRequest(hookURL, "nope", "1"), nil); !errors.As(err, &re) || re.Status != 403 {
		t.Fatalf("handshake with a wrong token = %v", err)
	}
}

func TestWebhookEvents(t *testing.T) {
	ana := channels.Contact{ExternalID: waID, Name: "Ana", Phone: "+" + waID}
	msg := func(id, text string, att ...channels.Attachment) []channels.Event {
		return []channels.Event{{Kind: channels.EventMessage, Contact: ana, ProviderID: id, Text: text, Attachments: att, At: epoch}}
	}
	status := func(id string, state store.DeliveryState, reason string) []channels.Event {
		return []channels.Event{{Kind: channels.EventDelivery, Contact: channels.Contact{ExternalID: waID}, ProviderID: id,
			Delivery: state, Error: reason, At: epoch}}
	}
	tests := []struct {
		name string
		wh   metafake.Webhook
		want []channels.Event
	}{
		{"text", metafake.WhatsAppTextWebhook(appSecret, phoneNumberID, waID, "Ana", "wamid.1", "Does it come in blue?", epoch),
			msg("wamid.1", "Does it come in blue?")},
		{"image with a caption", incoming("wamid.2", "image", map[string]any{"id": "1479537139650973", "mime_type": "image/jpeg", "sha256": "x", "caption": "this one"}),
			msg("wamid.2", "this one", channels.Attachment{Kind: channels.AttachmentImage, Ref: "1479537139650973", ContentType: "image/jpeg"})},
		{"document", incoming("wamid.3", "document", map[string]any{"id": "555", "mime_type": "application/pdf", "filename": "invoice.pdf"}),
			msg("wamid.3", "", channels.Attachment{Kind: channels.AttachmentDocument, Ref: "555", Name: "invoice.pdf", ContentType: "application/pdf"})},
		{"audio", incoming("wamid.4", "audio", map[string]any{"id": "556", "mime_type": "audio/ogg; codecs=opus", "voice": true}),
			msg("wamid.4", "", channels.Attachment{Kind: channels.AttachmentAudio, Ref: "556", ContentType: "audio/ogg; codecs=opus"})},
		{"video", incoming("wamid.5", "video", map[string]any{"id": "557", "mime_type": "video/mp4"}),
			msg("wamid.5", "", channels.Attachment{Kind: channels.AttachmentVideo, Ref: "557", ContentType: "video/mp4"})},
		{"sticker", incoming("wamid.6", "sticker", map[string]any{"id": "558", "mime_type": "image/webp", "animated": false}),
			msg("wamid.6", "", channels.Attachment{Kind: channels.AttachmentImage, Ref: "558", ContentType: "image/webp"})},
		{"location", incoming("wamid.7", "location", map[string]any{"latitude": 38.9, "longitude": -77.03, "name": "Shop", "address": "1 Main St"}),
			msg("wamid.7", "", channels.Attachment{Kind: channels.AttachmentLocation, Name: "Shop", Latitude: 38.9, Longitude: -77.03})},
		{"reply button", incoming("wamid.8", "interactive", map[string]any{"type": "button_reply", "button_reply": map[string]any{"id": "b1", "title": "Yes, please"}}),
			msg("wamid.8", "Yes, please")},
		{"list row", incoming("wamid.9", "interactive", map[string]any{"type": "list_reply", "list_reply": map[string]any{"id": "r1", "title": "Returns"}}),
			msg("wamid.9", "Returns")},
		{"template button", incoming("wamid.10", "button", map[string]any{"text": "Stop promotions", "payload": "STOP"}),
			msg("wamid.10", "Stop promotions")},
		{"reaction", incoming("wamid.11", "reaction", map[string]any{"message_id": "wamid.1", "emoji": "👍"}), nil},
		{"unsupported", incoming("wamid.12", "unsupported", map[string]any{}), nil},
		{"sent", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out1", "sent", epoch), status("wamid.out1", store.DeliverySent, "")},
		{"delivered", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out1", "delivered", epoch), status("wamid.out1", store.DeliveryDelivered, "")},
		{"read", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out1", "read", epoch), status("wamid.out1", store.DeliveryRead, "")},
		{"failed outside the window", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out2", "failed", epoch,
			metafake.WhatsAppError{Code: 131047, Title: "Re-engagement message", Details: "More than 24 hours have passed since the recipient last replied."}),
			status("wamid.out2", store.DeliveryFailed, "more than 24 hours since the contact's last message: WhatsApp requires a template message to reopen the conversation "+
				"(Re-engagement message: More than 24 hours have passed since the recipient last replied. (code 131047))")},
		{"failed for another reason", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out3", "failed", epoch,
			metafake.WhatsAppError{Code: 131053, Title: "Media upload error", Details: "Unsupported file."}),
			status("wamid.out3", store.DeliveryFailed, "Media upload error: Unsupported file. (code 131053)")},
		{"failed without errors", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out4", "failed", epoch),
			status("wamid.out4", store.DeliveryFailed, "WhatsApp reported the message failed without saying why")},
		{"deleted", metafake.WhatsAppStatusWebhook(appSecret, phoneNumberID, waID, "wamid.out5", "deleted", epoch), nil},
		{"another phone number", metafake.WhatsAppTextWebhook(appSecret, "2009", waID, "Ana", "wamid.13", "not ours", epoch), nil},
		{"another field", metafake.Signed(appSecret, []byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[
			{"field":"message_template_status_update","value":{"metadata":{"phone_number_id":"2002"},"messages":[{"from":"15550001111","id":"wamid.x","type":"text","text":{"body":"no"}}]}}]}]}`)), nil},
		{"another object", metafake.Signed(appSecret, []byte(`{"object":"page","entry":[]}`)), nil},
		{"messages then statuses, without a contact name", metafake.WhatsAppWebhook(appSecret, phoneNumberID, map[string]any{
			"messages": []any{metafake.WhatsAppMessage(waID, "wamid.14", "text", epoch, map[string]string{"body": "first"}),
				map[string]any{"from": "", "id": "wamid.15", "type": "text", "text": map[string]string{"body": "nobody"}},
				metafake.WhatsAppMessage(waID, "", "text", epoch, map[string]string{"body": "no id"})},
			"statuses": []any{map[string]any{"id": "wamid.out6", "status": "delivered", "timestamp": epoch.Unix(), "recipient_id": 15550001111}}}),
			[]channels.Event{{Kind: channels.EventMessage, Contact: channels.Contact{ExternalID: waID, Phone: "+" + waID}, ProviderID: "wamid.14", Text: "first", At: epoch},
				{Kind: channels.EventDelivery, Contact: channels.Contact{ExternalID: waID}, ProviderID: "wamid.out6", Delivery: store.DeliveryDelivered, At: epoch}}},
	}
	a := adapterForWebhooks(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, err := a.Webhook(tt.wh.Request(hookURL), tt.wh.Body)
			if err != nil {
				t.Fatal(err)
			}
			if reply.Response != nil || !reflect.DeepEqual(reply.Events, tt.want) {
				t.Fatalf("events:\n got %+v\nwant %+v", reply.Events, tt.want)
			}
		})
	}
}

type refusal struct {
	name   string
	req    *http.Request
	body   []byte
	status int
}

func webhookRefusals() []refusal {
	good := metafake.WhatsAppTextWebhook(appSecret, phoneNumberID, waID, "Ana", "wamid.1", "hi", epoch)
	unsigned := good.Request(hookURL)
	unsigned.Header.Del(metafake.SignatureHeader)
	altered := []byte(strings.Replace(string(good.Body), `"hi"`, `"send the refund to me"`, 1))
	malformed := metafake.Signed(appSecret, []byte(`{"object":"whatsapp_business_account","entry":[`))
	wrongType := metafake.Signed(appSecret, []byte(`{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"timestamp":"noon"}]}}]}]}`))
	return []refusal{
		{"unsigned", unsigned, good.Body, http.StatusForbidden},
		{"signed with another secret", metafake.Signed("another-secret", good.Body).Request(hookURL), good.Body, http.StatusForbidden},
		{"body altered after signing", good.Request(hookURL), altered, http.StatusForbidden},
		{"malformed JSON", malformed.Request(hookURL), malformed.Body, http.StatusBadRequest},
		{"wrong type", wrongType.Request(hookURL), wrongType.Body, http.StatusBadRequest},
		{"a DELETE", httptest.NewRequest(http.MethodDelete, hookURL, nil), nil, http.StatusMethodNotAllowed},
	}
}

func TestWebhookRefusals(t *testing.T) {
	a := adapterForWebhooks(t)
	for _, r := range webhookRefusals() {
		t.Run(r.name, func(t *testing.T) {
			reply, err := a.Webhook(r.req, r.body)
			var re *channels.RequestError
			if !errors.As(err, &re) || re.Status != r.status {
				t.Fatalf("Webhook = %+v, %v; want a %d refusal", reply, err, r.status)
			}
			if reply.Events != nil || reply.Response != nil {
				t.Fatalf("a refused request brought %+v", reply)
			}
		})
	}
}
