package config

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Conversions from the CRD types to this package's own, applying the defaults of the
// CRDs' OpenAPI markers on the way. Each copies field by field, so a field added to a
// CRD reaches the configuration only when it is added here too.

func secretKeyRef(r chatv1alpha1.SecretKeyReference) SecretKeyReference {
	return SecretKeyReference{Name: r.Name, Key: r.Key}
}

func optionalSecretKeyRef(r *chatv1alpha1.SecretKeyReference) *SecretKeyReference {
	if r == nil {
		return nil
	}
	out := secretKeyRef(*r)
	return &out
}

func duration(d metav1.Duration) Duration { return Duration{Duration: d.Duration} }

func orDuration(d *metav1.Duration, def time.Duration) Duration {
	if d == nil {
		return Duration{Duration: def}
	}
	return duration(*d)
}

func webhook(w chatv1alpha1.WebhookEndpoint) Webhook {
	return Webhook{URL: w.URL, SecretRef: optionalSecretKeyRef(w.SecretRef), Timeout: orDuration(w.Timeout, DefaultWebhookTimeout)}
}

func oidc(o chatv1alpha1.OIDCSpec) *OIDCSpec {
	return &OIDCSpec{IssuerURL: o.IssuerURL, ClientID: o.ClientID, UsernameClaim: orString(o.UsernameClaim, "preferred_username"),
		ClientSecret: optionalSecretKeyRef(o.ClientSecretRef)}
}

func optOut(o chatv1alpha1.NotificationOptOut) NotificationOptOut {
	return NotificationOptOut{Events: converted[EventType](sortedSame(o.Events)), Via: converted[DeliveryKind](sortedSame(o.Via))}
}

func telegram(t chatv1alpha1.TelegramChannel) *TelegramChannel {
	return &TelegramChannel{
		BotTokenSecretRef: secretKeyRef(t.BotTokenSecretRef),
		APIBaseURL:        orString(string(t.APIBaseURL), DefaultTelegramBaseURL),
	}
}

func facebookMessenger(f chatv1alpha1.FacebookMessengerChannel) *FacebookMessengerChannel {
	return &FacebookMessengerChannel{
		PageID:                   f.PageID,
		PageAccessTokenSecretRef: secretKeyRef(f.PageAccessTokenSecretRef),
		AppSecretSecretRef:       secretKeyRef(f.AppSecretSecretRef),
		VerifyTokenSecretRef:     secretKeyRef(f.VerifyTokenSecretRef),
		GraphAPIVersion:          orString(f.GraphAPIVersion, DefaultGraphAPIVersion),
		APIBaseURL:               orString(string(f.APIBaseURL), DefaultGraphAPIBaseURL),
	}
}

func whatsApp(w chatv1alpha1.WhatsAppChannel) *WhatsAppChannel {
	return &WhatsAppChannel{
		PhoneNumberID:        w.PhoneNumberID,
		BusinessAccountID:    w.BusinessAccountID,
		AccessTokenSecretRef: secretKeyRef(w.AccessTokenSecretRef),
		AppSecretSecretRef:   secretKeyRef(w.AppSecretSecretRef),
		VerifyTokenSecretRef: secretKeyRef(w.VerifyTokenSecretRef),
		GraphAPIVersion:      orString(w.GraphAPIVersion, DefaultGraphAPIVersion),
		APIBaseURL:           orString(string(w.APIBaseURL), DefaultGraphAPIBaseURL),
	}
}

func sms(s chatv1alpha1.SMSChannel) *SMSChannel {
	return &SMSChannel{
		AccountSID:          s.AccountSID,
		AuthTokenSecretRef:  secretKeyRef(s.AuthTokenSecretRef),
		From:                s.From,
		MessagingServiceSID: s.MessagingServiceSID,
		APIBaseURL:          orString(string(s.APIBaseURL), DefaultTwilioBaseURL),
	}
}

// provider converts a notification provider with every unset default filled in.
func provider(p chatv1alpha1.NotificationProvider) NotificationProvider {
	out := NotificationProvider{Name: p.Name}
	switch {
	case p.SMTP != nil:
		s := p.SMTP
		out.SMTP = &SMTPProvider{Host: s.Host, Port: s.Port, TLS: orString(SMTPTLS(s.TLS), "StartTLS"), From: s.From,
			FromName: s.FromName, UsernameSecretRef: optionalSecretKeyRef(s.UsernameSecretRef),
			PasswordSecretRef: optionalSecretKeyRef(s.PasswordSecretRef)}
		if out.SMTP.Port == 0 {
			out.SMTP.Port = DefaultSMTPPort
		}
	case p.Twilio != nil:
		t := p.Twilio
		out.Twilio = &TwilioProvider{AccountSID: t.AccountSID, AuthTokenSecretRef: secretKeyRef(t.AuthTokenSecretRef), From: t.From,
			APIBaseURL: orString(string(t.APIBaseURL), DefaultTwilioBaseURL)}
	case p.PusherBeams != nil:
		b := p.PusherBeams
		out.PusherBeams = &PusherBeamsProvider{InstanceID: b.InstanceID, SecretKeySecretRef: secretKeyRef(b.SecretKeySecretRef),
			APIBaseURL: string(b.APIBaseURL)}
	case p.OneSignal != nil:
		o := p.OneSignal
		out.OneSignal = &OneSignalProvider{AppID: o.AppID, APIKeySecretRef: secretKeyRef(o.APIKeySecretRef),
			APIBaseURL: orString(string(o.APIBaseURL), DefaultOneSignalBaseURL)}
	case p.Webhook != nil:
		out.Webhook = &WebhookProvider{Webhook: webhook(p.Webhook.WebhookEndpoint), Format: orString(WebhookFormat(p.Webhook.Format), "JSON")}
	case p.Messenger != nil:
		out.Messenger = &MessengerProvider{Channels: sortedNames(p.Messenger.Channels)}
	}
	return out
}

func sends(in []chatv1alpha1.SendSpec) []SendSpec {
	out := make([]SendSpec, len(in))
	for i, s := range in {
		out[i] = SendSpec{Provider: s.Provider, Template: s.Template}
	}
	return out
}

func recipients(r chatv1alpha1.Recipients) Recipients {
	return Recipients{
		Kinds:     converted[RecipientKind](r.Kinds),
		Groups:    sortedNames(r.Groups),
		Operators: sortedNames(r.Operators),
		Strategy:  orString(RecipientStrategy(r.Strategy), RecipientsAll),
	}
}

// converted copies a list of CRD enum values as this package's type of them. The
// result is never nil.
func converted[T, F ~string](in []F) []T {
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}
