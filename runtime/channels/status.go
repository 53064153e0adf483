package channels

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// Reasons of the Connected condition the runtime writes on a Channel.
const (
	ReasonConnected          = "Connected"
	ReasonPolling            = "Polling"
	ReasonInactive           = "Inactive"
	ReasonInvalidCredentials = "InvalidCredentials"
	ReasonProviderError      = "ProviderError"
	ReasonRegistrationFailed = "WebhookRegistrationFailed"
	ReasonNotConfigured      = "NotConfigured"
)

// Status is a channel's connection as this runtime sees it.
type Status struct {
	Channel   string             `json:"channel"`
	Type      config.ChannelType `json:"type"`
	Connected bool               `json:"connected"`
	// Reason is CamelCase, for the condition; Message says in plain words what is
	// wrong and what to do, without secrets.
	Reason  string `json:"reason"`
	Message string `json:"message"`
	// WebhookURL is where the provider delivers, when the channel takes webhooks.
	WebhookURL string `json:"webhookURL,omitempty"`
}

// Statuses returns every messenger channel's status.
func (mg *Manager) Statuses() []Status {
	mg.statusMu.Lock()
	defer mg.statusMu.Unlock()
	out := make([]Status, 0, len(mg.statuses))
	for _, s := range mg.statuses {
		out = append(out, s)
	}
	return out
}

// setStatus records a channel's status and announces it when it changed.
func (mg *Manager) setStatus(s Status) {
	mg.statusMu.Lock()
	old, had := mg.statuses[s.Channel]
	mg.statuses[s.Channel] = s
	switch {
	case s.Connected:
		mg.m.connected.WithLabelValues(s.Channel).Set(1)
	case s.Reason == ReasonInactive:
		// Switched off on purpose: no series, so alerts on 0 see only real disconnections.
		mg.m.connected.DeleteLabelValues(s.Channel)
	default:
		mg.m.connected.WithLabelValues(s.Channel).Set(0)
	}
	changed := !had || old != s
	if changed {
		if s.Connected {
			mg.opts.Log.Info("channel connected", "channel", s.Channel, "type", s.Type, "reason", s.Reason, "webhookURL", s.WebhookURL)
		} else {
			mg.opts.Log.Warn("channel not connected", "channel", s.Channel, "type", s.Type, "reason", s.Reason, "message", s.Message)
		}
		if mg.opts.OnStatus != nil {
			mg.opts.OnStatus(s)
		}
	}
	mg.statusMu.Unlock()
}

// dropStatus forgets a channel that left the configuration. Its Channel, if it still
// exists (left out for a problem its Ready condition names), is told it is not run.
func (mg *Manager) dropStatus(name string, typ config.ChannelType) {
	mg.statusMu.Lock()
	defer mg.statusMu.Unlock()
	delete(mg.statuses, name)
	mg.m.connected.DeleteLabelValues(name)
	if mg.opts.OnStatus != nil {
		mg.opts.OnStatus(Status{Channel: name, Type: typ, Reason: ReasonNotConfigured,
			Message: "the runtime does not run this channel: its configuration has a problem, which its Ready condition names"})
	}
}

// goProbe checks a channel's credentials in the background and records the outcome.
func (mg *Manager) goProbe(e *entry) {
	mg.wg.Add(1)
	go func() {
		defer mg.wg.Done()
		mg.probe(e)
	}()
}

// probeTimeout bounds one credential check.
const probeTimeout = 20 * time.Second

func (mg *Manager) probe(e *entry) {
	if e.adapter == nil || !e.ch.Active {
		return
	}
	ctx, cancel := context.WithTimeout(mg.ctx, probeTimeout)
	defer cancel()
	err := e.adapter.Probe(ctx)
	if mg.ctx.Err() != nil {
		return
	}
	if cur, ok := mg.lookup(e.ch.Name); !ok || cur != e {
		return // superseded meanwhile
	}
	mg.setStatus(mg.connectedStatus(e, err))
}

// connectedStatus is the status of an active channel whose last call ended with err.
func (mg *Manager) connectedStatus(e *entry, err error) Status {
	s := Status{Channel: e.ch.Name, Type: e.ch.Type, WebhookURL: e.webhookURL}
	switch {
	case err != nil:
		s.Reason, s.Message = ReasonProviderError, err.Error()
		if outbox.IsAuth(err) {
			s.Reason = ReasonInvalidCredentials
		}
	case e.webhookURL == "":
		s.Connected, s.Reason = true, ReasonPolling
		s.Message = "the credentials work; the LiveChat has no public https URL, so the runtime fetches messages itself"
		if _, polls := e.adapter.(Poller); !polls {
			s.Connected, s.Reason = false, ReasonRegistrationFailed
			s.Message = "the credentials work, but " + string(e.ch.Type) + " delivers messages only to a webhook: set the LiveChat's spec.publicURL to an https URL the provider can reach"
		}
	default:
		s.Connected, s.Reason = true, ReasonConnected
		s.Message = "the credentials work and the webhook is registered"
	}
	return s
}

// probeLoop checks every active channel's credentials again now and then.
func (mg *Manager) probeLoop() {
	defer mg.wg.Done()
	t := time.NewTicker(mg.opts.ProbeInterval)
	defer t.Stop()
	for {
		select {
		case <-mg.ctx.Done():
			return
		case <-t.C:
		}
		mg.mu.Lock()
		entries := make([]*entry, 0, len(mg.entries))
		for _, e := range mg.entries {
			entries = append(entries, e)
		}
		mg.mu.Unlock()
		for _, e := range entries {
			mg.probe(e)
		}
	}
}
