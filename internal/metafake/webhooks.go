package metafake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// SignatureHeader is where Meta puts a delivery's signature.
const SignatureHeader = "X-Hub-Signature-256"

// BusinessAccountID is the entry id of the WhatsApp webhooks built here.
const BusinessAccountID = "100000000000001"

// Sign is the X-Hub-Signature-256 value of body: "sha256=" and the hex HMAC-SHA256
// keyed with the app secret.
func Sign(appSecret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(appSecret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// Webhook is a delivery as Meta makes it: a JSON body and its signature.
type Webhook struct {
	Body      []byte
	Signature string
}

// Signed signs body with the app secret.
func Signed(appSecret string, body []byte) Webhook {
	return Webhook{Body: body, Signature: Sign(appSecret, body)}
}

// Request is the POST Meta makes to target with the delivery.
func (wh Webhook) Request(target string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(wh.Body))
	if err != nil {
		panic("metafake: " + err.Error())
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "facebookexternalua")
	r.Header.Set(SignatureHeader, wh.Signature)
	return r
}

// VerifyRequest is the GET Meta makes to target when the webhook is set up.
func VerifyRequest(target, verifyToken, challenge string) *http.Request {
	q := url.Values{"hub.mode": {"subscribe"}, "hub.verify_token": {verifyToken}, "hub.challenge": {challenge}}
	r, err := http.NewRequest(http.MethodGet, target+"?"+q.Encode(), nil)
	if err != nil {
		panic("metafake: " + err.Error())
	}
	r.Header.Set("User-Agent", "facebookplatform/1.0 (+http://developers.facebook.com)")
	return r
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic("metafake: " + err.Error())
	}
	return b
}

// MessengerWebhook is a Page delivery of messaging items (each a JSON object of one
// event: sender, recipient, timestamp and message, postback, delivery, read, …).
func MessengerWebhook(appSecret, pageID string, at time.Time, messaging ...any) Webhook {
	return Signed(appSecret, mustJSON(map[string]any{"object": "page", "entry": []any{
		map[string]any{"id": pageID, "time": at.UnixMilli(), "messaging": messaging}}}))
}

// MessengerItem is one messaging item from psid to the Page with event under key
// ("message", "postback", "delivery", "read", "pass_thread_control", …).
func MessengerItem(pageID, psid string, at time.Time, key string, event any) map[string]any {
	return map[string]any{"sender": map[string]string{"id": psid}, "recipient": map[string]string{"id": pageID},
		"timestamp": at.UnixMilli(), key: event}
}

// MessengerTextWebhook is a text message from psid to the Page.
func MessengerTextWebhook(appSecret, pageID, psid, mid, text string, at time.Time) Webhook {
	return MessengerWebhook(appSecret, pageID, at,
		MessengerItem(pageID, psid, at, "message", map[string]any{"mid": mid, "text": text}))
}

// MessengerDeliveryWebhook says the Page's messages mids (may be empty) to psid, and
// every one before watermark, were delivered.
func MessengerDeliveryWebhook(appSecret, pageID, psid string, mids []string, watermark time.Time) Webhook {
	d := map[string]any{"watermark": watermark.UnixMilli()}
	if len(mids) > 0 {
		d["mids"] = mids
	}
	return MessengerWebhook(appSecret, pageID, watermark, map[string]any{"sender": map[string]string{"id": psid},
		"recipient": map[string]string{"id": pageID}, "delivery": d})
}

// MessengerReadWebhook says psid read every message of the Page up to watermark.
func MessengerReadWebhook(appSecret, pageID, psid string, watermark time.Time) Webhook {
	return MessengerWebhook(appSecret, pageID, watermark,
		MessengerItem(pageID, psid, watermark, "read", map[string]any{"watermark": watermark.UnixMilli()}))
}

// WhatsAppWebhook is a "messages" delivery for the phone number; value holds its
// contacts, messages or statuses (messaging_product and metadata are added).
func WhatsAppWebhook(appSecret, phoneNumberID string, value map[string]any) Webhook {
	v := map[string]any{"messaging_product": "whatsapp",
		"metadata": map[string]string{"display_phone_number": "15550100000", "phone_number_id": phoneNumberID}}
	for k, x := range value {
		v[k] = x
	}
	return Signed(appSecret, mustJSON(map[string]any{"object": "whatsapp_business_account", "entry": []any{
		map[string]any{"id": BusinessAccountID, "changes": []any{map[string]any{"field": "messages", "value": v}}}}}))
}

// WhatsAppMessage is one entry of value.messages from waID with content under typ
// ("text", "image", "document", "location", …).
func WhatsAppMessage(waID, wamid, typ string, at time.Time, content any) map[string]any {
	return map[string]any{"from": waID, "id": wamid, "timestamp": strconv.FormatInt(at.Unix(), 10), "type": typ, typ: content}
}

// WhatsAppContact is one entry of value.contacts.
func WhatsAppContact(waID, name string) map[string]any {
	return map[string]any{"profile": map[string]string{"name": name}, "wa_id": waID}
}

// WhatsAppTextWebhook is a text message from waID, whose profile name is name.
func WhatsAppTextWebhook(appSecret, phoneNumberID, waID, name, wamid, text string, at time.Time) Webhook {
	return WhatsAppWebhook(appSecret, phoneNumberID, map[string]any{
		"contacts": []any{WhatsAppContact(waID, name)},
		"messages": []any{WhatsAppMessage(waID, wamid, "text", at, map[string]string{"body": text})}})
}

// WhatsAppError is an entry of a failed status's errors.
type WhatsAppError struct {
	Code    int
	Title   string
	Details string
}

// WhatsAppStatusWebhook is news of the business's message wamid to recipient:
// status is sent, delivered, read or failed (with errs).
func WhatsAppStatusWebhook(appSecret, phoneNumberID, recipient, wamid, status string, at time.Time, errs ...WhatsAppError) Webhook {
	st := map[string]any{"id": wamid, "status": status, "timestamp": strconv.FormatInt(at.Unix(), 10), "recipient_id": recipient}
	if len(errs) > 0 {
		var list []any
		for _, e := range errs {
			list = append(list, map[string]any{"code": e.Code, "title": e.Title, "message": e.Title,
				"error_data": map[string]string{"details": e.Details}})
		}
		st["errors"] = list
	}
	return WhatsAppWebhook(appSecret, phoneNumberID, map[string]any{"statuses": []any{st}})
}
