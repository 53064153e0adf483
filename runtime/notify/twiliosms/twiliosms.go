// Package twiliosms sends notifications as text messages through Twilio's Messages
// API (POST /2010-04-01/Accounts/{AccountSid}/Messages.json, HTTP basic auth with the
// account SID and auth token), from a phone number or an alphanumeric sender ID.
package twiliosms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/internal/httpcall"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// MaxBodyLength is the longest text Twilio takes in one message, in UTF-16 code units
// (the units of SMS's UCS-2 encoding). Longer notifications are cut to it: a
// notification that says most of a long message beats one that never arrives.
const MaxBodyLength = 1600

// e164 is a phone number in E.164 form.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// Sender sends deliveries through one Twilio account.
type Sender struct {
	accountSID string
	token      string // never logged, never in an error
	from       string
	endpoint   string // …/2010-04-01/Accounts/<sid>/Messages.json
	http       *http.Client
}

var _ notify.Provider = (*Sender)(nil)

// New makes the sender of a twilio provider block; hc nil means a client with a 30s
// timeout.
func New(c *config.TwilioProvider, secret notify.SecretFunc, hc *http.Client) (*Sender, error) {
	if c == nil {
		return nil, errors.New("the provider has no twilio settings")
	}
	if c.AccountSID == "" {
		return nil, errors.New("twilio.accountSID is empty: set the Twilio account SID (AC followed by 32 hex digits)")
	}
	if c.From == "" {
		return nil, errors.New("twilio.from is empty: set a Twilio phone number in E.164 form, or an alphanumeric sender ID")
	}
	var token string
	if secret != nil {
		token = strings.TrimSpace(string(secret(c.AuthTokenSecretRef)))
	}
	if token == "" {
		return nil, fmt.Errorf("Secret %q has no key %q: add the Twilio account's auth token",
			c.AuthTokenSecretRef.Name, c.AuthTokenSecretRef.Key)
	}
	base := strings.TrimSuffix(c.APIBaseURL, "/")
	if base == "" {
		base = config.DefaultTwilioBaseURL
	}
	if hc == nil {
		hc = httpcall.DefaultClient
	}
	return &Sender{accountSID: c.AccountSID, token: token, from: c.From, http: hc,
		endpoint: base + "/2010-04-01/Accounts/" + url.PathEscape(c.AccountSID) + "/Messages.json"}, nil
}

// Deliver texts d.Text (the subject when there is no text) to d.To.Phone. Twilio has
// no idempotency key for messages: a retry after an answer that was lost on the way
// texts twice.
func (s *Sender) Deliver(ctx context.Context, d notify.Delivery) error {
	if d.To.Phone == "" {
		return outbox.Permanent(errors.New("twilio sms: the recipient has no phone number"))
	}
	if !e164.MatchString(d.To.Phone) {
		return outbox.Permanent(fmt.Errorf("twilio sms: the recipient's phone number %q is not in E.164 form, such as +4915112345678", d.To.Phone))
	}
	text := strings.TrimSpace(d.Text)
	if text == "" {
		text = strings.TrimSpace(d.Subject)
	}
	if text == "" {
		return outbox.Permanent(errors.New("twilio sms: the notification has no text"))
	}
	form := url.Values{"To": {d.To.Phone}, "From": {s.from}, "Body": {clipUTF16(text, MaxBodyLength)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return outbox.Permanent(fmt.Errorf("twilio sms: %w", err))
	}
	req.SetBasicAuth(s.accountSID, s.token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	resp, body, err := httpcall.Do(s.http, req, httpcall.Call{What: "twilio sms", Detail: detail,
		Secrets: []string{s.token, s.accountSID + ":" + s.token}})
	if err != nil && resp != nil {
		return s.refusal(resp, body, err)
	}
	return err
}

// apiError is Twilio's error document.
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

func detail(_ int, body []byte) string {
	var e apiError
	if json.Unmarshal(body, &e) != nil || e.Code == 0 {
		return ""
	}
	return fmt.Sprintf("error %d: %s", e.Code, e.Message)
}

// Twilio error codes told apart.
const (
	codeAuthenticate     = 20003
	codeTooManyRequests  = 20429
	codeInvalidTo        = 21211
	codeRegionNotEnabled = 21408
	codeUnsubscribed     = 21610
	codeToNotMobile      = 21614
)

// refusal explains the refusals an operator can act on, and keeps Twilio's "slow
// down" temporary whatever its status; the rest keep httpcall's classification.
func (s *Sender) refusal(resp *http.Response, body []byte, err error) error {
	var e apiError
	_ = json.Unmarshal(body, &e)
	switch {
	case e.Code == codeUnsubscribed:
		return outbox.Permanent(errors.New("twilio sms: the recipient replied STOP to this sender, so Twilio refuses to text them until they reply START (error 21610)"))
	case e.Code == codeInvalidTo || e.Code == codeToNotMobile:
		return outbox.Permanent(fmt.Errorf("twilio sms: the recipient's number is not a valid mobile number (error %d)", e.Code))
	case e.Code == codeRegionNotEnabled:
		return outbox.Permanent(errors.New("twilio sms: the account may not text this number's country: enable it in the Messaging geographic permissions of the Twilio console (error 21408)"))
	case resp.StatusCode == http.StatusUnauthorized || e.Code == codeAuthenticate:
		return outbox.Permanent(outbox.Auth(fmt.Errorf("twilio sms: Twilio refused the account SID %s or its auth token (error 20003): check the Secret", s.accountSID)))
	case e.Code == codeTooManyRequests && resp.StatusCode != http.StatusTooManyRequests:
		slow := fmt.Errorf("twilio sms: %s: Twilio asks to send more slowly (error 20429)", resp.Status)
		if d, ok := outbox.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()); ok {
			return outbox.RetryAfter(slow, d)
		}
		return slow
	}
	return err
}

// clipUTF16 cuts s to at most n UTF-16 code units, ending in "…" when cut.
func clipUTF16(s string, n int) string {
	if len(utf16.Encode([]rune(s))) <= n {
		return s
	}
	units := 1 // the ellipsis
	for i, r := range s {
		units += utf16.RuneLen(r)
		if units > n {
			return s[:i] + "…"
		}
	}
	return s
}
