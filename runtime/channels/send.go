package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Outbox job kinds: one send kind per provider (each has its own rate limits), and
// webhook registrations.
const (
	kindSendPrefix   = "channel.send."
	KindRegistration = "channel.register"
)

// SendKind is the outbox kind of sends through channels of type t.
func SendKind(t config.ChannelType) string { return kindSendPrefix + strings.ToLower(string(t)) }

// sendPayload is what a send job carries: no secrets, and the text as it was stored.
type sendPayload struct {
	Channel string `json:"channel"`
	Contact string `json:"contact"`
	Text    string `json:"text"`
	ByBot   bool   `json:"byBot,omitempty"`
	// Attachment is the id of a stored file to send: the job never holds its bytes.
	Attachment string `json:"attachment,omitempty"`
}

// Outbound adds to a message for a messenger contact the job that sends it, so the
// two commit together; chat.Options.Outbound.
func (mg *Manager) Outbound(ch *config.Channel, conv store.Conversation, m *store.Message) {
	if !mg.Messenger(ch.Type) {
		return
	}
	payload, _ := json.Marshal(sendPayload{Channel: ch.Name, Contact: conv.ContactID, Text: m.Text, ByBot: m.AuthorKind == "bot",
		Attachment: attachmentOf(m)})
	m.Delivery = store.DeliveryQueued
	m.Jobs = append(m.Jobs, store.Job{Kind: SendKind(ch.Type), Limiter: "channel/" + ch.Name, Payload: payload})
}

// Register registers the manager's job kinds with the outbox. It must come before
// the outbox starts.
func (mg *Manager) Register(o *outbox.Outbox) error {
	types := make([]config.ChannelType, 0, len(mg.opts.Providers))
	for t := range mg.opts.Providers {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		l := mg.opts.Providers[t].Limits
		if err := o.Handle(SendKind(t), outbox.Kind{Handle: mg.send, KeyRate: l.PerRecipient, LimiterRate: l.PerSender,
			MinBackoff: mg.opts.SendBackoff, MaxBackoff: 10 * time.Minute, MaxAttempts: 15, FailedDelivery: failedSend}); err != nil {
			return err
		}
	}
	if err := mg.registerFetch(o); err != nil {
		return err
	}
	return o.Handle(KindRegistration, outbox.Kind{Handle: mg.registration, MinBackoff: 5 * time.Second, MaxBackoff: 10 * time.Minute, MaxAttempts: 20})
}

// send is the handler of send jobs.
func (mg *Manager) send(ctx context.Context, job store.Job) error {
	var p sendPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable send job: %w", err))
	}
	e, ok := mg.lookup(p.Channel)
	if !ok {
		return outbox.Permanent(fmt.Errorf("channel %s is no longer configured: the message cannot be sent", p.Channel))
	}
	if err := e.errAdapter(); err != nil {
		return err // temporary: fixing the Secret lets it through
	}
	contact, err := mg.opts.Store.Contact(ctx, p.Contact)
	if err != nil {
		return err
	}
	if contact.OptedOut {
		return outbox.Permanent(errors.New("the contact opted out of messages (they replied STOP); they get messages again once they reply START"))
	}
	typ := string(e.ch.Type)
	start := time.Now()
	out := Outgoing{To: contact.ExternalID, Text: p.Text, ByBot: p.ByBot}
	if p.Attachment != "" {
		if out.Attachment, err = mg.outgoingAttachment(ctx, e, p.Attachment); err != nil {
			return err
		}
	}
	sent, err := e.adapter.Send(ctx, out)
	mg.m.latency.WithLabelValues(typ).Observe(time.Since(start).Seconds())
	switch {
	case err == nil:
		mg.m.sends.WithLabelValues(typ, "ok").Inc()
	case outbox.IsPermanent(err):
		mg.m.sends.WithLabelValues(typ, "permanent").Inc()
		return err
	default:
		mg.m.sends.WithLabelValues(typ, "temporary").Inc()
		return err
	}
	if job.MessageID != 0 {
		// Recorded with the job's outcome, in the same transaction.
		u := store.DeliveryUpdate{MessageID: job.MessageID, Channel: p.Channel, State: store.DeliverySent, SetProviderID: sent.ProviderID}
		if !outbox.RecordDelivery(ctx, u) {
			if _, err := mg.opts.Store.UpdateDelivery(ctx, u); err != nil {
				mg.opts.Log.Warn("recording a sent message", "channel", p.Channel, "message", job.MessageID, "error", err)
			}
		}
	}
	return nil
}

// failedSend is the delivery state of a message whose send was given up on, with the
// provider's reason, so the operator sees it; the outbox records it with the job.
func failedSend(job store.Job, reason string) *store.DeliveryUpdate {
	if job.MessageID == 0 {
		return nil
	}
	return &store.DeliveryUpdate{MessageID: job.MessageID, State: store.DeliveryFailed, Error: reason}
}

// Failed handles fetch and registration jobs given up on; outbox.Options.OnFailed.
// (A send given up on is recorded with the job: failedSend.) It ignores other kinds.
func (mg *Manager) Failed(job store.Job) {
	switch job.Kind {
	case KindFetch:
		mg.fetchFailed(job)
	case KindRegistration:
		mg.registrationFailed(job)
	}
}

// Registration actions.
const (
	actionRegister   = "register"
	actionDeregister = "deregister"
)

type registrationPayload struct {
	Channel     string `json:"channel"`
	Fingerprint string `json:"fingerprint"`
	Action      string `json:"action"`
}

// registrationWindow is how long replicas applying the same change agree on its
// registration job.
const registrationWindow = 10 * time.Minute

// registrationJob registers or deregisters a channel's webhook once per change of its
// settings across all replicas. Replicas that apply the same change (from prev to fp,
// the nth time this process saw it) within the same registrationWindow make the same
// idempotency key, so one of them registers. A change that straddles a window's end
// registers twice, which providers take as the no-op it is.
func (mg *Manager) registrationJob(channel, fp, prev, action string) store.Job {
	change := channel + "/" + action + "/" + fp + "/" + prev
	mg.changes[change]++
	window := mg.opts.Now().Truncate(registrationWindow).Unix()
	payload, _ := json.Marshal(registrationPayload{Channel: channel, Fingerprint: fp, Action: action})
	return store.Job{Kind: KindRegistration, Key: "channel/" + channel, Payload: payload,
		IdempotencyKey: fmt.Sprintf("%s/%s/%d/%d", KindRegistration, change, mg.changes[change], window)}
}

// errNotApplied: a registration job arrived before this replica applied the
// configuration it belongs to.
var errNotApplied = errors.New("this runtime has not applied the configuration of the registration yet")

// registration is the handler of registration jobs.
func (mg *Manager) registration(ctx context.Context, job store.Job) error {
	var p registrationPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable registration job: %w", err))
	}
	mg.mu.Lock()
	e := mg.entries[p.Channel]
	retired := mg.retired[p.Channel]
	seen := slices.Contains(mg.seen[p.Channel], p.Fingerprint)
	mg.mu.Unlock()
	switch {
	case strings.HasSuffix(p.Fingerprint, "-deleted"):
		if retired == nil || e != nil {
			return nil // re-created meanwhile, or not known here: nothing to remove
		}
		return retired.Deregister(ctx)
	case e == nil || e.fingerprint != p.Fingerprint:
		if seen {
			return nil // a newer configuration superseded it
		}
		return outbox.RetryAfter(errNotApplied, 2*time.Second)
	case e.adapter == nil:
		return nil // the status says why; a fixed Secret makes a new registration
	case p.Action == actionDeregister:
		return e.adapter.Deregister(ctx)
	}
	err := e.adapter.Register(ctx, e.webhookURL)
	if err != nil {
		s := mg.connectedStatus(e, err)
		if !outbox.IsAuth(err) {
			s.Reason = ReasonRegistrationFailed
			s.Message = "registering the webhook " + e.webhookURL + " failed: " + err.Error()
		}
		mg.setStatus(s)
		return err
	}
	mg.probe(e)
	return nil
}

func (mg *Manager) registrationFailed(job store.Job) {
	var p registrationPayload
	_ = json.Unmarshal(job.Payload, &p)
	if e, ok := mg.lookup(p.Channel); ok && e.fingerprint == p.Fingerprint && p.Action == actionRegister {
		mg.setStatus(Status{Channel: e.ch.Name, Type: e.ch.Type, WebhookURL: e.webhookURL, Reason: ReasonRegistrationFailed,
			Message: "registering the webhook failed " + strconv.Itoa(job.Attempts) + " times, last: " + job.LastError +
				"; change the Channel or its Secret to try again"})
	}
}
