package server

import (
	"context"
	"errors"
	"log/slog"
	"slices"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/notify/providers"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// notifications is the notification path of a runtime: the dispatcher that turns
// recorded events into deliveries, and the deliverer that sends them.
type notifications struct {
	dispatcher *dispatch.Dispatcher
	deliverer  *dispatch.Deliverer
}

// newNotifications makes the notification path; register its kind before the outbox
// starts, and start it after.
func newNotifications(st *sqlstore.DB, engine *chat.Engine, secret func(name, key string) []byte,
	visitorOnline func(contactID string) bool, log *slog.Logger) *notifications {
	cfg := func() *config.Config { c, _ := engine.Config(); return c }
	secretOf := func(r config.SecretKeyReference) []byte { return secret(r.Name, r.Key) }
	n := &notifications{
		dispatcher: dispatch.New(dispatch.Options{Store: st, Config: cfg, VisitorOnline: visitorOnline, Log: log}),
		deliverer:  dispatch.NewDeliverer(st, cfg, providerFactory(engine, secretOf), log),
	}
	return n
}

func (n *notifications) register(ob *outbox.Outbox) error {
	return ob.Handle(dispatch.KindDeliver, n.deliverer.Kind())
}

// providerFactory makes notification providers from their configuration blocks.
func providerFactory(engine *chat.Engine, secret notify.SecretFunc) dispatch.ProviderFactory {
	opts := providers.Options{Secret: secret, Messenger: func(_ string, c *config.MessengerProvider) (notify.Provider, error) {
		return messengerProvider{engine: engine, channels: c.Channels}, nil
	}}
	return func(p config.NotificationProvider) (notify.Provider, error) { return providers.New(p, opts) }
}

// messengerProvider writes to the visitor over the channel they used; with channels
// set, only to visitors of those channels.
type messengerProvider struct {
	engine   *chat.Engine
	channels []string
}

func (m messengerProvider) Deliver(ctx context.Context, d notify.Delivery) error {
	id, _ := d.Data["conversationID"].(string)
	if id == "" || !d.To.Visitor {
		return outbox.Permanent(errors.New("a messenger notification goes to a conversation's visitor only"))
	}
	if len(m.channels) > 0 {
		c, err := m.engine.Store().Conversation(ctx, id)
		if err != nil {
			return err
		}
		if !slices.Contains(m.channels, c.Channel) {
			return nil // not one of the provider's channels: nothing to send
		}
	}
	_, err := m.engine.SendToContact(ctx, id, d.Text)
	if chat.KindOf(err) != 0 {
		return outbox.Permanent(err)
	}
	return err
}

// policyNames names the NotificationPolicies of the configuration in force.
func policyNames(engine *chat.Engine) []string {
	cfg, _ := engine.Config()
	if cfg == nil {
		return nil
	}
	names := make([]string, 0, len(cfg.Policies))
	for _, p := range cfg.Policies {
		names = append(names, p.Name)
	}
	return names
}
