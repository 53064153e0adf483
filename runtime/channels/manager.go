package channels

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/egress"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Engine is what the manager needs of the conversation engine.
type Engine interface {
	EnsureContact(ctx context.Context, channel string, id chat.Identity) (store.Contact, error)
	Inbound(ctx context.Context, contact store.Contact, text, providerID string) (store.Message, store.Conversation, error)
	// InboundMessage and AttachmentLimits: contacts' files (fetch.go).
	InboundMessage(ctx context.Context, contact store.Contact, m store.Message) (store.Message, store.Conversation, error)
	AttachmentLimits() config.Attachments
}

// Store is what the manager needs of the store: contacts and delivery states, and
// the outbox's jobs for registrations.
type Store interface {
	store.Store
	store.Jobs
}

// Options of a manager. Zero fields take defaults.
type Options struct {
	Store  Store
	Engine Engine
	// Providers by channel type.
	Providers map[config.ChannelType]Provider
	// HTTP is the client adapters call providers with; one with a 30s timeout by
	// default.
	HTTP *http.Client
	// ProbeInterval is how often credentials are checked again; 5m by default.
	ProbeInterval time.Duration
	// PollWait is how long one long poll waits for updates; 25s by default.
	PollWait time.Duration
	// SendBackoff is the first wait before a failed send is tried again, doubling
	// from there; 2s by default.
	SendBackoff time.Duration
	// OnStatus hears of every change of a channel's connection status, from one
	// goroutine at a time.
	OnStatus func(Status)
	Metrics  prometheus.Registerer
	Log      *slog.Logger
	Now      func() time.Time
}

// Manager runs the messenger channels of one LiveChat.
type Manager struct {
	opts Options
	m    *metrics

	mu      sync.Mutex
	entries map[string]*entry
	// retired holds the adapters of channels deleted from the configuration, until
	// their webhooks are deregistered.
	retired map[string]Adapter
	// seen lists the fingerprints each channel had, so a registration job that a newer
	// configuration superseded is dropped.
	seen map[string][]string
	// changes counts each change of a channel (from one fingerprint to another) this
	// process made, for the registration jobs' idempotency keys.
	changes map[string]int

	statusMu sync.Mutex
	statuses map[string]Status

	// contacts remembers the contacts messages came from (by channel and id on the
	// channel), so each next message of theirs costs no read: a contact's identity
	// never changes, and contacts are never deleted.
	contacts *lru.Cache[string, store.Contact]

	files *files // set by Register

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// entry is one messenger channel as configured now.
type entry struct {
	ch          *config.Channel
	adapter     Adapter // nil when it could not be made
	err         error   // why not
	fingerprint string
	webhookURL  string
	stopPoll    context.CancelFunc
}

// contactsRemembered bounds the contacts the manager remembers.
const contactsRemembered = 1 << 16

// NewManager returns a manager; Apply gives it channels.
func NewManager(o Options) *Manager {
	if o.HTTP == nil {
		o.HTTP = egress.Client(30 * time.Second)
	}
	if o.ProbeInterval <= 0 {
		o.ProbeInterval = 5 * time.Minute
	}
	if o.PollWait <= 0 {
		o.PollWait = 25 * time.Second
	}
	if o.SendBackoff <= 0 {
		o.SendBackoff = 2 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	mg := &Manager{opts: o, m: newMetrics(o.Metrics), entries: map[string]*entry{}, retired: map[string]Adapter{},
		seen: map[string][]string{}, changes: map[string]int{}, statuses: map[string]Status{}, ctx: ctx, cancel: cancel}
	mg.contacts, _ = lru.New[string, store.Contact](contactsRemembered)
	mg.wg.Add(1)
	go mg.probeLoop()
	return mg
}

// Close stops polling and probing and waits for them.
func (mg *Manager) Close() {
	mg.cancel()
	mg.wg.Wait()
}

// Messenger reports whether channels of type t are run by the manager.
func (mg *Manager) Messenger(t config.ChannelType) bool {
	_, ok := mg.opts.Providers[t]
	return ok
}

// Apply switches to a configuration: channels new or changed get a new adapter and
// are registered (or polled), channels switched off or deleted are deregistered.
// Registrations go through the outbox, so with several replicas each happens once.
func (mg *Manager) Apply(ctx context.Context, cfg *config.Config, secret func(name, key string) []byte) {
	public := publicHTTPS(cfg.LiveChat.PublicURL)
	mg.mu.Lock()
	var jobs []store.Job
	var probe []*entry
	present := map[string]bool{}
	for i := range cfg.Channels {
		ch := &cfg.Channels[i]
		p, ok := mg.opts.Providers[ch.Type]
		if !ok {
			continue
		}
		present[ch.Name] = true
		url := ""
		if public != "" && ch.WebhookPath != "" {
			url = public + ch.WebhookPath
		}
		fp := fingerprint(ch, url, secret)
		old := mg.entries[ch.Name]
		if old != nil && old.fingerprint == fp {
			continue // the same settings and credentials: the entry stays as it is
		}
		if old != nil && old.stopPoll != nil {
			old.stopPoll()
		}
		e := &entry{ch: ch, fingerprint: fp, webhookURL: url}
		e.adapter, e.err = p.New(Spec{Channel: ch, Secret: func(r config.SecretKeyReference) []byte { return secret(r.Name, r.Key) },
			HTTP: mg.opts.HTTP, WebhookURL: url, Now: mg.opts.Now})
		mg.entries[ch.Name] = e
		mg.seen[ch.Name] = append(mg.seen[ch.Name], fp)
		prev := "start"
		if old != nil {
			prev = old.fingerprint
		}
		delete(mg.retired, ch.Name)
		switch {
		case e.err != nil:
			mg.setStatus(Status{Channel: ch.Name, Type: ch.Type, Reason: ReasonInvalidCredentials, Message: e.err.Error()})
		case !ch.Active:
			jobs = append(jobs, mg.registrationJob(ch.Name, fp, prev, actionDeregister))
			mg.setStatus(Status{Channel: ch.Name, Type: ch.Type, Reason: ReasonInactive,
				Message: "the channel is switched off (spec.active is false): it takes no messages and its webhook is removed"})
		case url != "":
			jobs = append(jobs, mg.registrationJob(ch.Name, fp, prev, actionRegister))
			probe = append(probe, e)
		default:
			if _, polls := e.adapter.(Poller); polls {
				mg.startPolling(e)
			}
			probe = append(probe, e)
		}
	}
	for name, e := range mg.entries {
		if present[name] {
			continue
		}
		if e.stopPoll != nil {
			e.stopPoll()
		}
		delete(mg.entries, name)
		if e.adapter != nil && e.ch.Active {
			mg.retired[name] = e.adapter
			jobs = append(jobs, mg.registrationJob(name, e.fingerprint+"-deleted", e.fingerprint, actionDeregister))
			mg.seen[name] = append(mg.seen[name], e.fingerprint+"-deleted")
		}
		mg.dropStatus(name, e.ch.Type)
	}
	mg.mu.Unlock()
	if len(jobs) > 0 {
		if _, err := mg.opts.Store.Enqueue(ctx, jobs...); err != nil {
			mg.opts.Log.Error("queueing webhook registrations", "error", err)
		}
	}
	for _, e := range probe {
		mg.goProbe(e)
	}
}

// publicHTTPS returns the LiveChat's public URL if it is an https URL providers can
// deliver webhooks to, and "" otherwise.
func publicHTTPS(u string) string {
	if strings.HasPrefix(u, "https://") {
		return strings.TrimSuffix(u, "/")
	}
	return ""
}

// fingerprint identifies a channel's settings and credentials: when it changes, the
// adapter is made anew and the webhook registered again. The secrets are hashed in,
// never kept.
func fingerprint(ch *config.Channel, url string, secret func(name, key string) []byte) string {
	h := sha256.New()
	settings, _ := json.Marshal(struct {
		Ch  *config.Channel
		URL string
	}{ch, url})
	h.Write(settings)
	for _, ref := range secretRefs(ch) {
		h.Write([]byte{0})
		h.Write(secret(ref.Name, ref.Key))
	}
	return hex.EncodeToString(h.Sum(nil))[:24]
}

// secretRefs lists the Secret values a messenger channel uses.
func secretRefs(ch *config.Channel) []config.SecretKeyReference {
	switch {
	case ch.Telegram != nil:
		return []config.SecretKeyReference{ch.Telegram.BotTokenSecretRef}
	case ch.FacebookMessenger != nil:
		f := ch.FacebookMessenger
		return []config.SecretKeyReference{f.PageAccessTokenSecretRef, f.AppSecretSecretRef, f.VerifyTokenSecretRef}
	case ch.WhatsApp != nil:
		w := ch.WhatsApp
		return []config.SecretKeyReference{w.AccessTokenSecretRef, w.AppSecretSecretRef, w.VerifyTokenSecretRef}
	case ch.SMS != nil:
		return []config.SecretKeyReference{ch.SMS.AuthTokenSecretRef}
	}
	return nil
}

// lookup returns the channel's entry.
func (mg *Manager) lookup(name string) (*entry, bool) {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	e, ok := mg.entries[name]
	return e, ok
}

// Channels lists the messenger channels the manager runs, by name.
func (mg *Manager) Channels() []string {
	mg.mu.Lock()
	defer mg.mu.Unlock()
	names := make([]string, 0, len(mg.entries))
	for n := range mg.entries {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// errAdapter explains a channel whose adapter could not be made.
func (e *entry) errAdapter() error {
	if e.err != nil {
		return fmt.Errorf("channel %s cannot connect: %w", e.ch.Name, e.err)
	}
	return nil
}
