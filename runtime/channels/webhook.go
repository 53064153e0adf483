package channels

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// MaxWebhookBytes bounds a webhook request's body. Providers send small JSON or form
// bodies; attachments come as references, fetched separately.
const MaxWebhookBytes = 1 << 20

// Webhook results, the result label of webhook_requests_total besides a
// RequestError's reason.
const (
	resultOK       = "ok"
	resultInactive = "inactive"
	resultError    = "error"
	resultUnknown  = "unknown_channel"
)

// ServeHTTP serves /webhooks/{channel}: it verifies the request, commits what it
// brought, and only then answers 200, so a provider retries anything not stored. A
// request that does not verify gets a 4xx and stores nothing.
func (mg *Manager) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("channel")
	e, ok := mg.lookup(name)
	if !ok {
		mg.m.webhooks.WithLabelValues("unknown", resultUnknown).Inc()
		http.Error(w, "no messenger channel "+quote(name)+" here", http.StatusNotFound)
		return
	}
	typ := string(e.ch.Type)
	if e.adapter == nil {
		mg.m.webhooks.WithLabelValues(typ, resultError).Inc()
		http.Error(w, "the channel cannot verify requests: its credentials are missing", http.StatusServiceUnavailable)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
	if err != nil {
		mg.m.webhooks.WithLabelValues(typ, "too_large").Inc()
		http.Error(w, "the request body is too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	reply, err := e.adapter.Webhook(r, body)
	if err != nil {
		var re *RequestError
		if !errors.As(err, &re) {
			re = &RequestError{Status: http.StatusBadRequest, Reason: "malformed", Message: err.Error()}
		}
		mg.m.webhooks.WithLabelValues(typ, re.Reason).Inc()
		mg.opts.Log.Info("webhook request refused", "channel", name, "type", typ, "reason", re.Reason, "status", re.Status)
		http.Error(w, re.Message, re.Status)
		return
	}
	if reply.Response != nil {
		mg.m.webhooks.WithLabelValues(typ, resultOK).Inc()
		w.Header().Set("Content-Type", reply.ContentType)
		_, _ = w.Write(reply.Response)
		return
	}
	if !e.ch.Active {
		// Switched off: taken and dropped, so the provider does not retry it.
		mg.m.webhooks.WithLabelValues(typ, resultInactive).Inc()
		acknowledge(w, reply)
		return
	}
	if err := mg.commit(r.Context(), e, reply.Events); err != nil {
		mg.m.webhooks.WithLabelValues(typ, resultError).Inc()
		mg.opts.Log.Error("storing a webhook's messages", "channel", name, "error", err)
		http.Error(w, "the messages could not be stored: try again", http.StatusServiceUnavailable)
		return
	}
	mg.m.webhooks.WithLabelValues(typ, resultOK).Inc()
	acknowledge(w, reply)
}

// acknowledge answers 200, with the body the provider expects, if any.
func acknowledge(w http.ResponseWriter, reply Reply) {
	if reply.Ack == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	w.Header().Set("Content-Type", reply.AckContentType)
	_, _ = w.Write(reply.Ack)
}

func quote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return `"` + strings.ToValidUTF8(s, "?") + `"`
}

// commit stores what a provider told us, in order. A message stored before (the
// provider delivered it again) is not stored twice.
func (mg *Manager) commit(ctx context.Context, e *entry, events []Event) error {
	for _, ev := range events {
		if err := mg.commitOne(ctx, e, ev); err != nil {
			return err
		}
	}
	return nil
}

func (mg *Manager) commitOne(ctx context.Context, e *entry, ev Event) error {
	ch := e.ch.Name
	switch ev.Kind {
	case EventMessage:
		text := messageText(ev)
		if text == "" {
			return nil // nothing a console could show (an empty message, a sticker-less update)
		}
		contact, err := mg.contact(ctx, ch, chat.Identity{ExternalID: ev.Contact.ExternalID,
			Name: ev.Contact.Name, Phone: ev.Contact.Phone})
		if err != nil {
			return err
		}
		err = mg.inbound(ctx, e, contact, text, ev)
		var ce *chat.Error
		if errors.As(err, &ce) && ce.Kind == chat.KindInvalid {
			// The provider's message is not one we can store (too long): storing the
			// rest and acknowledging beats a retry loop.
			mg.opts.Log.Warn("dropping an inbound message the engine refused", "channel", ch, "error", err)
			return nil
		}
		return err
	case EventDelivery:
		u := store.DeliveryUpdate{Channel: ch, ProviderID: ev.ProviderID, State: ev.Delivery, Error: ev.Error}
		if ev.ProviderID == "" {
			u.Contact, u.Watermark = ev.Contact.ExternalID, ev.Watermark
		}
		_, err := mg.opts.Store.UpdateDelivery(ctx, u)
		return err
	case EventOptOut, EventOptIn:
		contact, err := mg.contact(ctx, ch, chat.Identity{ExternalID: ev.Contact.ExternalID, Phone: ev.Contact.Phone})
		if err != nil {
			return err
		}
		return mg.opts.Store.SetOptedOut(ctx, contact.ID, ev.Kind == EventOptOut)
	case EventHandover:
		return nil // thread control is the bot's and the page's business; nothing to store
	}
	return nil
}

// contact returns the contact a provider's event came from, creating it the first
// time. Only its identity is used here, which never changes, so it is remembered.
func (mg *Manager) contact(ctx context.Context, channel string, id chat.Identity) (store.Contact, error) {
	key := channel + "\x00" + id.ExternalID
	if c, ok := mg.contacts.Get(key); ok {
		return c, nil
	}
	c, err := mg.opts.Engine.EnsureContact(ctx, channel, id)
	if err == nil {
		mg.contacts.Add(key, c)
	}
	return c, err
}

// messageText is what the console shows of a message: its text, and a line for
// each attachment.
func messageText(ev Event) string {
	parts := []string{}
	if t := strings.TrimSpace(ev.Text); t != "" {
		parts = append(parts, t)
	}
	for _, a := range ev.Attachments {
		line := "[" + a.Kind
		if a.Name != "" {
			line += ": " + a.Name
		}
		if a.Kind == AttachmentLocation {
			line += ": " + formatLocation(a.Latitude, a.Longitude)
		}
		parts = append(parts, line+"]")
	}
	return strings.Join(parts, "\n")
}

// formatLocation writes a location as the console shows it.
func formatLocation(lat, lon float64) string {
	return strconv.FormatFloat(lat, 'f', 6, 64) + "," + strconv.FormatFloat(lon, 'f', 6, 64)
}
