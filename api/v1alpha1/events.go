package v1alpha1

// EventType is one entry of the fixed catalogue of events the runtime emits: the chat
// and operator events of Userlike, plus offline messages, accept timeouts, daily
// analytics, channel changes and failed deliveries.
// +kubebuilder:validation:Enum=OperatorOnline;OperatorAway;OperatorBack;OperatorOffline;ChatStarted;ChatAssigned;ChatAccepted;AcceptTimedOut;FirstMessageReceived;MessageReceived;MessageSent;ChatForwarded;BotHandedOver;ChatRated;ChatFeedback;ChatSurvey;ChatGoalReached;ChatFinished;OfflineMessage;DailyAnalytics;ChannelChanged;DeliveryFailed
type EventType string

// The event catalogue.
const (
	EventOperatorOnline       EventType = "OperatorOnline"
	EventOperatorAway         EventType = "OperatorAway"
	EventOperatorBack         EventType = "OperatorBack"
	EventOperatorOffline      EventType = "OperatorOffline"
	EventChatStarted          EventType = "ChatStarted"
	EventChatAssigned         EventType = "ChatAssigned"
	EventChatAccepted         EventType = "ChatAccepted"
	EventAcceptTimedOut       EventType = "AcceptTimedOut"
	EventFirstMessageReceived EventType = "FirstMessageReceived"
	EventMessageReceived      EventType = "MessageReceived"
	EventMessageSent          EventType = "MessageSent"
	EventChatForwarded        EventType = "ChatForwarded"
	EventBotHandedOver        EventType = "BotHandedOver"
	EventChatRated            EventType = "ChatRated"
	EventChatFeedback         EventType = "ChatFeedback"
	EventChatSurvey           EventType = "ChatSurvey"
	EventChatGoalReached      EventType = "ChatGoalReached"
	EventChatFinished         EventType = "ChatFinished"
	EventOfflineMessage       EventType = "OfflineMessage"
	EventDailyAnalytics       EventType = "DailyAnalytics"
	EventChannelChanged       EventType = "ChannelChanged"
	EventDeliveryFailed       EventType = "DeliveryFailed"
)

// DeliveryKind is a way of telling someone about an event.
// +kubebuilder:validation:Enum=Email;SMS;Push;Webhook;Messenger;Browser;Sound
type DeliveryKind string

// Delivery kinds. Browser and Sound are the console's own alerts; the others go
// through a NotificationPolicy provider.
const (
	DeliveryEmail     DeliveryKind = "Email"
	DeliverySMS       DeliveryKind = "SMS"
	DeliveryPush      DeliveryKind = "Push"
	DeliveryWebhook   DeliveryKind = "Webhook"
	DeliveryMessenger DeliveryKind = "Messenger"
	DeliveryBrowser   DeliveryKind = "Browser"
	DeliverySound     DeliveryKind = "Sound"
)
