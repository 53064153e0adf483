package config

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// The defaults of the CRDs' OpenAPI markers, applied again here because Compile also
// reads objects that never passed through an API server (render, standalone). A test
// checks that objects read from YAML and objects defaulted by the API server compile to
// the same bytes.
const (
	DefaultSimultaneousChats = 2
	DefaultAcceptTimeout     = 5 * time.Minute
	DefaultWebhookTimeout    = 10 * time.Second
	DefaultRetryAttempts     = 3
	DefaultRetryDelay        = 30 * time.Second
	DefaultGraphAPIVersion   = "v21.0"
	DefaultGraphAPIBaseURL   = "https://graph.facebook.com"
	DefaultTelegramBaseURL   = "https://api.telegram.org"
	DefaultTwilioBaseURL     = "https://api.twilio.com"
	DefaultOneSignalBaseURL  = "https://api.onesignal.com"
	DefaultSMTPPort          = 587
)

// DefaultHandoverKeywords hand a bot's chat to the queue.
var DefaultHandoverKeywords = []string{"agent", "human", "operator"}

func orDuration(d *metav1.Duration, def time.Duration) metav1.Duration {
	if d == nil {
		return metav1.Duration{Duration: def}
	}
	return *d
}

func orTrue(b *bool) bool { return b == nil || *b }

func orString[T ~string](s, def T) T {
	if s == "" {
		return def
	}
	return s
}

func webhook(w chatv1alpha1.WebhookEndpoint) Webhook {
	return Webhook{URL: w.URL, SecretRef: w.SecretRef, Timeout: orDuration(w.Timeout, DefaultWebhookTimeout)}
}

// defaultProvider returns a copy of p with every unset default filled in.
func defaultProvider(p chatv1alpha1.NotificationProvider) chatv1alpha1.NotificationProvider {
	p = *p.DeepCopy()
	switch {
	case p.SMTP != nil:
		if p.SMTP.Port == 0 {
			p.SMTP.Port = DefaultSMTPPort
		}
		p.SMTP.TLS = orString(p.SMTP.TLS, "StartTLS")
	case p.Twilio != nil:
		p.Twilio.APIBaseURL = orString(p.Twilio.APIBaseURL, DefaultTwilioBaseURL)
	case p.OneSignal != nil:
		p.OneSignal.APIBaseURL = orString(p.OneSignal.APIBaseURL, DefaultOneSignalBaseURL)
	case p.Webhook != nil:
		t := orDuration(p.Webhook.Timeout, DefaultWebhookTimeout)
		p.Webhook.Timeout = &t
		p.Webhook.Format = orString(p.Webhook.Format, "JSON")
	case p.Messenger != nil:
		p.Messenger.Channels = sortedSame(p.Messenger.Channels)
	}
	return p
}

func defaultRecipients(r chatv1alpha1.Recipients) Recipients {
	return Recipients{
		Kinds:     append([]chatv1alpha1.RecipientKind{}, r.Kinds...),
		Groups:    sortedNames(r.Groups),
		Operators: sortedNames(r.Operators),
		Strategy:  orString(r.Strategy, chatv1alpha1.RecipientsAll),
	}
}
