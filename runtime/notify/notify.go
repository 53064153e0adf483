// Package notify is the delivery side of notifications: a Provider sends one rendered
// Delivery to one recipient through one service (SMTP, Twilio SMS, Pusher Beams,
// OneSignal, a webhook). Each provider lives in its own package below this one and is
// made from its block of the compiled configuration; only it knows the service's wire
// format. Which events reach whom, and with which words, is decided before a Delivery
// exists.
//
// A provider's error is classified as the outbox expects: outbox.Permanent when the
// service refused the delivery and always will, outbox.RetryAfter when it asked to
// wait, any other error to retry after a backoff. No error holds a secret.
package notify

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Provider sends deliveries through one configured service. It is safe for concurrent
// use.
type Provider interface {
	// Deliver sends d. Sending the same IdempotencyKey again is how the outbox retries:
	// providers whose service knows idempotency pass the key on, so a retry after a
	// lost answer does not notify twice.
	Deliver(ctx context.Context, d Delivery) error
}

// Delivery is one rendered notification to one recipient.
type Delivery struct {
	// IdempotencyKey identifies the delivery across retries: the same event, rule,
	// recipient and provider give the same key (see Key).
	IdempotencyKey string
	To             Recipient
	// Subject is the email subject and the push title; Text the plain body; HTML the
	// HTML body of email, when the template has one. All are rendered already.
	Subject, Text, HTML string
	// Link is where a click leads: the conversation in the console, or the widget for
	// a visitor. Push notifications open it.
	Link string
	// Event is the event type ("MessageReceived"), and Data its structured fields, for
	// webhooks.
	Event string
	Data  map[string]any
	// Unsubscribe is the URL a recipient follows to stop these notifications, sent as
	// List-Unsubscribe on visitor mail; one-click when it is https.
	Unsubscribe string
}

// Recipient is who a delivery is for; each provider uses the address it needs.
type Recipient struct {
	Name  string
	Email string
	// Phone in E.164 form: +4915112345678.
	Phone string
	// PushUserID is the recipient's user id at the push service: the Beams user id,
	// the OneSignal external id.
	PushUserID string
	// Visitor is true for the chat's visitor, false for operators and supervisors.
	Visitor bool
}

// SecretFunc returns the value of a key of a Secret the configuration names, nil when
// it is missing.
type SecretFunc func(config.SecretKeyReference) []byte

// Key derives a delivery's idempotency key from the event's id, the rule's name, the
// recipient and the provider's name: stable across retries and restarts, distinct for
// every delivery of an event.
func Key(eventID, rule, recipient, provider string) string {
	h := sha256.New()
	for _, part := range []string{eventID, rule, recipient, provider} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Scrub replaces every secret, and its base64 forms (an echoed Authorization header),
// in s with "[redacted]". Providers pass a service's words through it before they go
// into an error. Secrets shorter than 4 bytes are left alone: replacing them would
// garble the text and hide nothing.
func Scrub(s string, secrets ...string) string {
	for _, secret := range secrets {
		if len(secret) < 4 {
			continue
		}
		for _, form := range []string{secret, base64.StdEncoding.EncodeToString([]byte(secret)),
			base64.RawStdEncoding.EncodeToString([]byte(secret))} {
			s = strings.ReplaceAll(s, form, "[redacted]")
		}
	}
	return s
}
