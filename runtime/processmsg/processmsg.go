// Package processmsg sends the messages business processes write to clients (ELMA's
// "Live Chat Notification" activity): over the channel the client used, in their
// conversation, with the process's error handling (try again, tell people, or report
// the failure to the process).
//
// A process message is stored before anything is tried: one outbox job (KindWrite)
// finds the recipient's conversations and stores the message in each, with one send
// job per conversation (SendKind) in the message's transaction. The jobs are the
// record: GET reads them by their idempotency keys, which derive from the process
// message's id, so the outcome of every attempt is there for as long as the outbox
// keeps finished jobs.
package processmsg

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/render"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Store is what process messages need of the store.
type Store interface {
	store.Store
	store.Jobs
	store.Events
}

// Channels sends through messenger channels (channels.Manager).
type Channels interface {
	Messenger(t config.ChannelType) bool
	Limits(t config.ChannelType) (channels.Limits, bool)
	SendMessage(ctx context.Context, channel, contactID string, messageID int64, text string) error
}

// Options of a Service. Zero fields take defaults.
type Options struct {
	Store    Store
	Engine   *chat.Engine
	Channels Channels
	// Secret returns a value of a Secret the configuration names, nil when missing.
	Secret func(name, key string) []byte
	// HTTP posts the error callbacks; a client with a 10s timeout by default.
	HTTP *http.Client
	// WaitPoll is how often a waiting request looks at its jobs; 20ms by default.
	WaitPoll time.Duration
	// MaxWait bounds how long a request waits for the outcome; 25s by default.
	MaxWait time.Duration
	Log     *slog.Logger
	Now     func() time.Time
}

// Service accepts process messages and sends them.
type Service struct {
	opts Options
	// failing tracks the failures being reported, for Close.
	failing sync.WaitGroup
}

// New returns the service; Register its kinds with the outbox before it starts.
func New(o Options) *Service {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if o.WaitPoll <= 0 {
		o.WaitPoll = 20 * time.Millisecond
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 25 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{opts: o}
}

// Close waits for the failures being reported; the store must still be open.
func (s *Service) Close() { s.failing.Wait() }

// Errors of Authenticate.
var (
	// ErrDisabled: the LiveChat has no spec.processAPI.
	ErrDisabled = errors.New("the process-message API is off: set spec.processAPI.tokenSecretRef on the LiveChat to turn it on")
	// ErrNoToken: the Secret holds no usable token.
	ErrNoToken = errors.New("the process-message API has no usable token: the key spec.processAPI.tokenSecretRef names is missing or shorter than 16 characters")
)

func (s *Service) config() *config.Config {
	cfg, _ := s.opts.Engine.Config()
	return cfg
}

// token is the process API's token, or an error that says why there is none.
func (s *Service) token() ([]byte, error) {
	p := s.config().LiveChat.ProcessAPI
	if p == nil {
		return nil, ErrDisabled
	}
	tok := []byte(strings.TrimSpace(string(s.opts.Secret(p.TokenSecret.Name, p.TokenSecret.Key))))
	if len(tok) < auth.MinTokenLength {
		return nil, ErrNoToken
	}
	return tok, nil
}

// Authenticate checks a bearer credential: nil, ErrDisabled, ErrNoToken, or
// chat.Unauthenticated. The hashes are compared in constant time, so neither the
// time taken nor the token's length tells how much of a guess is right.
func (s *Service) Authenticate(credential string) error {
	tok, err := s.token()
	if err != nil {
		return err
	}
	want, got := sha256.Sum256(tok), sha256.Sum256([]byte(credential))
	if credential == "" || subtle.ConstantTimeCompare(want[:], got[:]) != 1 {
		return chat.Unauthenticated("missing or invalid credentials: send the process API token as Authorization: Bearer <token>")
	}
	return nil
}

// record is a process message as stored in its write job's payload.
type record struct {
	ID string `json:"id"`
	// RequestHash tells a repeat of the request from another one under the same
	// Idempotency-Key.
	RequestHash    string    `json:"requestHash"`
	ContactID      string    `json:"contactID"`
	ConversationID string    `json:"conversationID,omitempty"`
	Mode           string    `json:"mode"`
	Channel        string    `json:"channel,omitempty"`
	Text           string    `json:"text"`
	Object         *Object   `json:"object,omitempty"`
	OnError        OnError   `json:"onError,omitzero"`
	Attempts       int       `json:"attempts"`
	DelayMs        int64     `json:"delayMs"`
	CreatedAt      time.Time `json:"createdAt"`
}

func (r record) delay() time.Duration { return time.Duration(r.DelayMs) * time.Millisecond }

// MaxIdempotencyKey bounds the Idempotency-Key header.
const MaxIdempotencyKey = 255

// Submit stores a process message and returns its status, and whether it is new:
// a request repeated with its Idempotency-Key returns the first one's status. Its
// errors are chat errors (Invalid, NotFound, Conflict) with messages to show.
func (s *Service) Submit(ctx context.Context, req Request, idempotencyKey string) (Status, bool, error) {
	if _, err := s.token(); err != nil {
		return Status{}, false, err
	}
	if len(idempotencyKey) > MaxIdempotencyKey {
		return Status{}, false, chat.Invalid(fmt.Sprintf("the Idempotency-Key header is at most %d characters", MaxIdempotencyKey))
	}
	cfg := s.config()
	contact, convID, err := s.recipient(ctx, req.Recipient)
	if err != nil {
		return Status{}, false, err
	}
	p, err := check(&req, cfg, render.Values{"contact_name": contact.Name, "contact_email": contact.Email,
		"contact_phone": contact.Phone, "livechat": or(cfg.LiveChat.DisplayName, cfg.LiveChat.Name)})
	if err != nil {
		return Status{}, false, err
	}
	if req.Mode == ModeApp && req.Channel != "" && req.Channel != contact.Channel {
		return Status{}, false, chat.Invalid(fmt.Sprintf("the contact writes on channel %q, not %q: a contact is one identity on one channel", contact.Channel, req.Channel))
	}
	canonical, _ := json.Marshal(req)
	sum := sha256.Sum256(canonical)
	rec := record{ID: newID(cfg.LiveChat.Name, idempotencyKey), RequestHash: fmt.Sprintf("%x", sum[:16]), ContactID: contact.ID,
		ConversationID: convID, Mode: req.Mode, Channel: req.Channel, Text: p.text, Object: req.Object, OnError: req.OnError,
		Attempts: p.attempts, DelayMs: p.delay.Milliseconds(), CreatedAt: s.opts.Now().UTC()}
	payload, err := json.Marshal(rec)
	if err != nil {
		return Status{}, false, err
	}
	n, err := s.opts.Store.Enqueue(ctx, store.Job{Kind: KindWrite, Key: "process/contact/" + contact.ID,
		IdempotencyKey: writeKey(rec.ID), Payload: payload, MaxAttempts: p.attempts})
	if err != nil {
		return Status{}, false, err
	}
	if n == 0 {
		job, err := s.opts.Store.Job(ctx, writeKey(rec.ID))
		if err != nil {
			return Status{}, false, err
		}
		var first record
		if json.Unmarshal(job.Payload, &first) != nil || first.RequestHash != rec.RequestHash {
			return Status{}, false, chat.Conflict("the Idempotency-Key was used for another request: use a new key for a new message")
		}
	}
	st, err := s.Status(ctx, rec.ID)
	return st, n > 0, err
}

// recipient finds the contact a request names, and the conversation if it names one.
func (s *Service) recipient(ctx context.Context, r Recipient) (store.Contact, string, error) {
	if r.ContactID == "" && r.ConversationID == "" {
		return store.Contact{}, "", chat.Invalid("recipient is empty: set recipient.contactID or recipient.conversationID")
	}
	if r.ContactID != "" && r.ConversationID != "" {
		return store.Contact{}, "", chat.Invalid("recipient names both a contact and a conversation: set only one of recipient.contactID or recipient.conversationID")
	}
	id := r.ContactID
	if r.ConversationID != "" {
		c, err := s.opts.Store.Conversation(ctx, r.ConversationID)
		if errors.Is(err, store.ErrNotFound) {
			return store.Contact{}, "", chat.NotFound(fmt.Sprintf("conversation %q does not exist", r.ConversationID))
		}
		if err != nil {
			return store.Contact{}, "", err
		}
		id = c.ContactID
	}
	c, err := s.opts.Store.Contact(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Contact{}, "", chat.NotFound(fmt.Sprintf("contact %q does not exist", id))
	}
	return c, r.ConversationID, err
}

// Wait returns the process message's status once it is no longer pending, or when
// ctx ends or MaxWait passes (still pending then).
func (s *Service) Wait(ctx context.Context, id string) (Status, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.MaxWait)
	defer cancel()
	t := time.NewTicker(s.opts.WaitPoll)
	defer t.Stop()
	for {
		st, err := s.Status(ctx, id)
		if err != nil || st.State != StatePending {
			return st, err
		}
		select {
		case <-ctx.Done():
			return st, nil
		case <-t.C:
		}
	}
}

// Waits reports whether a request's caller waits for the outcome: it interrupts on
// error without a callback.
func (r Request) Waits() bool {
	return r.OnError.Interrupt != nil && r.OnError.Interrupt.CallbackURL == ""
}

// newID is a process message's id: random, or derived from the Idempotency-Key so a
// repeated request finds the first.
func newID(livechat, idempotencyKey string) string {
	var b [15]byte
	if idempotencyKey == "" {
		if _, err := rand.Read(b[:]); err != nil {
			panic(err)
		}
	} else {
		sum := sha256.Sum256([]byte(livechat + "\x00" + idempotencyKey))
		copy(b[:], sum[:])
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
