// Package channels connects messengers (Telegram, Facebook Messenger, WhatsApp, SMS
// through Twilio) to the engine. Each provider is an Adapter in its own package
// (runtime/channels/<provider>); only the adapters know a provider's wire format. The
// Manager runs them: it serves their webhooks, polls where a provider is polled,
// registers webhooks, probes credentials, and sends the engine's replies through the
// outbox.
package channels

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Adapter is one provider's side of one channel.
type Adapter interface {
	// Webhook verifies a request the provider made to the channel's webhook (body is
	// its raw body, read already) and parses it. A verification handshake answers with
	// Reply.Response. An error is a *RequestError: the request is refused and nothing
	// of it is stored.
	Webhook(r *http.Request, body []byte) (Reply, error)
	// Send sends one message. Its error is classified as the outbox expects
	// (outbox.Permanent, outbox.RetryAfter, or temporary), and holds no secret.
	Send(ctx context.Context, m Outgoing) (Sent, error)
	// Register points the provider's webhook at url (an https URL below the
	// LiveChat's publicURL); Deregister removes it. Providers whose webhook is set on
	// their own console (Meta, Twilio) return nil when the credentials work.
	Register(ctx context.Context, url string) error
	Deregister(ctx context.Context) error
	// Probe checks the credentials with a cheap call, for the Connected condition. Its
	// error says in plain words what is wrong (an invalid token, a wrong app secret),
	// without secrets.
	Probe(ctx context.Context) error
}

// Provider is one messenger: how its adapters are made, and the limits of its sends.
type Provider struct {
	New    Factory
	Limits Limits
}

// Poller is an Adapter that can fetch updates itself (Telegram's getUpdates), for a
// LiveChat without a public HTTPS URL to receive webhooks on.
type Poller interface {
	// Poll fetches the next updates, waiting up to wait for some, and passes them to
	// commit. It confirms them to the provider only on a later call, after commit
	// returned nil, so updates are never lost: an update whose commit failed is
	// fetched again.
	Poll(ctx context.Context, wait time.Duration, commit func([]Event) error) error
}

// Limits of a provider's sends.
type Limits struct {
	// PerRecipient limits the sends to one contact; PerSender the sends of one
	// channel (a bot, a phone number) to everyone.
	PerRecipient, PerSender outbox.Rate
}

// Reply is what a webhook request brought.
type Reply struct {
	// Events, in the order the provider sent them.
	Events []Event
	// Response, when not nil, is the body of the answer (the challenge of Meta's
	// verification handshake), with ContentType.
	Response    []byte
	ContentType string
	// Ack, when set, is the body of the 200 that acknowledges the events once they
	// are stored (Twilio expects TwiML), with AckContentType.
	Ack            []byte
	AckContentType string
}

// EventKind says what an Event carries.
type EventKind string

// Event kinds.
const (
	// EventMessage is a contact's message.
	EventMessage EventKind = "message"
	// EventDelivery is news of one of our messages: delivered, read, failed.
	EventDelivery EventKind = "delivery"
	// EventOptOut and EventOptIn: the contact asked to get no more messages (SMS
	// STOP), or to get them again (START).
	EventOptOut EventKind = "optOut"
	EventOptIn  EventKind = "optIn"
	// EventHandover: the thread control of a conversation moved (Messenger's
	// handover protocol); Text says to whom.
	EventHandover EventKind = "handover"
)

// Event is one normalized thing a provider told us.
type Event struct {
	Kind EventKind
	// Contact is who the event concerns.
	Contact Contact
	// ProviderID identifies a message uniquely within the channel: the dedupe key of
	// an inbound message (providers deliver again), the id of our message that a
	// delivery event is about.
	ProviderID string
	// Text of a message: its text, or an attachment's caption.
	Text        string
	Attachments []Attachment
	// At is when the provider says it happened; zero if it does not say.
	At time.Time
	// Delivery is the news of a delivery event; Error is the provider's reason for a
	// failure, in plain words.
	Delivery store.DeliveryState
	Error    string
	// Watermark, for a delivery event without ProviderID, means every message to the
	// contact sent at or before it (Messenger's delivery and read watermarks).
	Watermark time.Time
}

// Contact is a provider's identity of a contact.
type Contact struct {
	// ExternalID is the address to reply to: a Telegram chat id, a page-scoped id, a
	// phone number in E.164 form.
	ExternalID string
	Name       string
	Phone      string
}

// Attachment kinds.
const (
	AttachmentImage    = "image"
	AttachmentDocument = "document"
	AttachmentAudio    = "audio"
	AttachmentVideo    = "video"
	AttachmentLocation = "location"
)

// Attachment is a file or place a message carries.
type Attachment struct {
	// Kind is one of the Attachment kinds.
	Kind string
	// Ref is how the adapter fetches the file: a file id, a media id, a URL.
	Ref         string
	Name        string
	ContentType string
	// Latitude and Longitude of a location.
	Latitude, Longitude float64
}

// Outgoing is one message to send.
type Outgoing struct {
	// To is the contact's ExternalID.
	To   string
	Text string
	// LastInbound is when the contact last wrote, for providers that allow replies
	// only within a window after it (Meta's 24 hours); zero when unknown.
	LastInbound time.Time
	// ByBot is true for a channel bot's answer: it does not take the conversation
	// from the bot (Messenger's thread control), where an operator's reply does.
	ByBot bool
	// Attachment, when set, is a file to send, with Text as its caption (empty for
	// none).
	Attachment *OutgoingAttachment
}

// OutgoingAttachment is a file an operator sends.
type OutgoingAttachment struct {
	// Kind is one of the Attachment kinds; ContentType was sniffed from Data.
	Kind, Name, ContentType string
	Data                    []byte
	// URL serves the file to anyone who has it, for an hour, for providers that
	// fetch files themselves (Twilio's MMS); empty when the LiveChat has no public
	// https URL.
	URL string
}

// Sent is a message the provider accepted.
type Sent struct {
	// ProviderID is the provider's id of the message, which its delivery news names.
	ProviderID string
}

// RequestError refuses a webhook request.
type RequestError struct {
	// Status is the HTTP status to answer: 400 malformed, 401 or 403 forged.
	Status int
	// Reason is a metric label: "malformed", "forged", "stale", "too_large".
	Reason string
	// Message explains it to the caller, without secrets.
	Message string
}

func (e *RequestError) Error() string { return e.Message }

// Malformed refuses a request the adapter cannot parse.
func Malformed(format string, args ...any) error {
	return &RequestError{Status: http.StatusBadRequest, Reason: "malformed", Message: fmt.Sprintf(format, args...)}
}

// Forged refuses a request whose signature or secret does not verify.
func Forged(format string, args ...any) error {
	return &RequestError{Status: http.StatusForbidden, Reason: "forged", Message: fmt.Sprintf(format, args...)}
}

// Stale refuses a request replayed too late.
func Stale(format string, args ...any) error {
	return &RequestError{Status: http.StatusForbidden, Reason: "stale", Message: fmt.Sprintf(format, args...)}
}

// Spec is what an adapter is made from.
type Spec struct {
	Channel *config.Channel
	// Secret returns a value of a Secret the channel names; nil when missing.
	Secret func(config.SecretKeyReference) []byte
	// HTTP is the client for calls to the provider.
	HTTP *http.Client
	// WebhookURL is the public URL of the channel's webhook; empty when the LiveChat
	// has no public HTTPS URL.
	WebhookURL string
	// Now is the clock.
	Now func() time.Time
}

// Factory makes the adapter of a channel. Its error (a missing Secret value) says
// what to fix.
type Factory func(Spec) (Adapter, error)

// ErrNotConfigured: the channel has no adapter in this runtime (it was deleted, or its
// configuration is broken).
var ErrNotConfigured = errors.New("the channel is not configured")

// DeriveSecret derives a stable secret for one purpose from a credential, such as the
// token Telegram echoes with every webhook call: every replica derives the same one,
// it changes when the credential does, and it reveals nothing of the credential.
func DeriveSecret(credential []byte, purpose string) string {
	mac := hmac.New(sha256.New, credential)
	mac.Write([]byte("switchboard/" + purpose))
	return hex.EncodeToString(mac.Sum(nil))
}
