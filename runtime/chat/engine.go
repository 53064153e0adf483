// Package chat is the runtime's conversation engine: it opens conversations for
// contacts, carries messages both ways, lets operators take, answer and close chats,
// and turns every committed change into live events for the connected consoles and
// widgets. Routing decisions are made by the router it is given.
package chat

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	lru "github.com/hashicorp/golang-lru/v2"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// MaxMessageLength bounds a message's text, in bytes.
const MaxMessageLength = 4096

// Engine is the conversation engine of one LiveChat.
type Engine struct {
	store     store.Store
	hub       *hub.Hub
	now       func() time.Time
	log       *slog.Logger
	view      atomic.Pointer[view]
	metrics   *Metrics
	dispatch  *dispatcher
	deadlines *deadlines
	releases  releases
	// availability tells consoles their operator's availability (availability.go).
	availability *availabilityFeed
	notify       notifiers
	analytics    analyticsFacts
	secrets      atomic.Pointer[Secrets]
	outgoing     func(ch *config.Channel, conv store.Conversation, m *store.Message)
	// openConvs remembers each contact's open conversation, so a messenger's next
	// message is appended to it without a read first; the append finds it closed when
	// it was, and the lookup runs then.
	openConvs *lru.Cache[string, string]
	stop      func()
	onResync  atomic.Pointer[func()]
	cancel    context.CancelFunc
	// done tracks every goroutine the engine starts; closed (under bgMu) stops it
	// starting more, so Close can wait for them all.
	done   sync.WaitGroup
	bgMu   sync.Mutex
	closed bool
}

// Options of an engine.
type Options struct {
	Now     func() time.Time
	Metrics *Metrics
	Log     *slog.Logger
	// Outbound, when set, is given every message to a contact before it is stored, to
	// add the jobs that send it to the contact's messenger (channels.Manager.Outbound).
	Outbound func(ch *config.Channel, conv store.Conversation, m *store.Message)
	// manual leaves routing and deadlines to the caller, for tests that drive a fake
	// clock (export_test.go).
	manual bool
}

// New returns an engine serving cfg from s, publishing live events to h. It routes
// waiting chats and fires stored deadlines in the background until Close.
func New(s store.Store, h *hub.Hub, cfg *config.Config, opts Options) *Engine {
	e := &Engine{store: s, hub: h, now: opts.Now, metrics: opts.Metrics, log: opts.Log,
		dispatch: newDispatcher(), deadlines: newDeadlines(), outgoing: opts.Outbound, availability: newAvailabilityFeed()}
	e.openConvs, _ = lru.New[string, string](openConvsRemembered)
	if e.now == nil {
		e.now = time.Now
	}
	if e.metrics == nil {
		e.metrics = NewMetrics(nil)
	}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e.view.Store(newView(cfg))
	e.stop = s.Subscribe(e.onChange)
	ctx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	if err := e.loadDeadlines(ctx); err != nil {
		e.log.Error("loading stored deadlines", "error", err)
	}
	if !opts.manual {
		e.background(func() { e.runDispatcher(ctx) })
		e.background(func() { e.runDeadlines(ctx) })
		e.background(func() { e.runConsoleSweep(ctx) })
		e.background(func() { e.runAvailability(ctx) })
		e.markAll()
	}
	return e
}

// background runs fn on a goroutine Close waits for. Once Close has begun it runs
// nothing and reports false.
func (e *Engine) background(fn func()) bool {
	e.bgMu.Lock()
	defer e.bgMu.Unlock()
	if e.closed {
		return false
	}
	e.done.Add(1)
	go func() { defer e.done.Done(); fn() }()
	return true
}

// Close stops the engine's background work, waits for the calls it has in flight (a
// bot's webhook, bounded by its timeout) and ends its subscription to the store.
func (e *Engine) Close() {
	e.bgMu.Lock()
	e.closed = true
	e.bgMu.Unlock()
	e.cancel()
	e.done.Wait()
	e.stop()
	e.analytics.close()
}

// OnResync sets what else must happen when the change feed may have missed changes:
// the API closes its connections, so clients reload what they show.
func (e *Engine) OnResync(fn func()) { e.onResync.Store(&fn) }

// resync reads afresh what the engine keeps from the change feed, after the feed may
// have missed changes: the stored deadlines, and every queue is routed again.
func (e *Engine) resync() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.loadDeadlines(ctx); err != nil {
		e.log.Error("reloading stored deadlines after the change feed reconnected", "error", err)
	}
	e.dispatch.forget()
	e.markAll()
	if fn := e.onResync.Load(); fn != nil {
		(*fn)()
	}
}

func (e *Engine) markAll() {
	v := e.view.Load()
	for _, q := range v.cfg.Queues {
		e.dispatch.mark(q.Name)
	}
}

// Apply switches to a new configuration. Conversations, connections and in-flight
// requests carry on; what changed applies from the next request on, and every queue is
// routed again (an operator added or a limit raised may let a waiting chat through).
func (e *Engine) Apply(cfg *config.Config) {
	e.view.Store(newView(cfg))
	e.markAll()
}

// Config returns the configuration in force and its revision.
func (e *Engine) Config() (*config.Config, string) {
	v := e.view.Load()
	return v.cfg, v.revision
}

// Store returns the engine's store.
func (e *Engine) Store() store.Store { return e.store }

// Hub returns the engine's hub.
func (e *Engine) Hub() *hub.Hub { return e.hub }

// newID returns a random, URL-safe identifier.
func newID() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// newToken returns a visitor token and the hash stored in its place.
func newToken() (token, hash string) {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	token = base64.RawURLEncoding.EncodeToString(b[:])
	return token, HashToken(token)
}

// HashToken is how visitor tokens are stored: never in the clear.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

func validText(text string) (string, error) {
	text = strings.TrimSpace(text)
	switch {
	case text == "":
		return "", Invalid("text is empty: send at least one character")
	case len(text) > MaxMessageLength:
		return "", Invalid(fmt.Sprintf("text is %d bytes long: the limit is %d", len(text), MaxMessageLength))
	case !utf8.ValidString(text):
		return "", Invalid("text is not valid UTF-8")
	}
	return text, nil
}

// Identity names a contact on a channel.
type Identity struct {
	// ExternalID is the contact's id on the channel: a Telegram chat id, an employee's
	// name; empty for a new widget visitor, who gets a fresh one.
	ExternalID string
	Name       string
	Email      string
	Phone      string
}

// Opened is a conversation opened for a contact.
type Opened struct {
	Conversation store.Conversation
	Contact      store.Contact
	// Token is the visitor's credential, set only when a new widget visitor was created.
	Token string
}

// channel returns an active channel of the configuration, or an error that says why not.
func (v *view) activeChannel(name string) (*config.Channel, error) {
	ch := v.channels[name]
	if ch == nil {
		return nil, NotFound(fmt.Sprintf("channel %q does not exist", name))
	}
	if !ch.Active {
		return nil, Unavailable(fmt.Sprintf("channel %q is switched off", name))
	}
	return ch, nil
}

// Open returns the contact's open conversation on a channel, or starts one. A new
// widget visitor (no ExternalID) is created with a fresh token.
func (e *Engine) Open(ctx context.Context, channel string, id Identity) (Opened, error) {
	v := e.view.Load()
	ch, err := v.activeChannel(channel)
	if err != nil {
		return Opened{}, err
	}
	var out Opened
	c := store.Contact{ID: newID(), Channel: channel, ExternalID: id.ExternalID, Name: id.Name, Email: id.Email, Phone: id.Phone}
	if c.ExternalID == "" {
		c.ExternalID = c.ID
		out.Token, c.TokenHash = newToken()
	}
	if out.Contact, err = e.store.UpsertContact(ctx, c); err != nil {
		return Opened{}, err
	}
	if out.Conversation, err = e.openConversation(ctx, v, ch, out.Contact); err != nil {
		return Opened{}, err
	}
	return out, nil
}

// EnsureContact returns the contact of a known identity on a channel, creating it.
// Most messages come from contacts known already: they cost a read, not a write.
func (e *Engine) EnsureContact(ctx context.Context, channel string, id Identity) (store.Contact, error) {
	if c, err := e.store.ContactByExternalID(ctx, channel, id.ExternalID); !errors.Is(err, store.ErrNotFound) {
		return c, err
	}
	return e.store.UpsertContact(ctx, store.Contact{ID: newID(), Channel: channel, ExternalID: id.ExternalID,
		Name: id.Name, Email: id.Email, Phone: id.Phone})
}

// openConversation returns the contact's open conversation on ch or starts a new one.
// The store allows one open conversation per contact and channel, so of two
// concurrent opens one creates it and the other finds it.
func (e *Engine) openConversation(ctx context.Context, v *view, ch *config.Channel, contact store.Contact) (store.Conversation, error) {
	for range 3 {
		c, found, err := e.findOpen(ctx, ch, contact)
		if err != nil || found {
			return c, err
		}
		c, err = e.startConversation(ctx, v, ch, contact)
		if !errors.Is(err, store.ErrOpenExists) {
			return c, err
		}
	}
	return store.Conversation{}, Conflict("the conversation keeps changing: try again")
}

// openConvsRemembered bounds the contacts whose open conversation is remembered.
const openConvsRemembered = 1 << 16

// findOpen looks up the contact's open conversation on ch.
func (e *Engine) findOpen(ctx context.Context, ch *config.Channel, contact store.Contact) (store.Conversation, bool, error) {
	open, err := e.store.Conversations(ctx, store.ConversationFilter{ContactID: contact.ID,
		States: []store.State{store.StateBot, store.StateQueued, store.StateAssigned, store.StateActive, store.StateMissed}})
	if err != nil {
		return store.Conversation{}, false, err
	}
	for _, c := range open {
		if c.Channel == ch.Name {
			return c, true, nil
		}
	}
	return store.Conversation{}, false, nil
}

// startConversation starts a conversation for the contact on ch.
func (e *Engine) startConversation(ctx context.Context, v *view, ch *config.Channel, contact store.Contact) (store.Conversation, error) {
	now := e.now()
	conv := store.Conversation{ID: newID(), Channel: ch.Name, Queue: ch.Queue, ContactID: contact.ID, State: store.StateQueued, QueuedAt: &now}
	event := chatv1alpha1.EventChatStarted
	switch offline, err := e.queueOffline(ctx, v, ch.Queue); {
	case err != nil:
		return store.Conversation{}, err
	case ch.Bot != nil:
		conv.State, conv.QueuedAt = store.StateBot, nil
	case offline:
		// Nobody of the queue is online: the contact leaves a message for later.
		conv.State, event = store.StateMissed, chatv1alpha1.EventOfflineMessage
	}
	conv, err := e.store.CreateConversation(ctx, conv, store.Activity{Type: string(event), Actor: "contact:" + contact.ID,
		Detail: "channel " + ch.Name + ", queue " + ch.Queue}, record(event, conv.ID, "", ""))
	if err != nil {
		return store.Conversation{}, err
	}
	e.metrics.conversationsStarted.WithLabelValues(string(ch.Type)).Inc()
	e.emit(event, &conv, "", "")
	return conv, nil
}

// queueOffline reports whether a queue takes offline messages now: it accepts them and
// none of its operators is online and active.
func (e *Engine) queueOffline(ctx context.Context, v *view, queue string) (bool, error) {
	q := v.queues[queue]
	if q == nil || !q.Offline.AcceptMessages {
		return false, nil
	}
	online, err := e.QueueOnline(ctx, queue)
	return !online, err
}

// ContactByToken finds a widget visitor by their token.
func (e *Engine) ContactByToken(ctx context.Context, token string) (store.Contact, error) {
	if token == "" {
		return store.Contact{}, Unauthenticated("missing visitor token")
	}
	c, err := e.store.ContactByToken(ctx, HashToken(token))
	if errors.Is(err, store.ErrNotFound) {
		return store.Contact{}, Unauthenticated("unknown visitor token")
	}
	return c, err
}

// ContactConversation returns a conversation of the contact; another contact's
// conversation is reported as not found, revealing nothing.
func (e *Engine) ContactConversation(ctx context.Context, contact store.Contact, id string) (store.Conversation, error) {
	c, err := e.store.Conversation(ctx, id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.ContactID != contact.ID) {
		return store.Conversation{}, NotFound("no such conversation")
	}
	return c, err
}

// Inbound stores a message from a contact. It goes to the contact's open conversation
// on the channel, or starts a new one when the last one was closed. A message the
// provider delivers again (same providerID) is stored once.
func (e *Engine) Inbound(ctx context.Context, contact store.Contact, text, providerID string) (store.Message, store.Conversation, error) {
	return e.InboundTo(ctx, contact, "", text, providerID)
}

// InboundTo is Inbound with the conversation the contact is in, when the caller knows
// it (a widget's WebSocket does): the message is appended without looking the
// conversation up, unless it was closed meanwhile.
func (e *Engine) InboundTo(ctx context.Context, contact store.Contact, conversationID, text, providerID string) (store.Message, store.Conversation, error) {
	return e.inbound(ctx, contact, conversationID, store.Message{Text: text, ProviderID: providerID})
}

// inbound stores msg (its text and provider id, and any attachments and jobs) from
// the contact.
func (e *Engine) inbound(ctx context.Context, contact store.Contact, conversationID string, msg store.Message) (store.Message, store.Conversation, error) {
	text, err := validText(msg.Text)
	if err != nil {
		return store.Message{}, store.Conversation{}, err
	}
	v := e.view.Load()
	ch, err := v.activeChannel(contact.Channel)
	if err != nil {
		return store.Message{}, store.Conversation{}, err
	}
	msg.Direction, msg.AuthorKind, msg.Text = store.DirectionIn, "contact", text
	// The store records a conversation's first message as FirstMessageReceived.
	msg.Events = append(msg.Events, record(chatv1alpha1.EventMessageReceived, "", "", text))
	var conv store.Conversation
	remembered := false
	if conversationID == "" {
		conversationID, remembered = e.openConvs.Get(contact.ID)
	}
	if conversationID != "" {
		msg.ConversationID = conversationID
		m, dup, err := e.store.AppendMessage(ctx, ch.Name, msg)
		if err == nil {
			e.countInbound(ch, dup)
			conv = store.Conversation{ID: conversationID, Channel: ch.Name, Queue: m.Queue, ContactID: contact.ID}
			e.inboundEvent(m, conv, dup)
			e.maybeBot(ctx, ch, conv, m, dup)
			return m, conv, nil
		}
		if remembered {
			e.openConvs.Remove(contact.ID)
		}
		if !errors.Is(err, store.ErrClosed) && !(remembered && errors.Is(err, store.ErrNotFound)) {
			return store.Message{}, store.Conversation{}, err
		}
	}
	for range 3 {
		if conv, err = e.openConversation(ctx, v, ch, contact); err != nil {
			return store.Message{}, store.Conversation{}, err
		}
		msg.ConversationID = conv.ID
		m, dup, err := e.store.AppendMessage(ctx, ch.Name, msg)
		if errors.Is(err, store.ErrClosed) {
			continue // closed between the lookup and the append: open the next one
		}
		if err != nil {
			return store.Message{}, store.Conversation{}, err
		}
		e.openConvs.Add(contact.ID, conv.ID)
		e.countInbound(ch, dup)
		e.inboundEvent(m, conv, dup)
		e.maybeBot(ctx, ch, conv, m, dup)
		return m, conv, nil
	}
	return store.Message{}, store.Conversation{}, Conflict("the conversation keeps closing: try again")
}

// maybeBot passes a new message to the channel's bot while the bot holds the chat.
func (e *Engine) maybeBot(ctx context.Context, ch *config.Channel, conv store.Conversation, m store.Message, duplicate bool) {
	if ch.Bot == nil || duplicate {
		return
	}
	c, err := e.store.Conversation(ctx, conv.ID)
	if err == nil && c.State == store.StateBot {
		e.botTurn(ctx, ch, c, m)
	}
}

func (e *Engine) countInbound(ch *config.Channel, duplicate bool) {
	if !duplicate {
		e.metrics.messages.WithLabelValues(string(ch.Type), string(store.DirectionIn)).Inc()
	}
}

// inboundEvent emits FirstMessageReceived for a conversation's first message and
// MessageReceived for the others.
func (e *Engine) inboundEvent(m store.Message, conv store.Conversation, duplicate bool) {
	if duplicate {
		return
	}
	ev := chatv1alpha1.EventMessageReceived
	if m.Seq == 1 {
		ev = chatv1alpha1.EventFirstMessageReceived
	}
	e.emit(ev, &conv, "", m.Text)
}

// outbound lets the channels add the jobs that carry a message to the contact.
func (e *Engine) outbound(ch *config.Channel, conv store.Conversation, m *store.Message) {
	if e.outgoing != nil {
		e.outgoing(ch, conv, m)
	}
}

// Messages returns up to limit (0: 500; at most 1000) of a conversation's messages
// after a sequence number.
func (e *Engine) Messages(ctx context.Context, conversationID string, after int64, limit int) ([]store.Message, error) {
	if limit <= 0 {
		limit = 500
	}
	limit = min(limit, 1000)
	return e.store.Messages(ctx, conversationID, after, limit)
}
