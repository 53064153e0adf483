package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// NotificationPolicySpec says who is told about which events, how, and with which
// words. Policies can only narrow what operators receive: an operator's own opt-out
// always wins.
// +kubebuilder:validation:XValidation:rule="!has(self.rules) || self.rules.all(r, r.send.all(s, has(self.providers) && self.providers.exists(p, p.name == s.provider)))",message="every rules[].send[].provider must name an entry of spec.providers",fieldPath=".rules"
// +kubebuilder:validation:XValidation:rule="!has(self.rules) || self.rules.all(r, r.send.all(s, !has(s.template) || (has(self.templates) && self.templates.exists(t, t.name == s.template))))",message="every rules[].send[].template must name an entry of spec.templates",fieldPath=".rules"
// +kubebuilder:validation:XValidation:rule="!has(self.onError) || self.onError.send.all(s, has(self.providers) && self.providers.exists(p, p.name == s.provider))",message="every onError.send[].provider must name an entry of spec.providers",fieldPath=".onError.send"
// +kubebuilder:validation:XValidation:rule="!has(self.onError) || self.onError.send.all(s, !has(s.template) || (has(self.templates) && self.templates.exists(t, t.name == s.template)))",message="every onError.send[].template must name an entry of spec.templates",fieldPath=".onError.send"
type NotificationPolicySpec struct {
	// LiveChatRef names the LiveChat whose events this policy handles.
	LiveChatRef LiveChatReference `json:"liveChatRef"`

	// Suspend stops all deliveries of this policy; events are not queued meanwhile.
	// +optional
	Suspend bool `json:"suspend,omitempty"`

	// Rules map events to recipients and deliveries.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Rules []NotificationRule `json:"rules,omitempty"`

	// Providers are the delivery services rules send through.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Providers []NotificationProvider `json:"providers,omitempty"`

	// Templates are the texts rules send, with merge fields such as {recipient_name},
	// {sender_name}, {message} and {conversation_link}.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Templates []NotificationTemplate `json:"templates,omitempty"`

	// Batching collects the messages of a conversation during a window and sends one
	// digest with the whole conversation instead of one notification per message.
	// +optional
	Batching *BatchingSpec `json:"batching,omitempty"`

	// Retry says how failed deliveries are retried.
	// +kubebuilder:default={}
	// +optional
	Retry RetrySpec `json:"retry,omitempty"`

	// OnError tells these recipients when a delivery has failed for good.
	// +optional
	OnError *OnErrorSpec `json:"onError,omitempty"`
}

// NotificationRule sends notifications for some events to some recipients.
type NotificationRule struct {
	// Name identifies the rule.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Events that trigger the rule.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Events []EventType `json:"events"`

	// Recipients of the notifications.
	Recipients Recipients `json:"recipients"`

	// When narrows the rule; every condition set must hold.
	// +kubebuilder:default={}
	// +optional
	When RuleConditions `json:"when,omitempty"`

	// Send lists the deliveries: each through a provider with a template.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Send []SendSpec `json:"send"`
}

// RecipientKind is a role relative to the conversation or the LiveChat.
// +kubebuilder:validation:Enum=Assignee;LastOperator;QueueOperators;AllOperators;OfflineOperators;Supervisors;Visitor
type RecipientKind string

// Recipient kinds.
const (
	RecipientAssignee         RecipientKind = "Assignee"
	RecipientLastOperator     RecipientKind = "LastOperator"
	RecipientQueueOperators   RecipientKind = "QueueOperators"
	RecipientAllOperators     RecipientKind = "AllOperators"
	RecipientOfflineOperators RecipientKind = "OfflineOperators"
	RecipientSupervisors      RecipientKind = "Supervisors"
	RecipientVisitor          RecipientKind = "Visitor"
)

// RecipientStrategy combines the recipient kinds of a rule.
// +kubebuilder:validation:Enum=All;FirstMatch
type RecipientStrategy string

// Recipient strategies.
const (
	// RecipientsAll tells everyone every kind names.
	RecipientsAll RecipientStrategy = "All"
	// RecipientsFirstMatch tells only the first kind, in order, that names anyone:
	// "the assignee, else the queue's operators, else every offline operator".
	RecipientsFirstMatch RecipientStrategy = "FirstMatch"
)

// Recipients name who is told.
// +kubebuilder:validation:XValidation:rule="(has(self.kinds) && size(self.kinds) > 0) || (has(self.groups) && size(self.groups) > 0) || (has(self.operators) && size(self.operators) > 0)",message="name at least one recipient: kinds, groups or operators"
type Recipients struct {
	// Kinds of recipients, in order of preference for the FirstMatch strategy.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Kinds []RecipientKind `json:"kinds,omitempty"`

	// Groups whose members are told.
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Groups []ObjectName `json:"groups,omitempty"`

	// Operators told by name.
	// +listType=set
	// +kubebuilder:validation:MaxItems=64
	// +optional
	Operators []OperatorName `json:"operators,omitempty"`

	// Strategy is All (everyone named) or FirstMatch (the first kind that names anyone).
	// +kubebuilder:default=All
	// +optional
	Strategy RecipientStrategy `json:"strategy,omitempty"`
}

// RuleConditions narrow a rule. Unset conditions do not narrow it.
type RuleConditions struct {
	// RecipientOffline sends only to recipients who are offline right now.
	// +optional
	RecipientOffline bool `json:"recipientOffline,omitempty"`

	// OncePerOfflineSession sends a recipient at most one notification until they
	// come back online.
	// +optional
	OncePerOfflineSession bool `json:"oncePerOfflineSession,omitempty"`

	// SkipIfBotAnswered sends nothing for messages the channel's bot answered.
	// +kubebuilder:default=true
	// +optional
	SkipIfBotAnswered *bool `json:"skipIfBotAnswered,omitempty"`

	// Queues limits the rule to chats of these queues.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Queues []ObjectName `json:"queues,omitempty"`

	// Channels limits the rule to chats of these channels.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Channels []ObjectName `json:"channels,omitempty"`
}

// SendSpec is one delivery of a rule.
type SendSpec struct {
	// Provider names an entry of spec.providers.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	Provider string `json:"provider"`

	// Template names an entry of spec.templates; a built-in text for the event when unset.
	// +kubebuilder:validation:MaxLength=63
	// +optional
	Template string `json:"template,omitempty"`
}

// NotificationProvider is one delivery service; exactly one block must be set.
// +kubebuilder:validation:XValidation:rule="(has(self.smtp) ? 1 : 0) + (has(self.twilio) ? 1 : 0) + (has(self.pusherBeams) ? 1 : 0) + (has(self.oneSignal) ? 1 : 0) + (has(self.webhook) ? 1 : 0) + (has(self.messenger) ? 1 : 0) == 1",message="set exactly one of smtp, twilio, pusherBeams, oneSignal, webhook or messenger"
type NotificationProvider struct {
	// Name identifies the provider in rules.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// SMTP sends email.
	// +optional
	SMTP *SMTPProvider `json:"smtp,omitempty"`

	// Twilio sends SMS.
	// +optional
	Twilio *TwilioProvider `json:"twilio,omitempty"`

	// PusherBeams sends push notifications to Android and desktop browsers.
	// +optional
	PusherBeams *PusherBeamsProvider `json:"pusherBeams,omitempty"`

	// OneSignal sends push notifications to iOS, Android and desktop browsers.
	// +optional
	OneSignal *OneSignalProvider `json:"oneSignal,omitempty"`

	// Webhook POSTs JSON, signed with HMAC-SHA256, or a Slack-compatible message.
	// +optional
	Webhook *WebhookProvider `json:"webhook,omitempty"`

	// Messenger writes to the visitor over the channel they used.
	// +optional
	Messenger *MessengerProvider `json:"messenger,omitempty"`
}

// SMTPTLS is how an SMTP connection is secured.
// +kubebuilder:validation:Enum=StartTLS;TLS;None
type SMTPTLS string

// SMTPProvider is an SMTP server.
// +kubebuilder:validation:XValidation:rule="has(self.usernameSecretRef) == has(self.passwordSecretRef)",message="set both usernameSecretRef and passwordSecretRef, or neither"
type SMTPProvider struct {
	// Host name of the SMTP server.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$`
	Host string `json:"host"`

	// Port of the SMTP server: 587 for StartTLS, 465 for TLS.
	// +kubebuilder:default=587
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	// +optional
	Port int32 `json:"port,omitempty"`

	// TLS is StartTLS (upgrade after connecting), TLS (implicit) or None.
	// +kubebuilder:default=StartTLS
	// +optional
	TLS SMTPTLS `json:"tls,omitempty"`

	// From is the sender address.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	From string `json:"from"`

	// FromName is the sender's display name.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	FromName string `json:"fromName,omitempty"`

	// UsernameSecretRef selects the SMTP user name.
	// +optional
	UsernameSecretRef *SecretKeyReference `json:"usernameSecretRef,omitempty"`

	// PasswordSecretRef selects the SMTP password (an app password for Gmail).
	// +optional
	PasswordSecretRef *SecretKeyReference `json:"passwordSecretRef,omitempty"`
}

// TwilioProvider sends SMS through Twilio's Messages API.
type TwilioProvider struct {
	// AccountSID of the Twilio account, AC followed by 32 hex digits.
	// +kubebuilder:validation:Pattern=`^AC[0-9a-fA-F]{32}$`
	AccountSID string `json:"accountSID"`

	// AuthTokenSecretRef selects the auth token.
	AuthTokenSecretRef SecretKeyReference `json:"authTokenSecretRef"`

	// From is the sending number in E.164 form, or an alphanumeric sender ID of up to
	// 11 characters where the destination country supports it.
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^(\+[1-9][0-9]{6,14}|[A-Za-z0-9 ]{1,11})$`
	From string `json:"from"`

	// APIBaseURL of the Twilio REST API.
	// +kubebuilder:default="https://api.twilio.com"
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// PusherBeamsProvider sends push notifications through Pusher Beams.
type PusherBeamsProvider struct {
	// InstanceID of the Beams instance.
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	InstanceID string `json:"instanceID"`

	// SecretKeySecretRef selects the instance's primary key.
	SecretKeySecretRef SecretKeyReference `json:"secretKeySecretRef"`

	// APIBaseURL of the Beams API; https://<instanceID>.pushnotifications.pusher.com
	// when unset.
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// OneSignalProvider sends push notifications through OneSignal.
type OneSignalProvider struct {
	// AppID of the OneSignal app.
	// +kubebuilder:validation:Pattern=`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`
	AppID string `json:"appID"`

	// APIKeySecretRef selects the app's REST API key.
	APIKeySecretRef SecretKeyReference `json:"apiKeySecretRef"`

	// APIBaseURL of the OneSignal API.
	// +kubebuilder:default="https://api.onesignal.com"
	// +optional
	APIBaseURL APIBaseURL `json:"apiBaseURL,omitempty"`
}

// WebhookFormat is the body a webhook provider sends.
// +kubebuilder:validation:Enum=JSON;Slack
type WebhookFormat string

// WebhookProvider POSTs each notification to a URL.
type WebhookProvider struct {
	WebhookEndpoint `json:",inline"`

	// Format is JSON (the event and rendered template) or Slack (an incoming-webhook
	// message with the rendered text).
	// +kubebuilder:default=JSON
	// +optional
	Format WebhookFormat `json:"format,omitempty"`
}

// MessengerProvider writes to the visitor in the messenger or widget they used.
type MessengerProvider struct {
	// Channels limits delivery to visitors of these channels; any channel when empty.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Channels []ObjectName `json:"channels,omitempty"`
}

// NotificationTemplate is a text with merge fields.
// +kubebuilder:validation:XValidation:rule="has(self.text) || has(self.html)",message="set text, html, or both"
type NotificationTemplate struct {
	// Name identifies the template in rules.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Subject of emails and title of push notifications.
	// +kubebuilder:validation:MaxLength=998
	// +optional
	Subject string `json:"subject,omitempty"`

	// Text body. New lines become line breaks in HTML email.
	// +kubebuilder:validation:MaxLength=32768
	// +optional
	Text string `json:"text,omitempty"`

	// HTML body of emails.
	// +kubebuilder:validation:MaxLength=131072
	// +optional
	HTML string `json:"html,omitempty"`
}

// BatchingSpec is a digest window.
type BatchingSpec struct {
	// Window collects a conversation's notifications for this long, then sends one.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="must be between 10s and 24h, for example 15m"
	Window metav1.Duration `json:"window"`
}

// BackoffKind is how the delay between retries grows.
// +kubebuilder:validation:Enum=Fixed;Exponential
type BackoffKind string

// Backoff kinds.
const (
	BackoffFixed       BackoffKind = "Fixed"
	BackoffExponential BackoffKind = "Exponential"
)

// RetrySpec says how failed deliveries are retried.
type RetrySpec struct {
	// Attempts after the first failure; 0 disables retries.
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=20
	// +optional
	Attempts *int32 `json:"attempts,omitempty"`

	// Delay before the first retry.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="must be between 1s and 24h, for example 30s"
	// +optional
	Delay *metav1.Duration `json:"delay,omitempty"`

	// Backoff is Fixed (the same delay each time) or Exponential (doubling, capped at 1h).
	// +kubebuilder:default=Exponential
	// +optional
	Backoff BackoffKind `json:"backoff,omitempty"`
}

// OnErrorSpec tells people that a delivery failed for good.
type OnErrorSpec struct {
	// Recipients told about the failure.
	Recipients Recipients `json:"recipients"`

	// Send lists the deliveries of the failure notice.
	// +listType=atomic
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	Send []SendSpec `json:"send"`
}

// DeliveryCounts are a policy's delivery counters, written by the runtime.
type DeliveryCounts struct {
	// Sent deliveries.
	// +optional
	Sent int64 `json:"sent,omitempty"`
	// Failed deliveries, after all retries.
	// +optional
	Failed int64 `json:"failed,omitempty"`
	// Pending deliveries in the outbox.
	// +optional
	Pending int64 `json:"pending,omitempty"`
}

// NotificationPolicyStatus is the observed state of a NotificationPolicy. Ready and
// ResolvedRefs are written by the operator; deliveries, lastDeliveryTime, lastError
// and lastErrorTime by the runtime, under its own field manager.
type NotificationPolicyStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready and ResolvedRefs, with Reconciling and Stalled as kstatus reads them.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// Deliveries counts the policy's deliveries as the runtime's store records them:
	// the same on every replica, and kept across restarts.
	// +optional
	Deliveries DeliveryCounts `json:"deliveries,omitempty"`

	// LastDeliveryTime is when a notification of this policy was last delivered.
	// +optional
	LastDeliveryTime *metav1.Time `json:"lastDeliveryTime,omitempty"`

	// LastError is the error of the last failed delivery attempt (retried or final),
	// without secrets.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	LastError string `json:"lastError,omitempty"`

	// LastErrorTime is when lastError happened.
	// +optional
	LastErrorTime *metav1.Time `json:"lastErrorTime,omitempty"`
}

// NotificationPolicy tells operators, supervisors and visitors about chat events by
// email, SMS, push, webhook or messenger.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=npol,categories=switchboard
// +kubebuilder:printcolumn:name="LiveChat",type=string,JSONPath=`.spec.liveChatRef.name`
// +kubebuilder:printcolumn:name="Suspended",type=boolean,JSONPath=`.spec.suspend`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Sent",type=integer,JSONPath=`.status.deliveries.sent`,priority=1
// +kubebuilder:printcolumn:name="Failed",type=integer,JSONPath=`.status.deliveries.failed`,priority=1
// +kubebuilder:printcolumn:name="Pending",type=integer,JSONPath=`.status.deliveries.pending`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type NotificationPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   NotificationPolicySpec   `json:"spec"`
	Status NotificationPolicyStatus `json:"status,omitempty"`
}

// NotificationPolicyList is a list of NotificationPolicies.
// +kubebuilder:object:root=true
type NotificationPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []NotificationPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&NotificationPolicy{}, &NotificationPolicyList{})
}
