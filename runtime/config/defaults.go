package config

import "time"

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

func orTrue(b *bool) bool { return b == nil || *b }

func orString[T ~string](s, def T) T {
	if s == "" {
		return def
	}
	return s
}
