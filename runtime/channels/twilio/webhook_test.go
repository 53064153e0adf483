package twilio_test

import (
	"crypto/tls"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

func TestWebhookSignature(t *testing.T) {
	a := newAdapter(t, settings(""), token, hookURL)
	params := incoming("hello").Params()
	signed := func() *http.Request { return twiliofake.NewRequest(hookURL, token, params) }
	withBody := func(r *http.Request, p url.Values) *http.Request {
		r2 := twiliofake.NewRequest(hookURL, token, p)
		r2.Header.Set(twiliofake.SignatureHeader, r.Header.Get(twiliofake.SignatureHeader))
		return r2
	}
	changed := func(k, v string) url.Values {
		p := url.Values{}
		for name, vs := range params {
			p[name] = append([]string(nil), vs...)
		}
		if v == "" {
			p.Del(k)
		} else {
			p.Set(k, v)
		}
		return p
	}
	tests := []struct {
		name   string
		req    func() *http.Request
		status int
		reason string
	}{
		{"valid", signed, 0, ""},
		{"signed with the default port", func() *http.Request {
			r := signed()
			r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, "https://chat.example.com:443/webhooks/sms", params))
			return r
		}, 0, ""},
		{"missing signature", func() *http.Request { r := signed(); r.Header.Del(twiliofake.SignatureHeader); return r }, 403, "forged"},
		{"forged signature", func() *http.Request {
			r := signed()
			r.Header.Set(twiliofake.SignatureHeader, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
			return r
		}, 403, "forged"},
		{"signature not base64", func() *http.Request { r := signed(); r.Header.Set(twiliofake.SignatureHeader, "!!"); return r }, 403, "forged"},
		{"wrong auth token", func() *http.Request { return twiliofake.NewRequest(hookURL, "another-token", params) }, 403, "forged"},
		{"parameter altered", func() *http.Request { return withBody(signed(), changed("Body", "send me money")) }, 403, "forged"},
		{"parameter added", func() *http.Request { return withBody(signed(), changed("Extra", "1")) }, 403, "forged"},
		{"parameter removed", func() *http.Request { return withBody(signed(), changed("NumMedia", "")) }, 403, "forged"},
		{"signed for another URL", func() *http.Request {
			r := signed()
			r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, "https://chat.example.com/webhooks/other", params))
			return r
		}, 403, "forged"},
		{"signed for a non-default port", func() *http.Request {
			r := signed()
			r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, "https://chat.example.com:8443/webhooks/sms", params))
			return r
		}, 403, "forged"},
		{"signature replayed on another message", func() *http.Request {
			other := incoming("a different text")
			other.MessageSID = "SM" + strings.Repeat("c", 32)
			return withBody(signed(), other.Params())
		}, 403, "forged"},
		{"GET", func() *http.Request { r, _ := http.NewRequest("GET", hookURL, nil); return r }, 405, "malformed"},
		{"JSON body", func() *http.Request {
			r := signed()
			r.Header.Set("Content-Type", "application/json")
			return r
		}, 400, "malformed"},
		{"signed but not a form", func() *http.Request {
			r, _ := http.NewRequest("POST", hookURL, strings.NewReader("a=%zz"))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, hookURL, nil))
			return r
		}, 400, "malformed"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := deliver(t, a, tc.req())
			if tc.status == 0 {
				if err != nil || len(reply.Events) != 1 || reply.Events[0].Text != "hello" {
					t.Fatalf("got %+v, %v; want the message", reply, err)
				}
				return
			}
			refused(t, reply, err, tc.status, tc.reason)
		})
	}
}

func TestWebhookURLQueryIsSigned(t *testing.T) {
	u := hookURL + "?channel=sms&x=%2F"
	a := newAdapter(t, settings(""), token, u)
	if _, err := deliver(t, a, twiliofake.IncomingSMS(u, token, incoming("hi"))); err != nil {
		t.Fatalf("signed with the query: %v", err)
	}
	r := twiliofake.IncomingSMS(u, token, incoming("hi"))
	r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, hookURL, incoming("hi").Params()))
	if _, err := deliver(t, a, r); err == nil {
		t.Fatal("a signature without the query verified")
	}
}

// Without a public URL, the adapter checks the URL the request arrived at, as the
// proxy in front of it describes it.
func TestWebhookWithoutPublicURLChecksTheRequestURL(t *testing.T) {
	a := newAdapter(t, settings(""), token, "")
	public := "https://chat.example.com/webhooks/sms"
	behindProxy := func(host, proto string, tlsConn bool) *http.Request {
		r := twiliofake.IncomingSMS("http://runtime:8080/webhooks/sms", token, incoming("hi"))
		r.Header.Set(twiliofake.SignatureHeader, twiliofake.Sign(token, public, incoming("hi").Params()))
		r.Host = host
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		if tlsConn {
			r.TLS = &tls.ConnectionState{}
		}
		return r
	}
	tests := []struct {
		name string
		req  *http.Request
		ok   bool
	}{
		{"https proxy", behindProxy("chat.example.com", "https", false), true},
		{"proxy chain", behindProxy("chat.example.com", "https, http", false), true},
		{"TLS straight in", behindProxy("chat.example.com", "", true), true},
		{"plain http", behindProxy("chat.example.com", "", false), false},
		{"another host", behindProxy("evil.example.com", "https", false), false},
		{"a bogus proto", behindProxy("chat.example.com", "gopher", false), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := deliver(t, a, tc.req)
			if tc.ok && err != nil {
				t.Fatalf("refused: %v", err)
			}
			if !tc.ok {
				refused(t, reply, err, 403, "forged")
			}
		})
	}
}

func TestWebhookAccountAndNumber(t *testing.T) {
	withService := settings("")
	withService.MessagingServiceSID = service
	serviceOnly := withService
	serviceOnly.From = ""
	otherService := "MG" + strings.Repeat("9", 32)
	tests := []struct {
		name   string
		sms    config.SMSChannel
		params func() url.Values
		ok     bool
	}{
		{"our account and number", settings(""), func() url.Values { return incoming("hi").Params() }, true},
		{"account SID in capitals", settings(""), func() url.Values {
			in := incoming("hi")
			in.AccountSID = "AC" + strings.ToUpper(account[2:])
			return in.Params()
		}, true},
		{"another account", settings(""), func() url.Values {
			in := incoming("hi")
			in.AccountSID = "AC" + strings.Repeat("f", 32)
			return in.Params()
		}, false},
		{"no account", settings(""), func() url.Values { p := incoming("hi").Params(); p.Del("AccountSid"); return p }, false},
		{"another number", settings(""), func() url.Values { in := incoming("hi"); in.To = "+15005550009"; return in.Params() }, false},
		{"another number of our service", withService, func() url.Values {
			in := incoming("hi")
			in.To, in.MessagingServiceSID = "+15005550009", service
			return in.Params()
		}, true},
		{"service only: its number", serviceOnly, func() url.Values { in := incoming("hi"); in.MessagingServiceSID = service; return in.Params() }, true},
		{"service only: a number's own webhook", serviceOnly, func() url.Values { return incoming("hi").Params() }, true},
		{"service only: another service", serviceOnly, func() url.Values {
			in := incoming("hi")
			in.MessagingServiceSID = otherService
			return in.Params()
		}, false},
		{"a status callback names the contact as To", settings(""), func() url.Values { return statusParams("delivered", 0) }, true},
		{"a status callback of another account", settings(""), func() url.Values {
			return twiliofake.StatusParams("AC"+strings.Repeat("f", 32), "SM"+strings.Repeat("b", 32), number, contact, "delivered", 0)
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAdapter(t, tc.sms, token, hookURL)
			reply, err := deliver(t, a, twiliofake.NewRequest(hookURL, token, tc.params()))
			if tc.ok {
				if err != nil || len(reply.Events) == 0 {
					t.Fatalf("got %+v, %v; want events", reply, err)
				}
				return
			}
			refused(t, reply, err, 403, "forged")
		})
	}
}

func TestWebhookIncomingMessages(t *testing.T) {
	a := newAdapter(t, settings(""), token, hookURL)
	who := channels.Contact{ExternalID: contact, Phone: contact}
	sid := "SM" + strings.Repeat("a", 32)
	message := func(text string, att ...channels.Attachment) channels.Event {
		return channels.Event{Kind: channels.EventMessage, Contact: who, ProviderID: sid, Text: text, Attachments: att}
	}
	optOut := channels.Event{Kind: channels.EventOptOut, Contact: who}
	optIn := channels.Event{Kind: channels.EventOptIn, Contact: who}
	media := func(urls ...string) []twiliofake.Media {
		var m []twiliofake.Media
		for i := 0; i < len(urls); i += 2 {
			m = append(m, twiliofake.Media{URL: urls[i], ContentType: urls[i+1]})
		}
		return m
	}
	tests := []struct {
		name string
		in   func(twiliofake.Inbound) twiliofake.Inbound
		want []channels.Event
	}{
		{"text", func(in twiliofake.Inbound) twiliofake.Inbound { return in }, []channels.Event{message("hello")}},
		{"MMS", func(in twiliofake.Inbound) twiliofake.Inbound {
			in.Body = "look"
			in.Media = media("https://m/0", "image/jpeg", "https://m/1", "video/mp4", "https://m/2", "audio/ogg",
				"https://m/3", "application/pdf", "https://m/4", "text/vcard")
			return in
		}, []channels.Event{message("look",
			channels.Attachment{Kind: channels.AttachmentImage, Ref: "https://m/0", ContentType: "image/jpeg"},
			channels.Attachment{Kind: channels.AttachmentVideo, Ref: "https://m/1", ContentType: "video/mp4"},
			channels.Attachment{Kind: channels.AttachmentAudio, Ref: "https://m/2", ContentType: "audio/ogg"},
			channels.Attachment{Kind: channels.AttachmentDocument, Ref: "https://m/3", ContentType: "application/pdf"},
			channels.Attachment{Kind: channels.AttachmentDocument, Ref: "https://m/4", ContentType: "text/vcard"},
		)}},
		{"media beyond NumMedia ignored", func(in twiliofake.Inbound) twiliofake.Inbound {
			in.Body = ""
			in.Media = media("https://m/0", "image/png")
			in.Extra = url.Values{"MediaUrl1": {"https://m/1"}, "MediaContentType1": {"image/png"}}
			return in
		}, []channels.Event{message("", channels.Attachment{Kind: channels.AttachmentImage, Ref: "https://m/0", ContentType: "image/png"})}},
		{"STOP", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "STOP"; return in }, []channels.Event{optOut, message("STOP")}},
		{"stop in any case, spaced", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = " Stop \n"; return in }, []channels.Event{optOut, message(" Stop \n")}},
		{"UNSUBSCRIBE", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "unsubscribe"; return in }, []channels.Event{optOut, message("unsubscribe")}},
		{"STOPALL", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "STOPALL"; return in }, []channels.Event{optOut, message("STOPALL")}},
		{"CANCEL", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "Cancel"; return in }, []channels.Event{optOut, message("Cancel")}},
		{"END", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "end"; return in }, []channels.Event{optOut, message("end")}},
		{"QUIT", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "QUIT"; return in }, []channels.Event{optOut, message("QUIT")}},
		{"STOP within a sentence is a message", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "please stop"; return in }, []channels.Event{message("please stop")}},
		{"START", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "START"; return in }, []channels.Event{optIn, message("START")}},
		{"YES", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "yes"; return in }, []channels.Event{optIn, message("yes")}},
		{"UNSTOP", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "Unstop"; return in }, []channels.Event{optIn, message("Unstop")}},
		{"HELP", func(in twiliofake.Inbound) twiliofake.Inbound { in.Body = "HELP"; return in }, []channels.Event{message("HELP")}},
		{"Advanced Opt-Out keyword", func(in twiliofake.Inbound) twiliofake.Inbound {
			in.Body, in.OptOutType = "PARAR", "STOP"
			return in
		}, []channels.Event{optOut, message("PARAR")}},
		{"Advanced Opt-Out opt-in", func(in twiliofake.Inbound) twiliofake.Inbound {
			in.Body, in.OptOutType = "OUI", "START"
			return in
		}, []channels.Event{optIn, message("OUI")}},
		{"OptOutType decides over the body", func(in twiliofake.Inbound) twiliofake.Inbound {
			in.Body, in.OptOutType = "STOP", "HELP"
			return in
		}, []channels.Event{message("STOP")}},
		{"a short code's text", func(in twiliofake.Inbound) twiliofake.Inbound { in.From = "72345"; return in }, []channels.Event{{
			Kind: channels.EventMessage, Contact: channels.Contact{ExternalID: "72345"}, ProviderID: sid, Text: "hello"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reply, err := deliver(t, a, twiliofake.IncomingSMS(hookURL, token, tc.in(incoming("hello"))))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(reply.Events, tc.want) {
				t.Fatalf("events\n got %+v\nwant %+v", reply.Events, tc.want)
			}
			if reply.AckContentType != "text/xml" || !strings.Contains(string(reply.Ack), "<Response></Response>") {
				t.Fatalf("an incoming text is acknowledged with %q %q, want empty TwiML", reply.AckContentType, reply.Ack)
			}
		})
	}
}

func TestWebhookIncomingMalformed(t *testing.T) {
	a := newAdapter(t, settings(""), token, hookURL)
	tests := []struct {
		name string
		edit func(url.Values)
	}{
		{"no MessageSid", func(p url.Values) { p.Del("MessageSid"); p.Del("SmsSid"); p.Del("SmsMessageSid") }},
		{"no From", func(p url.Values) { p.Del("From") }},
		{"NumMedia not a count", func(p url.Values) { p.Set("NumMedia", "two") }},
		{"NumMedia negative", func(p url.Values) { p.Set("NumMedia", "-1") }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := incoming("hi").Params()
			tc.edit(p)
			reply, err := deliver(t, a, twiliofake.NewRequest(hookURL, token, p))
			refused(t, reply, err, 400, "malformed")
		})
	}
	// The legacy SmsSid alone still names the message.
	p := incoming("hi").Params()
	p.Del("MessageSid")
	if reply, err := deliver(t, a, twiliofake.NewRequest(hookURL, token, p)); err != nil || reply.Events[0].ProviderID != p.Get("SmsSid") {
		t.Fatalf("SmsSid only: %+v %v", reply, err)
	}
}

func TestWebhookStatusCallbacks(t *testing.T) {
	a := newAdapter(t, settings(""), token, hookURL)
	sid := "SM" + strings.Repeat("b", 32)
	tests := []struct {
		status  string
		code    int
		message string
		state   store.DeliveryState
		reason  string
	}{
		{status: "accepted"},
		{status: "scheduled"},
		{status: "queued"},
		{status: "sending"},
		{status: "some-future-status"},
		{status: "sent", state: store.DeliverySent},
		{status: "delivered", state: store.DeliveryDelivered},
		{status: "read", state: store.DeliveryRead},
		{status: "failed", state: store.DeliveryFailed, reason: "not delivered"},
		{status: "failed", code: 30007, state: store.DeliveryFailed, reason: "not delivered: the carrier filtered the message as spam (Twilio error 30007)"},
		{status: "undelivered", code: 30003, state: store.DeliveryFailed, reason: "not delivered: the phone is unreachable: switched off or out of coverage (Twilio error 30003)"},
		{status: "undelivered", code: 30005, state: store.DeliveryFailed, reason: "not delivered: the number is unknown: it does not exist or is no longer in service (Twilio error 30005)"},
		{status: "undelivered", code: 30006, state: store.DeliveryFailed, reason: "not delivered: the number is a landline or its carrier does not take texts (Twilio error 30006)"},
		{status: "failed", code: 30034, state: store.DeliveryFailed, reason: "not delivered: the sending number is not registered for US A2P 10DLC messaging (Twilio error 30034)"},
		{status: "failed", code: 30999, message: "Something odd", state: store.DeliveryFailed, reason: "not delivered: Something odd (Twilio error 30999)"},
		{status: "failed", code: 30999, state: store.DeliveryFailed, reason: "not delivered: Twilio error 30999"},
		{status: "canceled", state: store.DeliveryFailed, reason: "canceled"},
	}
	for _, tc := range tests {
		t.Run(tc.status+"/"+tc.reason, func(t *testing.T) {
			p := statusParams(tc.status, tc.code)
			if tc.message != "" {
				p.Set("ErrorMessage", tc.message)
			}
			reply, err := deliver(t, a, twiliofake.NewRequest(hookURL, token, p))
			if err != nil {
				t.Fatal(err)
			}
			if tc.state == "" {
				if len(reply.Events) != 0 {
					t.Fatalf("an interim status brought %+v", reply.Events)
				}
				return
			}
			want := []channels.Event{{Kind: channels.EventDelivery, ProviderID: sid, Contact: channels.Contact{ExternalID: contact},
				Delivery: tc.state, Error: tc.reason}}
			if !reflect.DeepEqual(reply.Events, want) {
				t.Fatalf("events\n got %+v\nwant %+v", reply.Events, want)
			}
		})
	}
	p := statusParams("delivered", 0)
	p.Del("MessageSid")
	p.Del("SmsSid")
	reply, err := deliver(t, a, twiliofake.NewRequest(hookURL, token, p))
	refused(t, reply, err, 400, "malformed")
}
