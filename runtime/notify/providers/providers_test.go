package providers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/onesignal"
	"github.com/switchboard-chat/switchboard/runtime/notify/providers"
	"github.com/switchboard-chat/switchboard/runtime/notify/pusherbeams"
	"github.com/switchboard-chat/switchboard/runtime/notify/smtp"
	"github.com/switchboard-chat/switchboard/runtime/notify/twiliosms"
	"github.com/switchboard-chat/switchboard/runtime/notify/webhook"
)

type messenger struct{ name string }

func (messenger) Deliver(context.Context, notify.Delivery) error { return nil }

func TestNew(t *testing.T) {
	ref := config.SecretKeyReference{Name: "s", Key: "k"}
	secret := func(config.SecretKeyReference) []byte { return []byte("value") }
	const uuid = "8f9a6e22-2483-49aa-8552-125f1a4c5781"
	for _, tc := range []struct {
		name      string
		block     config.NotificationProvider
		messenger bool
		want      string // the provider's type, or the error
	}{
		{name: "smtp", block: config.NotificationProvider{SMTP: &config.SMTPProvider{Host: "smtp.example.com", Port: 587, TLS: "StartTLS", From: "a@example.com"}},
			want: fmt.Sprintf("%T", &smtp.Mailer{})},
		{name: "twilio", block: config.NotificationProvider{Twilio: &config.TwilioProvider{AccountSID: "AC" + strings.Repeat("0", 32), AuthTokenSecretRef: ref, From: "+15005550006"}},
			want: fmt.Sprintf("%T", &twiliosms.Sender{})},
		{name: "beams", block: config.NotificationProvider{PusherBeams: &config.PusherBeamsProvider{InstanceID: uuid, SecretKeySecretRef: ref}},
			want: fmt.Sprintf("%T", &pusherbeams.Publisher{})},
		{name: "onesignal", block: config.NotificationProvider{OneSignal: &config.OneSignalProvider{AppID: uuid, APIKeySecretRef: ref}},
			want: fmt.Sprintf("%T", &onesignal.Sender{})},
		{name: "webhook", block: config.NotificationProvider{Webhook: &config.WebhookProvider{Webhook: config.Webhook{URL: "https://x.example/"}}},
			want: fmt.Sprintf("%T", &webhook.Sender{})},
		{name: "messenger", block: config.NotificationProvider{Messenger: &config.MessengerProvider{}}, messenger: true,
			want: fmt.Sprintf("%T", messenger{})},
		{name: "messenger unavailable", block: config.NotificationProvider{Messenger: &config.MessengerProvider{}}, want: "messenger delivery is not available"},
		{name: "no block", want: "sets none of"},
		{name: "a broken block", block: config.NotificationProvider{SMTP: &config.SMTPProvider{Host: "smtp.example.com", Port: 587, TLS: "StartTLS", From: "nobody"}},
			want: `provider p: smtp.from "nobody"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.block.Name = "p"
			o := providers.Options{Secret: secret}
			if tc.messenger {
				o.Messenger = func(name string, _ *config.MessengerProvider) (notify.Provider, error) { return messenger{name}, nil }
			}
			p, err := providers.New(tc.block, o)
			got := fmt.Sprintf("%T", p)
			if err != nil {
				got = err.Error()
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("New: %s, want %s", got, tc.want)
			}
		})
	}
}
