package channels

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/promreg"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Contacts' files are fetched through the outbox, not in the webhook: the message is
// committed at once with its attachments pending and a fetch job for each, so the
// webhook is acknowledged as fast as for a text, a slow or failing provider stalls no
// intake, and a file whose fetch fails is tried again with backoff, from any replica,
// after a restart too. The job keeps the file (checked against the LiveChat's limit
// and allow-list) or records why not; either way the message stays.

// KindFetch is the outbox kind of jobs that fetch a contact's file from their messenger.
const KindFetch = "channel.fetch"

// fetchTimeout bounds one attempt to fetch a file: a 20 MiB file over a slow link,
// within the outbox's lease of two minutes.
const fetchTimeout = 90 * time.Second

// Fetcher is an Adapter that can fetch the files contacts send.
type Fetcher interface {
	// Fetch returns an attachment's bytes and the Content-Type the provider gave it,
	// reading at most maxBytes: ErrTooLarge beyond. Its error holds no secret and is
	// classified as the outbox expects: a file the provider no longer has is
	// outbox.Permanent.
	Fetch(ctx context.Context, a Attachment, maxBytes int64) (data []byte, contentType string, err error)
}

// fetchPayload is what a fetch job carries: the provider's reference of the file (a
// file id, a media id, a URL the provider gave), never a credential.
type fetchPayload struct {
	Channel     string `json:"channel"`
	Attachment  string `json:"attachment"`
	Kind        string `json:"kind"`
	Ref         string `json:"ref"`
	Name        string `json:"name,omitempty"`
	ContentType string `json:"contentType,omitempty"`
}

// Results of a fetch, the result label of switchboard_runtime_channel_attachments_total.
const (
	fetchStored     = "stored"
	fetchTooLarge   = "too_large"
	fetchNotAllowed = "not_allowed"
	fetchFailed     = "failed"
)

// files is the manager's state for attachments: the media key that signs public
// file URLs, and the fetch counter.
type files struct {
	keys    *media.KeySource
	fetches *prometheus.CounterVec
}

// registerFetch registers the fetch jobs' kind; Register calls it.
func (mg *Manager) registerFetch(o *outbox.Outbox) error {
	fetches := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "switchboard_runtime_channel_attachments_total",
		Help: "Files contacts sent on messenger channels, by channel type and result: stored, too_large, not_allowed (by the LiveChat's spec.attachments) or failed (the provider would not give it).",
	}, []string{"type", "result"})
	if mg.opts.Metrics != nil {
		fetches = promreg.MustRegister(mg.opts.Metrics, fetches)
	}
	mg.files = &files{keys: media.NewKeySource(mg.opts.Store.RuntimeKey), fetches: fetches}
	return o.Handle(KindFetch, outbox.Kind{Handle: mg.fetch, Timeout: fetchTimeout, MinBackoff: mg.opts.SendBackoff,
		MaxBackoff: 10 * time.Minute, MaxAttempts: 12})
}

// inbound stores a contact's message with its attachments pending and the jobs that
// fetch them, in one transaction. A channel that cannot fetch files keeps the message
// and notes it on each attachment.
func (mg *Manager) inbound(ctx context.Context, e *entry, contact store.Contact, text string, ev Event) error {
	m := store.Message{Text: text, ProviderID: ev.ProviderID}
	_, fetches := e.adapter.(Fetcher)
	for _, a := range ev.Attachments {
		if a.Kind == AttachmentLocation || a.Ref == "" {
			continue // a place is in the text; nothing to fetch
		}
		att := store.Attachment{ID: media.NewID(), Kind: a.Kind, Name: cleanName(a.Name, a.ContentType),
			ContentType: a.ContentType, State: store.AttachmentPending}
		if !fetches {
			att.State, att.Note = store.AttachmentRefused, "files from "+string(e.ch.Type)+" channels are not fetched"
		} else {
			payload, _ := json.Marshal(fetchPayload{Channel: e.ch.Name, Attachment: att.ID, Kind: a.Kind, Ref: a.Ref,
				Name: a.Name, ContentType: a.ContentType})
			m.Jobs = append(m.Jobs, store.Job{Kind: KindFetch, Key: KindFetch + "/" + att.ID,
				IdempotencyKey: KindFetch + "/" + att.ID, Payload: payload})
		}
		m.Attachments = append(m.Attachments, att)
	}
	_, _, err := mg.opts.Engine.InboundMessage(ctx, contact, m)
	return err
}

// fetch is the handler of fetch jobs: it fetches the file, sniffs its type, and keeps
// it, or records why not.
func (mg *Manager) fetch(ctx context.Context, job store.Job) error {
	var p fetchPayload
	if err := json.Unmarshal(job.Payload, &p); err != nil {
		return outbox.Permanent(fmt.Errorf("undecodable fetch job: %w", err))
	}
	e, ok := mg.lookup(p.Channel)
	if !ok {
		return mg.refuse(ctx, p, "", fetchFailed, "the channel is no longer configured, so the file cannot be fetched")
	}
	if err := e.errAdapter(); err != nil {
		return err // temporary: fixing the Secret lets it through
	}
	f, ok := e.adapter.(Fetcher)
	if !ok {
		return mg.refuse(ctx, p, string(e.ch.Type), fetchFailed, "files from "+string(e.ch.Type)+" channels are not fetched")
	}
	limits := mg.opts.Engine.AttachmentLimits()
	data, declared, err := f.Fetch(ctx, Attachment{Kind: p.Kind, Ref: p.Ref, Name: p.Name, ContentType: p.ContentType}, limits.MaxSize)
	switch {
	case errors.Is(err, ErrTooLarge):
		return mg.refuse(ctx, p, string(e.ch.Type), fetchTooLarge, media.TooLarge(limits.MaxSize).Error())
	case outbox.IsPermanent(err):
		return mg.refuse(ctx, p, string(e.ch.Type), fetchFailed, "the messenger would not give the file: "+err.Error())
	case err != nil:
		return err
	}
	if declared == "" || declared == "application/octet-stream" {
		declared = p.ContentType
	}
	ct := media.Sniff(data, declared)
	if err := media.Check(limits, ct, int64(len(data))); err != nil {
		p.ContentType = ct
		return mg.refuse(ctx, p, string(e.ch.Type), fetchNotAllowed, err.Error())
	}
	_, err = mg.opts.Store.CompleteAttachment(ctx, store.Attachment{ID: p.Attachment, State: store.AttachmentStored,
		ContentType: ct, Name: cleanName(p.Name, ct), Data: data})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil // another replica completed it, or its message is gone
	}
	if err == nil {
		mg.files.fetches.WithLabelValues(string(e.ch.Type), fetchStored).Inc()
	}
	return err
}

// refuse records that a file is not kept, and why.
func (mg *Manager) refuse(ctx context.Context, p fetchPayload, typ, result, note string) error {
	_, err := mg.opts.Store.CompleteAttachment(ctx, store.Attachment{ID: p.Attachment, State: store.AttachmentRefused,
		ContentType: p.ContentType, Note: note})
	if errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err == nil && typ != "" {
		mg.files.fetches.WithLabelValues(typ, result).Inc()
	}
	return err
}

// fetchFailed records a fetch given up on, with its last error; OnFailed calls it.
func (mg *Manager) fetchFailed(job store.Job) {
	var p fetchPayload
	if json.Unmarshal(job.Payload, &p) != nil {
		return
	}
	typ := ""
	if e, ok := mg.lookup(p.Channel); ok {
		typ = string(e.ch.Type)
	}
	mg.wg.Add(1)
	go func() { // OnFailed must return quickly
		defer mg.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		note := "fetching the file failed " + strconv.Itoa(job.Attempts) + " times, last: " + job.LastError
		if err := mg.refuse(ctx, p, typ, fetchFailed, note); err != nil {
			mg.opts.Log.Warn("recording a file not fetched", "attachment", p.Attachment, "error", err)
		}
	}()
}

// outgoingAttachment reads the file a send job sends, and, when the LiveChat has a
// public https URL, signs a URL that serves it for an hour, for providers that fetch
// files themselves.
func (mg *Manager) outgoingAttachment(ctx context.Context, e *entry, id string) (*OutgoingAttachment, error) {
	a, err := mg.opts.Store.Attachment(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, outbox.Permanent(errors.New("the file to send is no longer stored"))
	case err != nil:
		return nil, err
	case a.State != store.AttachmentStored:
		return nil, outbox.Permanent(fmt.Errorf("the file to send is %s, not stored", a.State))
	}
	out := &OutgoingAttachment{Kind: a.Kind, Name: a.Name, ContentType: a.ContentType, Data: a.Data}
	if public := publicBase(e); public != "" && mg.files != nil {
		key, err := mg.files.keys.Key(ctx)
		if err != nil {
			return nil, fmt.Errorf("reading the media key: %w", err)
		}
		out.URL = public + media.PublicPath + media.Sign(key, a.ID, mg.opts.Now().Add(media.URLLifetime))
	}
	return out, nil
}

// publicBase is the LiveChat's public https URL, which the channel's webhook URL
// starts with; empty without one.
func publicBase(e *entry) string {
	if e.webhookURL == "" || e.ch.WebhookPath == "" || len(e.webhookURL) < len(e.ch.WebhookPath) {
		return ""
	}
	return e.webhookURL[:len(e.webhookURL)-len(e.ch.WebhookPath)]
}

// cleanName is a provider's file name made safe; none when the provider gave none
// (a photo), so the console names it by its kind.
func cleanName(name, contentType string) string {
	if name == "" {
		return ""
	}
	return media.CleanName(name, contentType)
}

// attachmentOf is the first attachment of a message, which its send job sends.
func attachmentOf(m *store.Message) string {
	if len(m.Attachments) == 0 {
		return ""
	}
	return m.Attachments[0].ID
}
