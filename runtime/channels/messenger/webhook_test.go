package messenger

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/metafake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

const hookURL = "https://chat.example.com/webhooks/fb"

func adapterForWebhooks(t *testing.T) *Adapter {
	t.Helper()
	return newAdapter(t, newFake(t), nil)
}

func item(key string, event any) map[string]any {
	return metafake.MessengerItem(pageID, psid, epoch, key, event)
}

func TestWebhookHandshake(t *testing.T) {
	a := adapterForWebhooks(t)
	reply, err := a.Webhook(metafake.VerifyRequest(hookURL, verifyToken, "8093"), nil)
	if err != nil || string(reply.Response) != "8093" || reply.Events != nil {
		t.Fatalf("handshake = %+v, %v", reply, err)
	}
	_, err = a.Webhook(metafake.VerifyRequest(hookURL, "guess", "8093"), nil)
	var re *channels.RequestError
	if !errors.As(err, &re) || re.Status != http.StatusForbidden {
		t.Fatalf("handshake with a wrong token = %v", err)
	}
}

func TestWebhookEvents(t *testing.T) {
	at := epoch
	contact := channels.Contact{ExternalID: psid}
	later := epoch.Add(time.Minute)
	tests := []struct {
		name string
		wh   metafake.Webhook
		want []channels.Event
	}{
		{"text", metafake.MessengerTextWebhook(appSecret, pageID, psid, "m_1", "Where is my order?", at),
			[]channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "m_1", Text: "Where is my order?", At: at}}},
		{"attachments", metafake.MessengerWebhook(appSecret, pageID, at, item("message", map[string]any{"mid": "m_2", "attachments": []any{
			map[string]any{"type": "image", "payload": map[string]any{"url": "https://cdn.example/i.jpg"}},
			map[string]any{"type": "image", "payload": map[string]any{"url": "https://cdn.example/s.png", "sticker_id": 369239263222822}},
			map[string]any{"type": "video", "payload": map[string]any{"url": "https://cdn.example/v.mp4"}},
			map[string]any{"type": "audio", "payload": map[string]any{"url": "https://cdn.example/a.mp4"}},
			map[string]any{"type": "file", "payload": map[string]any{"url": "https://cdn.example/f.pdf"}},
			map[string]any{"type": "location", "title": "Pinned Location", "payload": map[string]any{"coordinates": map[string]any{"lat": 52.52, "long": 13.405}}},
			map[string]any{"type": "template", "payload": map[string]any{"template_type": "generic"}},
		}})), []channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "m_2", At: at, Attachments: []channels.Attachment{
			{Kind: channels.AttachmentImage, Ref: "https://cdn.example/i.jpg"},
			{Kind: channels.AttachmentImage, Ref: "https://cdn.example/s.png"},
			{Kind: channels.AttachmentVideo, Ref: "https://cdn.example/v.mp4"},
			{Kind: channels.AttachmentAudio, Ref: "https://cdn.example/a.mp4"},
			{Kind: channels.AttachmentDocument, Ref: "https://cdn.example/f.pdf"},
			{Kind: channels.AttachmentLocation, Name: "Pinned Location", Latitude: 52.52, Longitude: 13.405},
		}}}},
		{"shared link", metafake.MessengerWebhook(appSecret, pageID, at, item("message", map[string]any{"mid": "m_3", "text": "look",
			"attachments": []any{map[string]any{"type": "fallback", "payload": map[string]any{"url": "https://shop.example/p/1", "title": "Blue shoes"}}}})),
			[]channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "m_3", Text: "look\nBlue shoes https://shop.example/p/1", At: at}}},
		{"postback", metafake.MessengerWebhook(appSecret, pageID, at, item("postback", map[string]any{"mid": "m_4", "title": "Talk to a human", "payload": "HUMAN"})),
			[]channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "postback:m_4", Text: "Talk to a human", At: at}}},
		{"postback without a mid", metafake.MessengerWebhook(appSecret, pageID, at, item("postback", map[string]any{"title": "Get Started", "payload": "START"})),
			[]channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "postback:4004:1740830400000", Text: "Get Started", At: at}}},
		{"delivery with mids", metafake.MessengerDeliveryWebhook(appSecret, pageID, psid, []string{"m_a", "m_b"}, later),
			[]channels.Event{
				{Kind: channels.EventDelivery, Contact: contact, ProviderID: "m_a", Delivery: store.DeliveryDelivered, At: later},
				{Kind: channels.EventDelivery, Contact: contact, ProviderID: "m_b", Delivery: store.DeliveryDelivered, At: later},
				{Kind: channels.EventDelivery, Contact: contact, Delivery: store.DeliveryDelivered, Watermark: later, At: later}}},
		{"delivery with a watermark only", metafake.MessengerDeliveryWebhook(appSecret, pageID, psid, nil, later),
			[]channels.Event{{Kind: channels.EventDelivery, Contact: contact, Delivery: store.DeliveryDelivered, Watermark: later, At: later}}},
		{"read", metafake.MessengerReadWebhook(appSecret, pageID, psid, later),
			[]channels.Event{{Kind: channels.EventDelivery, Contact: contact, Delivery: store.DeliveryRead, Watermark: later, At: later}}},
		{"echo", metafake.MessengerWebhook(appSecret, pageID, at, item("message", map[string]any{"mid": "m_5", "text": "our reply", "is_echo": true, "app_id": 1517776481860111})),
			nil},
		{"pass thread control", metafake.MessengerWebhook(appSecret, pageID, at, item("pass_thread_control",
			map[string]any{"previous_owner_app_id": "6006", "new_owner_app_id": "5005", "metadata": "human please"})),
			[]channels.Event{{Kind: channels.EventHandover, Contact: contact, Text: "thread control passed from app 6006 to app 5005", At: at}}},
		{"take thread control from idle", metafake.MessengerWebhook(appSecret, pageID, at, item("take_thread_control",
			map[string]any{"previous_owner_app_id": nil, "new_owner_app_id": 6006})),
			[]channels.Event{{Kind: channels.EventHandover, Contact: contact, Text: "app 6006 took thread control from no app (idle)", At: at}}},
		{"request thread control", metafake.MessengerWebhook(appSecret, pageID, at, item("request_thread_control",
			map[string]any{"requested_owner_app_id": "6006"})),
			[]channels.Event{{Kind: channels.EventHandover, Contact: contact, Text: "app 6006 asks for thread control", At: at}}},
		{"standby while the bot holds the thread", metafake.Signed(appSecret, []byte(`{"object":"page","entry":[{"id":"1001","time":1,
			"standby":[{"sender":{"id":"4004"},"recipient":{"id":"1001"},"timestamp":1740830400000,"message":{"mid":"m_6","text":"bot, help"}}]}]}`)),
			[]channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "m_6", Text: "bot, help", At: at}}},
		{"another page", metafake.MessengerTextWebhook(appSecret, "1009", psid, "m_7", "not ours", at), nil},
		{"another object", metafake.Signed(appSecret, []byte(`{"object":"instagram","entry":[{"id":"1001","messaging":[
			{"sender":{"id":"4004"},"recipient":{"id":"1001"},"timestamp":1740830400000,"message":{"mid":"m_ig","text":"from Instagram"}}]}]}`)), nil},
		{"in order across entries", metafake.Signed(appSecret, []byte(`{"object":"page","entry":[
			{"id":"1001","messaging":[{"sender":{"id":"4004"},"recipient":{"id":"1001"},"timestamp":"1740830400000","message":{"mid":"m_8","text":"one"}}]},
			{"id":"1009","messaging":[{"sender":{"id":"4004"},"recipient":{"id":"1009"},"timestamp":1740830400000,"message":{"mid":"m_x","text":"other page"}}]},
			{"id":1001,"messaging":[{"sender":{"id":4004},"recipient":{"id":"1001"},"timestamp":1740830400000,"message":{"mid":"m_9","text":"two"}},
				{"sender":{"id":"4004"},"recipient":{"id":"1001"},"timestamp":1740830400000,"message":{"mid":"m_10"}},
				{"sender":{},"recipient":{"id":"1001"},"timestamp":1740830400000,"message":{"mid":"m_11","text":"nobody"}},
				{"sender":{"id":"4004"},"recipient":{"id":"1001"},"timestamp":1740830400000,"reaction":{"mid":"m_8","action":"react"}}]}]}`)),
			[]channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: "m_8", Text: "one", At: at},
				{Kind: channels.EventMessage, Contact: contact, ProviderID: "m_9", Text: "two", At: at}}},
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

// webhookRefusals are requests the webhook must refuse.
func webhookRefusals() []refusal {
	good := metafake.MessengerTextWebhook(appSecret, pageID, psid, "m_1", "hi", epoch)
	unsigned := good.Request(hookURL)
	unsigned.Header.Del(metafake.SignatureHeader)
	altered := []byte(strings.Replace(string(good.Body), `"hi"`, `"hi, I am someone else"`, 1))
	malformed := metafake.Signed(appSecret, []byte(`{"object":"page","entry":[{"id":"1001","messaging":[{"sender":`))
	wrongType := metafake.Signed(appSecret, []byte(`{"object":"page","entry":[{"id":"1001","messaging":[{"sender":{"id":"4004"},"timestamp":"soon"}]}]}`))
	notAnObject := metafake.Signed(appSecret, []byte(`["page"]`))
	return []refusal{
		{"unsigned", unsigned, good.Body, http.StatusForbidden},
		{"signed with another secret", metafake.Signed("another-secret", good.Body).Request(hookURL), good.Body, http.StatusForbidden},
		{"body altered after signing", good.Request(hookURL), altered, http.StatusForbidden},
		{"malformed JSON", malformed.Request(hookURL), malformed.Body, http.StatusBadRequest},
		{"wrong type", wrongType.Request(hookURL), wrongType.Body, http.StatusBadRequest},
		{"not an object", notAnObject.Request(hookURL), notAnObject.Body, http.StatusBadRequest},
		{"a PUT", httptest.NewRequest(http.MethodPut, hookURL, nil), nil, http.StatusMethodNotAllowed},
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
