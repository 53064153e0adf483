package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// ChannelType is where a channel's visitors come from.
// +kubebuilder:validation:Enum=Telegram;FacebookMessenger;WhatsApp;SMS;WebWidget;Internal
type ChannelType string

// Channel types.
const (
	ChannelTelegram          ChannelType = "Telegram"
	ChannelFacebookMessenger ChannelType = "FacebookMessenger"
	ChannelWhatsApp          ChannelType = "WhatsApp"
	ChannelSMS               ChannelType = "SMS"
	ChannelWebWidget         ChannelType = "WebWidget"
	ChannelInternal          ChannelType = "Internal"
)

// ChannelSpec connects one source of visitors to a queue. Exactly the settings block
// that matches type must be set.
// +kubebuilder:validation:XValidation:rule="has(self.telegram) == (self.type == 'Telegram')",message="spec.telegram must be set when type is Telegram, and only then",fieldPath=".telegram"
// +kubebuilder:validation:XValidation:rule="has(self.facebookMessenger) == (self.type == 'FacebookMessenger')",message="spec.facebookMessenger must be set when type is FacebookMessenger, and only then",fieldPath=".facebookMessenger"
// +kubebuilder:validation:XValidation:rule="has(self.whatsApp) == (self.type == 'WhatsApp')",message="spec.whatsApp must be set when type is WhatsApp, and only then",fieldPath=".whatsApp"
// +kubebuilder:validation:XValidation:rule="has(self.sms) == (self.type == 'SMS')",message="spec.sms must be set when type is SMS, and only then",fieldPath=".sms"
// +kubebuilder:validation:XValidation:rule="has(self.webWidget) == (self.type == 'WebWidget')",message="spec.webWidget must be set when type is WebWidget, and only then",fieldPath=".webWidget"
// +kubebuilder:validation:XValidation:rule="has(self.internal) == (self.type == 'Internal')",message="spec.internal must be set when type is Internal, and only then",fieldPath=".internal"
// +kubebuilder:validation:XValidation:rule="!has(self.bot) || self.type != 'Internal'",message="internal channels serve employees and take no bot: remove spec.bot",fieldPath=".bot"
type ChannelSpec struct {
	// LiveChatRef names the LiveChat this channel belongs to.
	LiveChatRef LiveChatReference `json:"liveChatRef"`

	// QueueRef names the ChatQueue that handles this channel's chats. The queue must
	// belong to the same LiveChat.
	QueueRef LocalObjectReference `json:"queueRef"`

	// DisplayName of the channel, shown to operators.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Active is the on/off switch. An inactive channel takes no new messages; its
	// history is kept.
	// +kubebuilder:default=true
	// +optional
	Active *bool `json:"active,omitempty"`

	// Type of the channel. It cannot be changed; create a new Channel instead.
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="type is immutable: create a new Channel for another type"
	Type ChannelType `json:"type"`

	// Telegram settings, for type Telegram.
	// +optional
	Telegram *TelegramChannel `json:"telegram,omitempty"`

	// FacebookMessenger settings, for type FacebookMessenger.
	// +optional
	FacebookMessenger *FacebookMessengerChannel `json:"facebookMessenger,omitempty"`

	// WhatsApp settings (WhatsApp Business Cloud API), for type WhatsApp.
	// +optional
	WhatsApp *WhatsAppChannel `json:"whatsApp,omitempty"`

	// SMS settings (Twilio), for type SMS.
	// +optional
	SMS *SMSChannel `json:"sms,omitempty"`

	// WebWidget settings, for type WebWidget.
	// +optional
	WebWidget *WebWidgetChannel `json:"webWidget,omitempty"`

	// Internal settings, for type Internal: employees chatting as clients.
	// +optional
	Internal *InternalChannel `json:"internal,omitempty"`

	// Bot is a third-party chatbot that answers first and hands the chat over to the
	// queue when it gives up or the visitor asks for a human.
	// +optional
	Bot *BotSpec `json:"bot,omitempty"`
}

// APIBaseURL is a provider API base URL, settable so tests and proxies can stand in.
// +kubebuilder:validation:MaxLength=2048
// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https']",message="must be an absolute http:// or https:// URL"
type APIBaseURL string

// TelegramChannel connects a Telegram bot.
type TelegramChannel struct {
	// BotTokenSecretRef selects the bot token issued by @BotFather. Use the bot for
	// this channel only.
	BotTokenSecretRef SecretKeyReference `json:"botTokenSecretRef"`

	// APIBaseURL of the Bot API.
	// +kubebuilder:default="https://api.telegram.org"
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// FacebookMessengerChannel connects a Facebook Page.
type FacebookMessengerChannel struct {
	// PageID of the public Facebook Page.
	// +kubebuilder:validation:Pattern=`^[0-9]{1,32}$`
	PageID string `json:"pageID"`

	// PageAccessTokenSecretRef selects the Page access token used by the Send API.
	PageAccessTokenSecretRef SecretKeyReference `json:"pageAccessTokenSecretRef"`

	// AppSecretSecretRef selects the Meta app secret that signs webhook deliveries
	// (X-Hub-Signature-256).
	AppSecretSecretRef SecretKeyReference `json:"appSecretSecretRef"`

	// VerifyTokenSecretRef selects the token Meta echoes when verifying the webhook.
	VerifyTokenSecretRef SecretKeyReference `json:"verifyTokenSecretRef"`

	// GraphAPIVersion of the Graph API.
	// +kubebuilder:default="v21.0"
	// +kubebuilder:validation:Pattern=`^v[0-9]+\.[0-9]+$`
	// +optional
	GraphAPIVersion string `json:"graphAPIVersion,omitempty"`

	// APIBaseURL of the Graph API.
	// +kubebuilder:default="https://graph.facebook.com"
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// WhatsAppChannel connects a WhatsApp Business phone number through the Cloud API.
type WhatsAppChannel struct {
	// PhoneNumberID of the business phone number.
	// +kubebuilder:validation:Pattern=`^[0-9]{1,32}$`
	PhoneNumberID string `json:"phoneNumberID"`

	// BusinessAccountID of the WhatsApp Business Account, used to subscribe the app.
	// +kubebuilder:validation:Pattern=`^[0-9]{1,32}$`
	// +optional
	BusinessAccountID string `json:"businessAccountID,omitempty"`

	// AccessTokenSecretRef selects the system-user access token.
	AccessTokenSecretRef SecretKeyReference `json:"accessTokenSecretRef"`

	// AppSecretSecretRef selects the Meta app secret that signs webhook deliveries.
	AppSecretSecretRef SecretKeyReference `json:"appSecretSecretRef"`

	// VerifyTokenSecretRef selects the token Meta echoes when verifying the webhook.
	VerifyTokenSecretRef SecretKeyReference `json:"verifyTokenSecretRef"`

	// GraphAPIVersion of the Graph API.
	// +kubebuilder:default="v21.0"
	// +kubebuilder:validation:Pattern=`^v[0-9]+\.[0-9]+$`
	// +optional
	GraphAPIVersion string `json:"graphAPIVersion,omitempty"`

	// APIBaseURL of the Graph API.
	// +kubebuilder:default="https://graph.facebook.com"
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// SMSChannel is two-way texting through Twilio.
// +kubebuilder:validation:XValidation:rule="has(self.from) || has(self.messagingServiceSID)",message="set sms.from (a phone number) or sms.messagingServiceSID"
type SMSChannel struct {
	// AccountSID of the Twilio account, AC followed by 32 hex digits.
	// +kubebuilder:validation:Pattern=`^AC[0-9a-fA-F]{32}$`
	AccountSID string `json:"accountSID"`

	// AuthTokenSecretRef selects the auth token; it also verifies X-Twilio-Signature.
	AuthTokenSecretRef SecretKeyReference `json:"authTokenSecretRef"`

	// From is the Twilio phone number in E.164 form.
	// +kubebuilder:validation:Pattern=`^\+[1-9][0-9]{6,14}$`
	// +optional
	From string `json:"from,omitempty"`

	// MessagingServiceSID sends through a Messaging Service instead of one number.
	// +kubebuilder:validation:Pattern=`^MG[0-9a-fA-F]{32}$`
	// +optional
	MessagingServiceSID string `json:"messagingServiceSID,omitempty"`

	// APIBaseURL of the Twilio REST API.
	// +kubebuilder:default="https://api.twilio.com"
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// WebWidgetChannel is the chat widget embedded in a web site.
type WebWidgetChannel struct {
	// AllowedOrigins are the web origins allowed to open the widget, for example
	// https://www.example.com. Requests from other origins are refused.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=255
	// +kubebuilder:validation:items:Pattern=`^https?://[^/?#\s]+$`
	AllowedOrigins []string `json:"allowedOrigins"`

	// Title shown in the widget header.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	Title string `json:"title,omitempty"`

	// Greeting shown to the visitor before the first message.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Greeting string `json:"greeting,omitempty"`

	// Color of the widget accent, as #rrggbb.
	// +kubebuilder:validation:Pattern=`^#[0-9a-fA-F]{6}$`
	// +optional
	Color string `json:"color,omitempty"`

	// OfflineForm asks for the visitor's contact details when no operator is online.
	// +kubebuilder:default={}
	// +optional
	OfflineForm OfflineForm `json:"offlineForm,omitempty"`

	// PreChat asks for the visitor's name and email address before the first message,
	// while an operator may be online (the offline form asks for them otherwise).
	// +kubebuilder:default={}
	// +optional
	PreChat PreChatForm `json:"preChat,omitempty"`

	// Ratings lets visitors rate a chat, leave free-text feedback and answer the
	// survey when it ends. Off, the runtime refuses all three.
	// +kubebuilder:default=true
	// +optional
	Ratings *bool `json:"ratings,omitempty"`

	// RatingScale is how visitors rate a chat: Stars (a score of 1 to 5) or Thumbs
	// (up or down). A rating on the other scale is refused.
	// +kubebuilder:default=Stars
	// +optional
	RatingScale RatingScale `json:"ratingScale,omitempty"`

	// Survey are the questions of the post-chat survey, asked with the rating while
	// ratings are on; none, no survey. Answers to questions not listed are refused.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=10
	// +optional
	Survey []SurveyQuestion `json:"survey,omitempty"`

	// Goals are the chat goals the web site may report as reached in a chat (a
	// sign-up, a purchase), for ChatGoalReached notifications and the chat's record.
	// Goals not listed are refused; none, the web site reports none.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	// +optional
	Goals []string `json:"goals,omitempty"`
}

// RatingScale is how visitors rate a chat.
// +kubebuilder:validation:Enum=Stars;Thumbs
type RatingScale string

// Rating scales.
const (
	// RatingStars is a score of 1 (poor) to 5 (excellent).
	RatingStars RatingScale = "Stars"
	// RatingThumbs is up or down.
	RatingThumbs RatingScale = "Thumbs"
)

// SurveyQuestion is one question of the post-chat survey.
type SurveyQuestion struct {
	// Name identifies the question in the answers: a lowercase DNS label.
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Text is the question as the visitor reads it.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	Text string `json:"text"`

	// Options, when set, are the only answers accepted (a choice); without them the
	// answer is free text of at most 500 characters.
	// +listType=set
	// +kubebuilder:validation:MaxItems=10
	// +kubebuilder:validation:items:MinLength=1
	// +kubebuilder:validation:items:MaxLength=128
	// +optional
	Options []string `json:"options,omitempty"`
}

// OfflineForm is the widget's leave-a-message form.
type OfflineForm struct {
	// Enabled shows the form while the queue is offline.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// RequireEmail makes the visitor's email address mandatory, so the answer can be
	// emailed.
	// +kubebuilder:default=true
	// +optional
	RequireEmail *bool `json:"requireEmail,omitempty"`
}

// PreChatForm is the widget's form before the first message.
type PreChatForm struct {
	// Enabled shows the form: a name and an email address, both optional unless
	// RequireEmail is set.
	// +kubebuilder:default=false
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// RequireEmail makes a valid email address mandatory to start a chat; the
	// runtime refuses a new conversation without one. It takes effect only while
	// Enabled is set.
	// +kubebuilder:default=false
	// +optional
	RequireEmail *bool `json:"requireEmail,omitempty"`
}

// InternalChannel lets employees chat as clients.
type InternalChannel struct {
	// ClientGroups are the OperatorGroups whose members may open chats here.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	ClientGroups []ObjectName `json:"clientGroups"`
}

// BotSpec is a third-party chatbot that answers a channel's visitors first.
// +kubebuilder:validation:XValidation:rule="has(self.webhook.secretRef)",message="bot.webhook.secretRef is required: it signs calls to the bot and authenticates the bot's replies",fieldPath=".webhook.secretRef"
type BotSpec struct {
	// Webhook receives each visitor message while the bot holds the chat.
	Webhook WebhookEndpoint `json:"webhook"`

	// HandoverKeywords hand the chat to the queue when a visitor message equals one of
	// them, ignoring case.
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +kubebuilder:validation:items:MaxLength=64
	// +kubebuilder:default={"human","operator","agent"}
	// +optional
	HandoverKeywords []string `json:"handoverKeywords,omitempty"`
}

// ChannelStatus is the observed state of a Channel. Ready and ResolvedRefs are written
// by the operator; Connected and webhookURL by the runtime.
type ChannelStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, ResolvedRefs and Connected.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// WebhookURL is where the provider delivers this channel's messages.
	// +optional
	WebhookURL string `json:"webhookURL,omitempty"`
}

// Channel is a source of visitors (a messenger, SMS, the web widget or employees)
// connected to a queue.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=chan,categories=switchboard
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="LiveChat",type=string,JSONPath=`.spec.liveChatRef.name`
// +kubebuilder:printcolumn:name="Queue",type=string,JSONPath=`.spec.queueRef.name`
// +kubebuilder:printcolumn:name="Active",type=boolean,JSONPath=`.spec.active`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Connected",type=string,JSONPath=`.status.conditions[?(@.type=="Connected")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Channel struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ChannelSpec   `json:"spec"`
	Status ChannelStatus `json:"status,omitempty"`
}

// ChannelList is a list of Channels.
// +kubebuilder:object:root=true
type ChannelList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Channel `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Channel{}, &ChannelList{})
}
