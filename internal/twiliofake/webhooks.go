package twiliofake

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// SignatureHeader carries the signature of Twilio's webhook requests.
const SignatureHeader = "X-Twilio-Signature"

// Sign computes X-Twilio-Signature for a form request to webhookURL: the base64
// HMAC-SHA1, keyed with the auth token, of the URL followed by each parameter's name
// and value, in the order of the names (and of the values of a repeated name).
func Sign(authToken, webhookURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(webhookURL)
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		vs := append([]string(nil), params[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// SignedForm returns the body of a webhook request carrying params, and its signature.
func SignedForm(webhookURL, authToken string, params url.Values) (body []byte, signature string) {
	return []byte(params.Encode()), Sign(authToken, webhookURL, params)
}

// NewRequest builds a webhook request exactly as Twilio makes it: a POST of params,
// form-encoded, signed. It panics on a URL that does not parse, as it is for tests.
func NewRequest(webhookURL, authToken string, params url.Values) *http.Request {
	r, err := newRequest(context.Background(), webhookURL, authToken, params)
	if err != nil {
		panic(err)
	}
	return r
}

func newRequest(ctx context.Context, webhookURL, authToken string, params url.Values) (*http.Request, error) {
	body, sig := SignedForm(webhookURL, authToken, params)
	r, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, strings.NewReader(string(body)))
	if err != nil {
		return nil, fmt.Errorf("twiliofake: webhook URL %q: %w", webhookURL, err)
	}
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Set("User-Agent", "TwilioProxy/1.1")
	r.Header.Set("I-Twilio-Idempotency-Token", NewSID("")[:32])
	r.Header.Set(SignatureHeader, sig)
	return r, nil
}

// IncomingSMS builds the signed request Twilio makes when a text arrives.
func IncomingSMS(webhookURL, authToken string, in Inbound) *http.Request {
	return NewRequest(webhookURL, authToken, in.Params())
}

// Media is a file an incoming MMS carries.
type Media struct {
	URL         string
	ContentType string
}

// Inbound is an incoming text, as Twilio describes it to the webhook.
type Inbound struct {
	AccountSID          string
	MessageSID          string // a new SM… when empty
	MessagingServiceSID string // set when the number belongs to a service
	From                string // the contact
	To                  string // our number
	Body                string
	Media               []Media
	// OptOutType is STOP, START or HELP: Twilio sends it when the Messaging Service has
	// Advanced Opt-Out and the text is a keyword.
	OptOutType string
	// Extra parameters, added as they are (Twilio adds new ones without notice).
	Extra url.Values
}

// Params returns the webhook's parameters.
func (in Inbound) Params() url.Values {
	sid := in.MessageSID
	if sid == "" {
		sid = NewSID("SM")
		if len(in.Media) > 0 {
			sid = NewSID("MM")
		}
	}
	p := url.Values{
		"MessageSid": {sid}, "SmsSid": {sid}, "SmsMessageSid": {sid}, "AccountSid": {in.AccountSID},
		"From": {in.From}, "To": {in.To}, "Body": {in.Body}, "NumMedia": {strconv.Itoa(len(in.Media))},
		"NumSegments": {"1"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"},
	}
	if in.MessagingServiceSID != "" {
		p.Set("MessagingServiceSid", in.MessagingServiceSID)
	}
	for i, m := range in.Media {
		p.Set("MediaUrl"+strconv.Itoa(i), m.URL)
		p.Set("MediaContentType"+strconv.Itoa(i), m.ContentType)
	}
	if in.OptOutType != "" {
		p.Set("OptOutType", in.OptOutType)
	}
	for k, vs := range in.Extra {
		p[k] = append(p[k], vs...)
	}
	return p
}

// StatusParams are the parameters of a status callback of message sid, from our
// number to the contact; errorCode is sent when not 0 (a failed or undelivered
// message).
func StatusParams(accountSID, sid, from, to, status string, errorCode int) url.Values {
	p := url.Values{
		"AccountSid": {accountSID}, "MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {status}, "SmsStatus": {status},
		"From": {from}, "To": {to}, "ApiVersion": {"2010-04-01"},
	}
	if errorCode != 0 {
		p.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	return p
}

// SendStatus reports a status of an accepted message to its StatusCallback, signed
// as Twilio signs it, and returns the webhook's HTTP status.
func (s *Server) SendStatus(ctx context.Context, sid, status string, errorCode int) (int, error) {
	s.mu.Lock()
	var m *Message
	for i := range s.messages {
		if s.messages[i].SID == sid {
			m = &s.messages[i]
		}
	}
	if m == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("twiliofake: no message %s", sid)
	}
	m.Status = status
	cb := m.StatusCallback
	p := StatusParams(s.AccountSID, sid, m.From, m.To, status, errorCode)
	if m.MessagingServiceSID != "" {
		p.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	s.mu.Unlock()
	if cb == "" {
		return 0, fmt.Errorf("twiliofake: message %s has no StatusCallback", sid)
	}
	return s.post(ctx, cb, p)
}

// Receive delivers an incoming text to webhookURL as Twilio does, and returns the
// webhook's HTTP status. Empty fields of in take the account's: its SID, its first
// number as To, its Messaging Service.
func (s *Server) Receive(ctx context.Context, webhookURL string, in Inbound) (int, error) {
	if in.AccountSID == "" {
		in.AccountSID = s.AccountSID
	}
	if in.To == "" {
		in.To = s.opts.Numbers[0]
	}
	if in.MessagingServiceSID == "" {
		in.MessagingServiceSID = s.opts.MessagingServiceSID
	}
	return s.post(ctx, webhookURL, in.Params())
}

// post makes one signed webhook request and records it.
func (s *Server) post(ctx context.Context, webhookURL string, p url.Values) (int, error) {
	rec := Callback{URL: webhookURL, Params: cloneValues(p)}
	req, err := newRequest(ctx, webhookURL, s.AuthToken, p)
	if err != nil {
		return 0, err
	}
	resp, err := s.http.Do(req)
	if err == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		rec.Status, rec.ContentType = resp.StatusCode, resp.Header.Get("Content-Type")
	} else {
		rec.Err = err.Error()
	}
	s.mu.Lock()
	s.callbacks = append(s.callbacks, rec)
	s.mu.Unlock()
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("twiliofake: the webhook %s answered %s", webhookURL, resp.Status)
	}
	return resp.StatusCode, nil
}
