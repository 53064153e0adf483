// Package twilio is the SMS channel: two-way texting through Twilio's Programmable
// Messaging. Incoming texts and the status callbacks of our own messages come to the
// channel's webhook as signed form posts (X-Twilio-Signature); replies go out through
// the Messages API.
package twilio

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/internal/egress"
	"github.com/switchboard-chat/switchboard/internal/neterr"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// apiVersion is the REST API version in every Twilio path.
const apiVersion = "2010-04-01"

// MaxBodyLength is the longest text Twilio takes in one message, counted here in
// UTF-16 code units: the units of SMS's UCS-2 encoding, and never fewer than
// characters, so a text that passes here passes at Twilio whichever it counts.
const MaxBodyLength = 1600

// Provider is SMS through Twilio. A long-code number sends about one message a second;
// Twilio queues what comes faster, and a queued message can expire there unseen, so
// the outbox holds the surplus instead, where it is retried and reported. One a second
// with a burst of three per contact keeps a short exchange lively without flooding a
// phone.
var Provider = channels.Provider{New: New, Limits: channels.Limits{
	PerRecipient: outbox.Rate{Limit: 1, Burst: 3},
	PerSender:    outbox.Rate{Limit: 1, Burst: 3},
}}

// Adapter is one Twilio sender: a phone number, a Messaging Service, or a number used
// through a Messaging Service.
type Adapter struct {
	accountSID string
	token      string // the auth token: never logged, never in an error
	from       string
	service    string
	api        string // https://api.twilio.com/2010-04-01/Accounts/<sid>
	webhookURL string
	http       *http.Client
	now        func() time.Time
}

// New makes the adapter of an SMS channel.
func New(s channels.Spec) (channels.Adapter, error) {
	c := s.Channel.SMS
	if c == nil {
		return nil, errors.New("the channel has no sms settings")
	}
	if c.AccountSID == "" {
		return nil, errors.New("sms.accountSID is empty: set the Twilio account SID (AC followed by 32 hex digits)")
	}
	if c.From == "" && c.MessagingServiceSID == "" {
		return nil, errors.New("set sms.from (a Twilio phone number) or sms.messagingServiceSID to send from")
	}
	var token string
	if s.Secret != nil {
		token = strings.TrimSpace(string(s.Secret(c.AuthTokenSecretRef)))
	}
	if token == "" {
		return nil, fmt.Errorf("Secret %q has no auth token under key %q: add the Twilio account's auth token",
			c.AuthTokenSecretRef.Name, c.AuthTokenSecretRef.Key)
	}
	base := strings.TrimSuffix(c.APIBaseURL, "/")
	if base == "" {
		base = config.DefaultTwilioBaseURL
	}
	a := &Adapter{accountSID: c.AccountSID, token: token, from: c.From, service: c.MessagingServiceSID,
		api: base + "/" + apiVersion + "/Accounts/" + url.PathEscape(c.AccountSID), webhookURL: s.WebhookURL,
		http: s.HTTP, now: s.Now}
	if a.http == nil {
		a.http = egress.Client(30 * time.Second)
	}
	if a.now == nil {
		a.now = time.Now
	}
	return a, nil
}

// apiError is the body of Twilio's answer to a refused call.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  int    `json:"status"`
}

// Twilio error codes the adapter tells apart.
const (
	codeAuthenticate     = 20003
	codeTooManyRequests  = 20429
	codeInvalidTo        = 21211
	codeRegionNotEnabled = 21408
	codeUnsubscribed     = 21610
	codeToNotMobile      = 21614
)

// maxAnswer bounds what is read of Twilio's answers; they are small JSON documents.
const maxAnswer = 64 << 10

// call makes one REST call with the account's credentials. A non-nil form is sent
// form-encoded. The answer's body is read whole; the caller judges its status.
func (a *Adapter) call(ctx context.Context, method, path string, form url.Values) (*http.Response, []byte, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, a.api+path, body)
	if err != nil {
		return nil, nil, err
	}
	req.SetBasicAuth(a.accountSID, a.token)
	req.Header.Set("Accept", "application/json")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := a.http.Do(req)
	if err != nil {
		// Not the error's own text: it names the cluster's resolver and addresses.
		return nil, nil, errors.New(neterr.Describe(err, "Twilio's API", "Twilio's API"))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, nil, fmt.Errorf("reading Twilio's answer: %w", err)
	}
	return resp, data, nil
}

// decodeError reads a refusal's body, and a detail for error messages. The auth token
// is cut out of Twilio's text, should it (or a proxy in front of it) ever echo it.
func (a *Adapter) decodeError(data []byte) (apiError, string) {
	var e apiError
	if json.Unmarshal(data, &e) != nil || e.Code == 0 {
		return apiError{}, ""
	}
	e.Message = strings.ReplaceAll(e.Message, a.token, "<token>")
	return e, fmt.Sprintf("error %d: %s", e.Code, clip(e.Message, 200))
}

// clip shortens a provider's text for an error message.
func clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if r := []rune(s); len(r) > n {
		return string(r[:n]) + "…"
	}
	return s
}

// Send sends one text. Twilio picks the sender from the Messaging Service's pool when
// only the service is set; with both set, both go along, as Twilio's API allows: the
// message leaves from the configured number (which must be in the service's pool)
// under the service's settings (opt-out handling, link shortening), so the contact
// always hears from the number they wrote to. Status callbacks come back to the
// channel's own webhook.
func (a *Adapter) Send(ctx context.Context, m channels.Outgoing) (channels.Sent, error) {
	if m.Attachment != nil {
		return a.sendMMS(ctx, m)
	}
	if strings.TrimSpace(m.Text) == "" {
		return channels.Sent{}, outbox.Permanent(errors.New("the message is empty: Twilio sends no empty texts"))
	}
	// Longer texts are refused rather than split: Twilio has no idempotency key, so a
	// split text whose second part failed would send its first part again on every
	// retry, and a stored message has one provider id for its delivery news.
	if n := utf16Len(m.Text); n > MaxBodyLength {
		return channels.Sent{}, outbox.Permanent(fmt.Errorf(
			"the message is %d characters long and an SMS through Twilio takes at most %d: send it in shorter parts", n, MaxBodyLength))
	}
	return a.create(ctx, url.Values{"To": {m.To}, "Body": {m.Text}})
}

// create creates a message of form (To, Body, MediaUrl) from the channel's sender,
// with status callbacks to its webhook.
func (a *Adapter) create(ctx context.Context, form url.Values) (channels.Sent, error) {
	if a.from != "" {
		form.Set("From", a.from)
	}
	if a.service != "" {
		form.Set("MessagingServiceSid", a.service)
	}
	if a.webhookURL != "" {
		form.Set("StatusCallback", a.webhookURL)
	}
	resp, data, err := a.call(ctx, http.MethodPost, "/Messages.json", form)
	if err != nil {
		return channels.Sent{}, fmt.Errorf("twilio send: %w", err)
	}
	if resp.StatusCode/100 == 2 {
		var msg struct {
			SID string `json:"sid"`
		}
		if err := json.Unmarshal(data, &msg); err != nil {
			// Twilio took the message; trying again would send it twice.
			return channels.Sent{}, nil
		}
		return channels.Sent{ProviderID: msg.SID}, nil
	}
	return channels.Sent{}, a.sendError(resp, data)
}

// sendError classifies Twilio's refusal of a message for the outbox.
func (a *Adapter) sendError(resp *http.Response, data []byte) error {
	e, detail := a.decodeError(data)
	switch {
	case e.Code == codeUnsubscribed:
		return outbox.Permanent(errors.New("twilio send: the contact replied STOP to this number, so Twilio refuses to text them until they reply START (error 21610)"))
	case e.Code == codeInvalidTo || e.Code == codeToNotMobile:
		return outbox.Permanent(fmt.Errorf("twilio send: the contact's number is not a valid mobile number (%s)", detail))
	case e.Code == codeRegionNotEnabled:
		return outbox.Permanent(errors.New("twilio send: the account may not text this number's country: enable it in the Messaging geographic permissions of the Twilio console (error 21408)"))
	case resp.StatusCode == http.StatusUnauthorized || e.Code == codeAuthenticate:
		return outbox.Permanent(outbox.Auth(errors.New("twilio send: Twilio refused the account SID or auth token (error 20003)")))
	case e.Code == codeTooManyRequests && resp.StatusCode != http.StatusTooManyRequests:
		// The code says "slow down" whatever the status: never give up on it.
		err := fmt.Errorf("twilio send: %s: %s", resp.Status, detail)
		if d, ok := outbox.ParseRetryAfter(resp.Header.Get("Retry-After"), a.now()); ok {
			return outbox.RetryAfter(err, d)
		}
		return err
	}
	return outbox.StatusError(resp, "twilio send", detail, a.now())
}

// utf16Len is the length of s in UTF-16 code units.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x10000 {
			n++
		}
	}
	return n
}

// Probe checks the credentials by fetching the account, and that the account owns the
// configured number.
func (a *Adapter) Probe(ctx context.Context) error {
	resp, data, err := a.call(ctx, http.MethodGet, ".json", nil)
	if err != nil {
		return fmt.Errorf("reaching Twilio: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		e, detail := a.decodeError(data)
		if resp.StatusCode == http.StatusUnauthorized || e.Code == codeAuthenticate {
			return outbox.Auth(fmt.Errorf("Twilio refused the credentials: the account SID %s or its auth token is wrong", a.accountSID))
		}
		return fmt.Errorf("fetching the Twilio account %s: %s %s", a.accountSID, resp.Status, detail)
	}
	// The account resource also carries the auth token: only the status is read.
	var acct struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(data, &acct); err != nil {
		return fmt.Errorf("fetching the Twilio account %s: an answer that is not JSON", a.accountSID)
	}
	switch acct.Status {
	case "active":
	case "suspended":
		return fmt.Errorf("the Twilio account %s is suspended: it sends and receives no messages until Twilio reactivates it", a.accountSID)
	case "closed":
		return fmt.Errorf("the Twilio account %s is closed: use an open account", a.accountSID)
	default:
		return fmt.Errorf("the Twilio account %s is %q, not active", a.accountSID, acct.Status)
	}
	if a.from == "" {
		return nil
	}
	resp, data, err = a.call(ctx, http.MethodGet, "/IncomingPhoneNumbers.json?"+url.Values{"PhoneNumber": {a.from}}.Encode(), nil)
	if err != nil {
		return fmt.Errorf("reaching Twilio: %w", err)
	}
	if resp.StatusCode/100 != 2 {
		_, detail := a.decodeError(data)
		return fmt.Errorf("looking up the number %s in the Twilio account: %s %s", a.from, resp.Status, detail)
	}
	var list struct {
		Numbers []struct {
			PhoneNumber string `json:"phone_number"`
		} `json:"incoming_phone_numbers"`
	}
	if err := json.Unmarshal(data, &list); err != nil {
		return fmt.Errorf("looking up the number %s in the Twilio account: an answer that is not JSON", a.from)
	}
	for _, n := range list.Numbers {
		if n.PhoneNumber == a.from {
			return nil
		}
	}
	return fmt.Errorf("the Twilio account %s has no phone number %s: set sms.from to one of its numbers", a.accountSID, a.from)
}

// Register only checks the credentials. Twilio delivers incoming texts to the URL set
// on the number or the Messaging Service, in the Twilio console: the operator's to
// set, and the channel's status shows the URL to set there. Status callbacks need no
// registration: every send names the webhook as its StatusCallback.
func (a *Adapter) Register(ctx context.Context, _ string) error { return a.Probe(ctx) }

// Deregister does nothing: nothing was registered.
func (a *Adapter) Deregister(context.Context) error { return nil }
