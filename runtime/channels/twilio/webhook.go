package twilio

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// SignatureHeader carries Twilio's signature of a webhook request.
const SignatureHeader = "X-Twilio-Signature"

// maxMedia is the most media Twilio attaches to one message.
const maxMedia = 10

// e164 is a phone number in E.164 form.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Webhook verifies and parses a request Twilio made: an incoming text, or a status
// callback of one of our messages.
//
// Twilio signs the URL it was configured with, so the signature is checked against
// the channel's public webhook URL. A channel without one (its LiveChat has no public
// https URL) checks against the URL the request arrived at, as the proxy in front
// describes it: the scheme from X-Forwarded-Proto (else the connection's), the host
// from Host, and the path and query as received. Either way, the URL is also tried
// with its default port added or removed, as Twilio signs with or without it.
func (a *Adapter) Webhook(r *http.Request, body []byte) (channels.Reply, error) {
	if r.Method != http.MethodPost {
		return channels.Reply{}, &channels.RequestError{Status: http.StatusMethodNotAllowed, Reason: "malformed",
			Message: "Twilio webhooks are POST requests; configure the number's webhook with HTTP POST"}
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/x-www-form-urlencoded" {
		return channels.Reply{}, channels.Malformed("expected a form body (application/x-www-form-urlencoded), as Twilio sends")
	}
	sig := r.Header.Get(SignatureHeader)
	if sig == "" {
		return channels.Reply{}, channels.Forged("the request has no %s header: it does not come from Twilio", SignatureHeader)
	}
	params, err := url.ParseQuery(string(body))
	if err != nil {
		return channels.Reply{}, channels.Malformed("the form body does not parse")
	}
	signed := a.signedURL(r)
	if !a.verify(sig, signed, params) {
		return channels.Reply{}, channels.Forged("%s does not match: the request was not signed with this channel's auth token for %s",
			SignatureHeader, clip(signed, 300))
	}
	if got := params.Get("AccountSid"); !strings.EqualFold(got, a.accountSID) {
		return channels.Reply{}, channels.Forged("the request is for Twilio account %q, not this channel's %s", clip(got, 40), a.accountSID)
	}
	if st := params.Get("MessageStatus"); st != "" && st != "received" && st != "receiving" {
		return a.statusCallback(params, st)
	}
	return a.incoming(params)
}

// signedURL is the URL Twilio signed.
func (a *Adapter) signedURL(r *http.Request) string {
	if a.webhookURL != "" {
		return a.webhookURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	if p, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ","); p != "" {
		if p = strings.ToLower(strings.TrimSpace(p)); p == "http" || p == "https" {
			scheme = p
		}
	}
	uri := r.RequestURI // as received, escapes and all
	if !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	return scheme + "://" + r.Host + uri
}

// verify checks sig against the signatures of the URL with and without its default
// port, in constant time.
func (a *Adapter) verify(sig, signedURL string, params url.Values) bool {
	got, err := base64.StdEncoding.DecodeString(sig)
	if err != nil {
		return false
	}
	ok := false
	for _, u := range portVariants(signedURL) {
		ok = hmac.Equal(got, signature(a.token, u, params)) || ok
	}
	return ok
}

// signature is Twilio's HMAC-SHA1, keyed with the auth token, of the URL followed by
// every parameter's name and value, sorted by name.
func signature(token, u string, params url.Values) []byte {
	mac := hmac.New(sha1.New, []byte(token))
	mac.Write([]byte(u))
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		for _, v := range vs {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return mac.Sum(nil)
}

// portVariants returns u, and u with its scheme's default port added when it has no
// port, or removed when it has the default one.
func portVariants(u string) []string {
	p, err := url.Parse(u)
	if err != nil || p.Host == "" {
		return []string{u}
	}
	def := map[string]string{"https": "443", "http": "80"}[p.Scheme]
	if def == "" {
		return []string{u}
	}
	q := *p
	switch port := p.Port(); port {
	case "":
		q.Host = net.JoinHostPort(p.Hostname(), def)
	case def:
		q.Host = strings.TrimSuffix(p.Host, ":"+def)
	default:
		return []string{u}
	}
	return []string{u, q.String()}
}

// incoming parses an incoming text.
func (a *Adapter) incoming(params url.Values) (channels.Reply, error) {
	sid := firstOf(params, "MessageSid", "SmsMessageSid", "SmsSid")
	if sid == "" {
		return channels.Reply{}, channels.Malformed("the message has no MessageSid")
	}
	from := params.Get("From")
	if from == "" {
		return channels.Reply{}, channels.Malformed("the message has no From")
	}
	if err := a.checkRecipient(params); err != nil {
		return channels.Reply{}, err
	}
	contact := channels.Contact{ExternalID: from}
	if e164.MatchString(from) {
		contact.Phone = from
	}
	msg := channels.Event{Kind: channels.EventMessage, Contact: contact, ProviderID: sid, Text: params.Get("Body")}
	if v := params.Get("NumMedia"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return channels.Reply{}, channels.Malformed("NumMedia %q is not a count", clip(v, 20))
		}
		for i := range min(n, maxMedia) {
			ref := params.Get("MediaUrl" + strconv.Itoa(i))
			if ref == "" {
				continue
			}
			ct := params.Get("MediaContentType" + strconv.Itoa(i))
			msg.Attachments = append(msg.Attachments, channels.Attachment{Kind: mediaKind(ct), Ref: ref, ContentType: ct})
		}
	}
	var events []channels.Event
	// The opt-out comes first, so anything the message itself sets off (a bot's
	// answer) already meets the contact's new choice.
	if kind, ok := optKind(params.Get("OptOutType"), msg.Text); ok {
		events = append(events, channels.Event{Kind: kind, Contact: contact})
	}
	// Twilio reads the answer to an incoming text as TwiML: an empty Response says
	// there is nothing to send back now.
	return channels.Reply{Events: append(events, msg), Ack: emptyTwiML, AckContentType: "text/xml"}, nil
}

var emptyTwiML = []byte(`<?xml version="1.0" encoding="UTF-8"?><Response></Response>`)

// checkRecipient refuses a text sent to another sender than this channel's: the
// webhook of some other number or service points here, and its replies would go out
// from a number the contact never wrote to.
func (a *Adapter) checkRecipient(params url.Values) error {
	to, svc := params.Get("To"), params.Get("MessagingServiceSid")
	switch {
	case a.from != "" && to == a.from:
		return nil
	case a.service != "" && strings.EqualFold(svc, a.service):
		return nil
	case a.from == "" && svc == "":
		// Only a service is configured, and the text came to a number's own webhook:
		// the signature proves the account, nothing tells the service.
		return nil
	case a.from != "":
		return channels.Forged("the message was sent to %q, not this channel's number %s: point that number's webhook at its own channel",
			clip(to, 20), a.from)
	}
	return channels.Forged("the message came through Messaging Service %q, not this channel's %s", clip(svc, 40), a.service)
}

// Keywords Twilio acts on when a whole text is one of them, in any case.
var (
	optOutWords = []string{"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
	optInWords  = []string{"START", "YES", "UNSTOP"}
)

// optKind says whether a text opts out or in. OptOutType, sent when the Messaging
// Service has Advanced Opt-Out (and custom keywords, in any language), decides when
// present; otherwise the standard keywords do.
func optKind(optOutType, text string) (channels.EventKind, bool) {
	switch strings.ToUpper(optOutType) {
	case "STOP":
		return channels.EventOptOut, true
	case "START":
		return channels.EventOptIn, true
	case "":
	default:
		return "", false // HELP: Twilio answers it; nothing changes
	}
	word := strings.ToUpper(strings.TrimSpace(text))
	switch {
	case slices.Contains(optOutWords, word):
		return channels.EventOptOut, true
	case slices.Contains(optInWords, word):
		return channels.EventOptIn, true
	}
	return "", false
}

// mediaKind is the attachment kind of a content type.
func mediaKind(contentType string) string {
	major, _, _ := strings.Cut(strings.ToLower(contentType), "/")
	switch major {
	case "image":
		return channels.AttachmentImage
	case "video":
		return channels.AttachmentVideo
	case "audio":
		return channels.AttachmentAudio
	}
	return channels.AttachmentDocument
}

// statusCallback parses news of one of our messages. Interim states (queued, sending,
// accepted, scheduled) and states Twilio may add later bring no event.
func (a *Adapter) statusCallback(params url.Values, status string) (channels.Reply, error) {
	sid := firstOf(params, "MessageSid", "SmsSid")
	if sid == "" {
		return channels.Reply{}, channels.Malformed("the status callback has no MessageSid")
	}
	ev := channels.Event{Kind: channels.EventDelivery, ProviderID: sid, Contact: channels.Contact{ExternalID: params.Get("To")}}
	switch status {
	case "sent":
		ev.Delivery = store.DeliverySent
	case "delivered":
		ev.Delivery = store.DeliveryDelivered
	case "read":
		ev.Delivery = store.DeliveryRead
	case "failed", "undelivered", "canceled":
		ev.Delivery = store.DeliveryFailed
		ev.Error = failureReason(status, params.Get("ErrorCode"), params.Get("ErrorMessage"))
	default:
		return channels.Reply{}, nil
	}
	return channels.Reply{Events: []channels.Event{ev}}, nil
}

// reasons say in plain words what Twilio's common delivery errors mean.
var reasons = map[string]string{
	"21610": "the contact replied STOP to this number",
	"30001": "Twilio's queue overflowed: too many messages were sent too fast",
	"30002": "the Twilio account is suspended",
	"30003": "the phone is unreachable: switched off or out of coverage",
	"30004": "the message was blocked by the contact or their carrier",
	"30005": "the number is unknown: it does not exist or is no longer in service",
	"30006": "the number is a landline or its carrier does not take texts",
	"30007": "the carrier filtered the message as spam",
	"30008": "the carrier reported an unknown error",
	"30034": "the sending number is not registered for US A2P 10DLC messaging",
}

// failureReason describes why a message failed.
func failureReason(status, code, message string) string {
	what := "not delivered"
	if status == "canceled" {
		what = "canceled"
	}
	if code == "" {
		return what
	}
	if r, ok := reasons[code]; ok {
		return fmt.Sprintf("%s: %s (Twilio error %s)", what, r, code)
	}
	if m := clip(message, 200); m != "" {
		return fmt.Sprintf("%s: %s (Twilio error %s)", what, m, clip(code, 10))
	}
	return fmt.Sprintf("%s: Twilio error %s", what, clip(code, 10))
}

// firstOf returns the first non-empty value of the names.
func firstOf(params url.Values, names ...string) string {
	for _, n := range names {
		if v := params.Get(n); v != "" {
			return v
		}
	}
	return ""
}
