package dispatch

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/render"
	"github.com/switchboard-chat/switchboard/runtime/notify/rules"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// ProviderFactory makes a provider from its configuration block; its error (a missing
// Secret value) says what to fix.
type ProviderFactory func(p config.NotificationProvider) (notify.Provider, error)

// Deliverer sends delivery jobs: the handler of KindDeliver.
type Deliverer struct {
	st   Store
	cfg  func() *config.Config
	make ProviderFactory
	log  *slog.Logger
	mu   sync.Mutex
	made map[string]made
	// revision is the revision of the configuration revisionOf, the last one seen.
	revisionOf *config.Config
	revision   string
	m          *metrics
	// keys signs the links of {attachments}.
	keys *media.KeySource
	// failing tracks the DeliveryFailed events being recorded, for Close.
	failing sync.WaitGroup
}

type made struct {
	revision string
	provider notify.Provider
	err      error
}

// NewDeliverer returns the deliverer; providers are made on first use and made again
// when the configuration changes.
func NewDeliverer(st Store, cfg func() *config.Config, providers ProviderFactory, log *slog.Logger) *Deliverer {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Deliverer{st: st, cfg: cfg, make: providers, log: log, made: map[string]made{}, m: newMetrics(nil),
		keys: media.NewKeySource(st.RuntimeKey)}
}

// Instrument registers the deliverer's metrics with reg; call it before the first
// delivery.
func (d *Deliverer) Instrument(reg prometheus.Registerer) *Deliverer {
	d.m = newMetrics(reg)
	return d
}

// kindMaxAttempts is the attempts of a delivery whose policy sets none.
const kindMaxAttempts = 5

// Kind is the outbox kind for delivery jobs. The policy's retry schedule is applied
// by the handler itself (RetryAfter), so the kind's own backoff never comes into play.
func (d *Deliverer) Kind() outbox.Kind {
	return outbox.Kind{Handle: d.Deliver, MaxAttempts: kindMaxAttempts, Timeout: 45 * time.Second}
}

// Deliver sends one delivery job.
func (d *Deliverer) Deliver(ctx context.Context, job store.Job) error {
	var p payload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable delivery: %w", err))
	}
	cfg := d.cfg()
	pol := policy(cfg, p.Delivery.Policy)
	if pol == nil {
		return outbox.Permanent(fmt.Errorf("notification policy %s is no longer configured", p.Delivery.Policy))
	}
	if pol.Suspend {
		return outbox.Permanent(fmt.Errorf("notification policy %s is suspended", pol.Name))
	}
	ptype := providerType(cfg, pol.Name, p.Delivery.Provider)
	prov, err := d.provider(cfg, pol, p.Delivery.Provider)
	if err != nil {
		return d.retry(pol, job, ptype, err)
	}
	tpl := render.Builtin(config.EventType(p.Event.Type))
	if p.Delivery.Template != "" {
		for _, t := range pol.Templates {
			if t.Name == p.Delivery.Template {
				tpl = t
			}
		}
	}
	values, link := d.values(ctx, cfg, p)
	if p.Digest != nil {
		if err := d.gather(ctx, cfg, p, values); err != nil {
			return err
		}
	}
	msg := render.Render(tpl, values)
	rc := p.Delivery.Recipient
	err = prov.Deliver(ctx, notify.Delivery{IdempotencyKey: p.Delivery.IdempotencyKey,
		To:      notify.Recipient{Name: rc.Name, Email: rc.Email, Phone: rc.Phone, PushUserID: rc.PushUserID, Visitor: rc.Visitor},
		Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML, Link: link, Event: p.Event.Type, Data: data(p)})
	if err != nil {
		return d.retry(pol, job, ptype, err)
	}
	d.m.deliveries.WithLabelValues(ptype, ResultSent).Inc()
	d.m.latency.WithLabelValues(ptype).Observe(max(time.Since(p.Event.CreatedAt).Seconds(), 0))
	return nil
}

// retry applies the policy's schedule: the delay, fixed or doubling. The attempts it
// allows are the job's (deliveryJob), which the outbox counts; a failure that leaves
// attempts is counted as a retry (the last one is counted by Failed).
func (d *Deliverer) retry(pol *config.Policy, job store.Job, ptype string, err error) error {
	if outbox.IsPermanent(err) {
		return err
	}
	attempts := kindMaxAttempts
	if job.MaxAttempts > 0 {
		attempts = job.MaxAttempts
	}
	if job.Attempts < attempts {
		d.m.retries.WithLabelValues(ptype).Inc()
	}
	if wait, ok := outbox.RetryAfterOf(err); ok {
		return outbox.RetryAfter(err, wait)
	}
	delay := pol.Retry.Delay.Duration
	if delay <= 0 {
		delay = 30 * time.Second
	}
	if pol.Retry.Backoff == "Exponential" {
		delay = time.Duration(float64(delay) * math.Pow(2, float64(max(job.Attempts-1, 0))))
	}
	return outbox.RetryAfter(err, min(delay, time.Hour)) // the CRD caps exponential backoff at 1h
}

// provider returns the policy's provider, made for the configuration in force.
func (d *Deliverer) provider(cfg *config.Config, pol *config.Policy, name string) (notify.Provider, error) {
	key := pol.Name + "/" + name
	d.mu.Lock()
	defer d.mu.Unlock()
	// A configuration's revision hashes all of it: worked out once per configuration,
	// not once per delivery.
	if d.revisionOf != cfg {
		d.revisionOf, d.revision = cfg, cfg.Revision()
	}
	rev := d.revision
	if m, ok := d.made[key]; ok && m.revision == rev {
		return m.provider, m.err
	}
	var block *config.NotificationProvider
	for i := range pol.Providers {
		if pol.Providers[i].Name == name {
			block = &pol.Providers[i]
		}
	}
	m := made{revision: rev}
	if block == nil {
		m.err = outbox.Permanent(fmt.Errorf("provider %s of policy %s is no longer configured", name, pol.Name))
	} else {
		m.provider, m.err = d.make(*block)
	}
	d.made[key] = m
	return m.provider, m.err
}

// values are the merge fields of a delivery, and the link it leads to.
func (d *Deliverer) values(ctx context.Context, cfg *config.Config, p payload) (render.Values, string) {
	ev := p.Event
	v := render.Values{"recipient_name": p.Delivery.Recipient.Name, "event": ev.Type, "time": ev.CreatedAt.UTC().Format(time.RFC3339),
		"livechat": cfg.LiveChat.DisplayName, "conversation_id": ev.ConversationID, "message": ev.Detail}
	if v["livechat"] == "" {
		v["livechat"] = cfg.LiveChat.Name
	}
	switch ev.Type {
	case "DeliveryFailed":
		var f failure
		if json.Unmarshal([]byte(ev.Detail), &f) == nil {
			v["error"], v["message"] = f.Error, ""
		}
	case string(chatv1alpha1.EventDailyAnalytics):
		analyticsValues(v, ev.Detail)
	case string(chatv1alpha1.EventChannelChanged):
		channelValues(cfg, v, ev.Detail)
	}
	link := ""
	if ev.ConversationID != "" && cfg.LiveChat.PublicURL != "" && !p.Delivery.Recipient.Visitor {
		link = strings.TrimSuffix(cfg.LiveChat.PublicURL, "/") + "/console/?conversation=" + ev.ConversationID
		v["conversation_link"] = link
	}
	if ev.ConversationID == "" {
		v["operator_name"] = displayName(cfg, ev.Operator)
		return v, link
	}
	conv, err := d.st.Conversation(ctx, ev.ConversationID)
	if err != nil {
		return v, link
	}
	v["operator_name"] = displayName(cfg, conv.Operator)
	v["queue"], v["channel"] = conv.Queue, conv.Channel
	feedbackValues(cfg, v, conv, ev)
	for _, q := range cfg.Queues {
		if q.Name == conv.Queue && q.DisplayName != "" {
			v["queue"] = q.DisplayName
		}
	}
	for _, ch := range cfg.Channels {
		if ch.Name == conv.Channel && ch.DisplayName != "" {
			v["channel"] = ch.DisplayName
		}
	}
	if ev.MessageSeq > 0 {
		v["attachments"] = d.attachmentLinks(ctx, cfg, ev)
	}
	if contact, err := d.st.Contact(ctx, conv.ContactID); err == nil {
		v["contact_name"], v["contact_email"] = contact.Name, contact.Email
		v["sender_name"] = contact.Name
	}
	if ev.Type == "MessageSent" {
		v["sender_name"] = displayName(cfg, ev.Operator)
		if p := person(cfg, ev.Operator); p != nil {
			v["sender_profile_image"] = p.AvatarURL
		}
	}
	if v["sender_name"] == "" {
		v["sender_name"] = "A visitor"
	}
	return v, link
}

// gather fills a digest's fields: {conversation}, the conversation's messages of the
// window, and {message}, what the contact wrote in it.
func (d *Deliverer) gather(ctx context.Context, cfg *config.Config, p payload, v render.Values) error {
	var transcript, written []string
	var after int64
	for {
		msgs, err := d.st.Messages(ctx, p.Event.ConversationID, after, 500)
		if err != nil {
			return err
		}
		if len(msgs) == 0 {
			break
		}
		for _, m := range msgs {
			if m.CreatedAt.Before(p.Digest.Start) || !m.CreatedAt.Before(p.Digest.End) {
				continue
			}
			who := v["contact_name"]
			switch {
			case m.Direction == store.DirectionIn:
				written = append(written, m.Text)
			case m.Author != "":
				who = displayName(cfg, m.Author)
			default:
				who = m.AuthorKind
			}
			if who == "" {
				who = "Visitor"
			}
			transcript = append(transcript, who+": "+m.Text)
		}
		after = msgs[len(msgs)-1].Seq
	}
	if len(transcript) > 0 {
		v["conversation"] = strings.Join(transcript, "\n")
	}
	if len(written) > 0 {
		v["message"] = strings.Join(written, "\n")
	}
	return nil
}

func displayName(cfg *config.Config, name string) string {
	if p := person(cfg, name); p != nil && p.DisplayName != "" {
		return p.DisplayName
	}
	return name
}

func person(cfg *config.Config, name string) *config.Person {
	for i := range cfg.People {
		if cfg.People[i].Name == name {
			return &cfg.People[i]
		}
	}
	return nil
}

// data is a webhook's structured body.
func data(p payload) map[string]any {
	return map[string]any{"event": p.Event.Type, "eventID": p.Event.ID, "conversationID": p.Event.ConversationID,
		"operator": p.Event.Operator, "text": p.Event.Detail, "at": p.Event.CreatedAt, "rule": p.Delivery.Rule}
}

// failure is the detail of a DeliveryFailed event.
type failure struct {
	Policy   string `json:"policy"`
	Rule     string `json:"rule"`
	Provider string `json:"provider"`
	Error    string `json:"error"`
	// Notify, for a failure of something other than a policy's delivery, names who
	// hears of it; Policy, Rule and Provider are empty then.
	Notify *config.Recipients `json:"notify,omitempty"`
}

// Failure is the DeliveryFailed event of something other than a policy's delivery
// that failed (a message a business process sent) in a conversation, for the
// operators and groups named to hear of it. They are told through the onError sends
// of every policy that has some, with errText as the template's {error}.
func Failure(conversationID, errText string, operators, groups []string) store.Event {
	detail, _ := json.Marshal(failure{Error: errText, Notify: &config.Recipients{Operators: operators, Groups: groups}})
	return store.Event{Type: "DeliveryFailed", ConversationID: conversationID, Detail: string(detail)}
}

// Failed records a DeliveryFailed event for a delivery given up on, so the policy's
// onError recipients hear of it; outbox.Options.OnFailed. Deliveries about failures
// do not fail into further events.
func (d *Deliverer) Failed(job store.Job) {
	if job.Kind != KindDeliver {
		return
	}
	var p payload
	if json.Unmarshal(job.Payload, &p) != nil {
		return
	}
	d.m.deliveries.WithLabelValues(providerType(d.cfg(), p.Delivery.Policy, p.Delivery.Provider), ResultFailed).Inc()
	if p.Event.Type == "DeliveryFailed" {
		return
	}
	detail, _ := json.Marshal(failure{Policy: p.Delivery.Policy, Rule: p.Delivery.Rule, Provider: p.Delivery.Provider, Error: job.LastError})
	d.failing.Add(1)
	go func() { // OnFailed must return at once
		defer d.failing.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := d.st.AppendEvents(ctx, store.Event{Type: "DeliveryFailed", ConversationID: p.Event.ConversationID,
			Detail: string(detail)}); err != nil && !errors.Is(err, store.ErrStoreClosed) {
			d.log.Warn("recording a failed notification", "error", err)
		}
	}()
}

// Close waits for the DeliveryFailed events being recorded; the store must still be
// open.
func (d *Deliverer) Close() { d.failing.Wait() }

// onError plans the deliveries of a policy's onError block for a DeliveryFailed event.
func onError(cfg *config.Config, re rules.Event, ev store.Event, st rules.State) []rules.Delivery {
	var f failure
	if json.Unmarshal([]byte(ev.Detail), &f) != nil {
		return nil
	}
	if f.Notify != nil {
		return notifyNamed(cfg, re, *f.Notify, st)
	}
	pol := policy(cfg, f.Policy)
	if pol == nil || pol.OnError == nil {
		return nil
	}
	one := *cfg
	p := *pol
	p.Rules = []config.Rule{{Name: "onError", Events: []config.EventType{"DeliveryFailed"}, Recipients: pol.OnError.Recipients,
		Send: pol.OnError.Send}}
	one.Policies = []config.Policy{p}
	return rules.Plan(&one, re, st)
}

// notifyNamed plans the deliveries that tell the people a failure names, through the
// onError sends of every policy that has some.
func notifyNamed(cfg *config.Config, re rules.Event, who config.Recipients, st rules.State) []rules.Delivery {
	one := *cfg
	one.Policies = nil
	for _, pol := range cfg.Policies {
		if pol.Suspend || pol.OnError == nil || len(pol.OnError.Send) == 0 {
			continue
		}
		pol.Rules = []config.Rule{{Name: "onError", Events: []config.EventType{"DeliveryFailed"}, Recipients: who, Send: pol.OnError.Send}}
		one.Policies = append(one.Policies, pol)
	}
	return rules.Plan(&one, re, st)
}
