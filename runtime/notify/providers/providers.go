// Package providers makes the notify.Provider of a configured provider block, whatever
// its kind, so the dispatcher needs to know none of them.
package providers

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/onesignal"
	"github.com/switchboard-chat/switchboard/runtime/notify/pusherbeams"
	"github.com/switchboard-chat/switchboard/runtime/notify/smtp"
	"github.com/switchboard-chat/switchboard/runtime/notify/twiliosms"
	"github.com/switchboard-chat/switchboard/runtime/notify/webhook"
)

// Options are what providers are made with besides their block.
type Options struct {
	// Secret returns the values of the Secrets the blocks name.
	Secret notify.SecretFunc
	// HTTP is the client of the HTTP providers; one with a 30s timeout when nil.
	HTTP *http.Client
	// SMTPTLS verifies SMTP servers' certificates; the system's roots when nil.
	SMTPTLS *tls.Config
	// Messenger makes the provider of a messenger block, which writes to visitors
	// through their channels; such blocks are refused when it is nil.
	Messenger func(name string, c *config.MessengerProvider) (notify.Provider, error)
}

// New makes the provider of p. Its error says what to fix in the block or its Secrets.
func New(p config.NotificationProvider, o Options) (notify.Provider, error) {
	var (
		prov notify.Provider
		err  error
	)
	switch {
	case p.SMTP != nil:
		prov, err = smtp.New(p.SMTP, o.Secret, smtp.Options{TLSConfig: o.SMTPTLS})
	case p.Twilio != nil:
		prov, err = twiliosms.New(p.Twilio, o.Secret, o.HTTP)
	case p.PusherBeams != nil:
		prov, err = pusherbeams.New(p.PusherBeams, o.Secret, o.HTTP)
	case p.OneSignal != nil:
		prov, err = onesignal.New(p.OneSignal, o.Secret, o.HTTP)
	case p.Webhook != nil:
		prov, err = webhook.New(p.Webhook, o.Secret, o.HTTP)
	case p.Messenger != nil && o.Messenger != nil:
		prov, err = o.Messenger(p.Name, p.Messenger)
	case p.Messenger != nil:
		return nil, fmt.Errorf("provider %s: messenger delivery is not available in this runtime", p.Name)
	default:
		return nil, fmt.Errorf("provider %s sets none of smtp, twilio, pusherBeams, oneSignal, webhook or messenger", p.Name)
	}
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", p.Name, err)
	}
	if prov == nil {
		return nil, errors.New("provider " + p.Name + ": made no provider")
	}
	return prov, nil
}
