// Package webhook sends notifications as HTTP POSTs of JSON: switchboard's own
// document of the event and its rendered text, or a Slack incoming-webhook message.
// With a secret, each request is signed so the receiver can tell it came from this
// runtime and is not a replay:
//
//	X-Switchboard-Timestamp: <unix seconds when the request was signed>
//	X-Switchboard-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
//
// Every request carries an Idempotency-Key header that is the same on every retry of
// a delivery, for the receiver to drop repeats.
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/internal/httpcall"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Headers of a webhook request.
const (
	SignatureHeader      = "X-Switchboard-Signature"
	TimestampHeader      = "X-Switchboard-Timestamp"
	EventHeader          = "X-Switchboard-Event"
	IdempotencyKeyHeader = "Idempotency-Key"
)

// Formats of config.WebhookProvider.Format.
const (
	FormatJSON  config.WebhookFormat = "JSON"
	FormatSlack config.WebhookFormat = "Slack"
)

// Sender posts deliveries to one URL.
type Sender struct {
	url     string
	host    string // scheme and host, for errors: the path may hold a credential
	format  config.WebhookFormat
	secret  []byte // never logged, never in an error
	timeout time.Duration
	http    *http.Client
	now     func() time.Time
}

var _ notify.Provider = (*Sender)(nil)

// New makes the sender of a webhook provider block; hc nil means a client with a 30s
// timeout. Redirects are not followed: a POST that is redirected arrives as a GET, or
// not at all, so the URL must be the final one.
func New(c *config.WebhookProvider, secret notify.SecretFunc, hc *http.Client) (*Sender, error) {
	if c == nil {
		return nil, errors.New("the provider has no webhook settings")
	}
	u, err := url.Parse(c.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("webhook.url is not an absolute http:// or https:// URL")
	}
	s := &Sender{url: c.URL, host: u.Scheme + "://" + u.Host, format: c.Format, timeout: c.Timeout.Duration, now: time.Now}
	switch s.format {
	case "":
		s.format = FormatJSON
	case FormatJSON, FormatSlack:
	default:
		return nil, fmt.Errorf("webhook.format %q is not JSON or Slack", c.Format)
	}
	if c.SecretRef != nil {
		if secret != nil {
			s.secret = []byte(strings.TrimSpace(string(secret(*c.SecretRef))))
		}
		if len(s.secret) == 0 {
			return nil, fmt.Errorf("Secret %q has no key %q: add the webhook's signing secret, or remove webhook.secretRef",
				c.SecretRef.Name, c.SecretRef.Key)
		}
	}
	if hc == nil {
		hc = httpcall.DefaultClient
	}
	noRedirects := *hc
	noRedirects.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	s.http = &noRedirects
	return s, nil
}

// Deliver posts d.
func (s *Sender) Deliver(ctx context.Context, d notify.Delivery) error {
	if d.IdempotencyKey == "" {
		return outbox.Permanent(errors.New("webhook: the delivery has no idempotency key"))
	}
	var body []byte
	var err error
	if s.format == FormatSlack {
		body, err = json.Marshal(slackMessage(d))
	} else {
		body, err = json.Marshal(document(d))
	}
	if err != nil {
		// Data that does not encode as JSON will not on a retry either.
		return outbox.Permanent(fmt.Errorf("webhook %s: encoding the notification: %w", s.host, err))
	}
	if s.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	req, err := httpcall.NewJSON(ctx, s.url, body)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("webhook %s: %w", s.host, err))
	}
	req.Header.Set("User-Agent", "switchboard-notifications")
	req.Header.Set(IdempotencyKeyHeader, d.IdempotencyKey)
	if d.Event != "" {
		req.Header.Set(EventHeader, d.Event)
	}
	if s.secret != nil {
		ts := strconv.FormatInt(s.now().Unix(), 10)
		req.Header.Set(TimestampHeader, ts)
		req.Header.Set(SignatureHeader, "v1="+Sign(s.secret, ts, body))
	}
	_, _, err = httpcall.Do(s.http, req, httpcall.Call{What: "webhook " + s.host, Detail: answerText, Secrets: []string{string(s.secret)}})
	return err
}

// Sign is the hex HMAC-SHA256, keyed with secret, of timestamp, a dot, and body.
func Sign(secret []byte, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(timestamp))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// answerText is what a receiver said when it refused: Slack answers in plain words
// ("no_service", "invalid_payload"), others in whatever they like.
func answerText(status int, body []byte) string {
	if status/100 == 3 {
		return "the URL redirects elsewhere: set webhook.url to the final URL"
	}
	return string(body)
}

// Document is the body of a JSON webhook. It is the same on every retry of a
// delivery; the signature's timestamp says when a request was sent.
type Document struct {
	// ID is the delivery's idempotency key, as in the Idempotency-Key header.
	ID        string         `json:"id"`
	Event     string         `json:"event,omitempty"`
	Recipient Recipient      `json:"recipient"`
	Subject   string         `json:"subject,omitempty"`
	Text      string         `json:"text,omitempty"`
	HTML      string         `json:"html,omitempty"`
	Link      string         `json:"link,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
}

// Recipient is who the notification is for.
type Recipient struct {
	Name       string `json:"name,omitempty"`
	Email      string `json:"email,omitempty"`
	Phone      string `json:"phone,omitempty"`
	PushUserID string `json:"pushUserID,omitempty"`
	Visitor    bool   `json:"visitor"`
}

func document(d notify.Delivery) Document {
	return Document{ID: d.IdempotencyKey, Event: d.Event, Subject: d.Subject, Text: d.Text, HTML: d.HTML, Link: d.Link, Data: d.Data,
		Recipient: Recipient{Name: d.To.Name, Email: d.To.Email, Phone: d.To.Phone, PushUserID: d.To.PushUserID, Visitor: d.To.Visitor}}
}
