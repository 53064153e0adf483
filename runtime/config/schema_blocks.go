package config

// The types below have the JSON shape of the CRD types of the same names, with the
// defaults applied: fields Compile always fills carry no omitempty. They are copied
// field by field (convert.go), never embedded, so the two can evolve apart.

// SecretKeyReference selects one key of a Secret in the LiveChat's namespace.
type SecretKeyReference struct {
	Name string `json:"name"`
	Key  string `json:"key"`
}

// OIDCSpec configures OpenID Connect sign-in.
type OIDCSpec struct {
	IssuerURL     string `json:"issuerURL"`
	ClientID      string `json:"clientID"`
	UsernameClaim string `json:"usernameClaim"`
	// ClientSecret selects the secret of a confidential client; a public client
	// has none.
	ClientSecret *SecretKeyReference `json:"clientSecret,omitempty"`
}

// NotificationOptOut silences events on delivery kinds; an empty list means all.
type NotificationOptOut struct {
	Events []EventType    `json:"events,omitempty"`
	Via    []DeliveryKind `json:"via,omitempty"`
}

// TelegramChannel connects a Telegram bot.
type TelegramChannel struct {
	BotTokenSecretRef SecretKeyReference `json:"botTokenSecretRef"`
	APIBaseURL        string             `json:"apiBaseURL"`
}

// FacebookMessengerChannel connects a Facebook Page.
type FacebookMessengerChannel struct {
	PageID                   string             `json:"pageID"`
	PageAccessTokenSecretRef SecretKeyReference `json:"pageAccessTokenSecretRef"`
	AppSecretSecretRef       SecretKeyReference `json:"appSecretSecretRef"`
	VerifyTokenSecretRef     SecretKeyReference `json:"verifyTokenSecretRef"`
	GraphAPIVersion          string             `json:"graphAPIVersion"`
	APIBaseURL               string             `json:"apiBaseURL"`
}

// WhatsAppChannel connects a WhatsApp Business phone number through the Cloud API.
type WhatsAppChannel struct {
	PhoneNumberID        string             `json:"phoneNumberID"`
	BusinessAccountID    string             `json:"businessAccountID,omitempty"`
	AccessTokenSecretRef SecretKeyReference `json:"accessTokenSecretRef"`
	AppSecretSecretRef   SecretKeyReference `json:"appSecretSecretRef"`
	VerifyTokenSecretRef SecretKeyReference `json:"verifyTokenSecretRef"`
	GraphAPIVersion      string             `json:"graphAPIVersion"`
	APIBaseURL           string             `json:"apiBaseURL"`
}

// SMSChannel is two-way texting through Twilio.
type SMSChannel struct {
	AccountSID          string             `json:"accountSID"`
	AuthTokenSecretRef  SecretKeyReference `json:"authTokenSecretRef"`
	From                string             `json:"from,omitempty"`
	MessagingServiceSID string             `json:"messagingServiceSID,omitempty"`
	APIBaseURL          string             `json:"apiBaseURL"`
}

// SendSpec is one delivery of a rule: through a provider, with a template (a built-in
// text for the event when empty).
type SendSpec struct {
	Provider string `json:"provider"`
	Template string `json:"template,omitempty"`
}

// NotificationProvider is one delivery service; exactly one block is set.
type NotificationProvider struct {
	Name        string               `json:"name"`
	SMTP        *SMTPProvider        `json:"smtp,omitempty"`
	Twilio      *TwilioProvider      `json:"twilio,omitempty"`
	PusherBeams *PusherBeamsProvider `json:"pusherBeams,omitempty"`
	OneSignal   *OneSignalProvider   `json:"oneSignal,omitempty"`
	Webhook     *WebhookProvider     `json:"webhook,omitempty"`
	Messenger   *MessengerProvider   `json:"messenger,omitempty"`
}

// SMTPProvider is an SMTP server.
type SMTPProvider struct {
	Host              string              `json:"host"`
	Port              int32               `json:"port"`
	TLS               SMTPTLS             `json:"tls"`
	From              string              `json:"from"`
	FromName          string              `json:"fromName,omitempty"`
	UsernameSecretRef *SecretKeyReference `json:"usernameSecretRef,omitempty"`
	PasswordSecretRef *SecretKeyReference `json:"passwordSecretRef,omitempty"`
}

// TwilioProvider sends SMS through Twilio's Messages API.
type TwilioProvider struct {
	AccountSID         string             `json:"accountSID"`
	AuthTokenSecretRef SecretKeyReference `json:"authTokenSecretRef"`
	From               string             `json:"from"`
	APIBaseURL         string             `json:"apiBaseURL"`
}

// PusherBeamsProvider sends push notifications through Pusher Beams.
type PusherBeamsProvider struct {
	InstanceID         string             `json:"instanceID"`
	SecretKeySecretRef SecretKeyReference `json:"secretKeySecretRef"`
	// APIBaseURL is empty for https://<instanceID>.pushnotifications.pusher.com.
	APIBaseURL string `json:"apiBaseURL,omitempty"`
}

// OneSignalProvider sends push notifications through OneSignal.
type OneSignalProvider struct {
	AppID           string             `json:"appID"`
	APIKeySecretRef SecretKeyReference `json:"apiKeySecretRef"`
	APIBaseURL      string             `json:"apiBaseURL"`
}

// WebhookProvider POSTs each notification to a URL.
type WebhookProvider struct {
	Webhook
	Format WebhookFormat `json:"format"`
}

// MessengerProvider writes to the visitor in the messenger or widget they used.
type MessengerProvider struct {
	// Channels limits delivery to visitors of these channels; any channel when empty.
	Channels []string `json:"channels,omitempty"`
}
