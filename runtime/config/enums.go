package config

import (
	"encoding/json"
	"fmt"
	"time"
)

// Duration is a length of time, written as Go formats it: "1m30s".
type Duration struct {
	time.Duration
}

// MarshalJSON writes the duration as a string such as "5m0s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(d.Duration.String()) }

// UnmarshalJSON reads a duration string such as "5m0s".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string such as \"5m0s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// The enumerated types below carry the values of the CRD enums of the same names.
// Their value lists feed the JSON Schema, and a test holds them equal to the CRDs'
// enums, so a value added to a CRD is added here on purpose, not carried over unseen.

// ChannelType is where a channel's visitors come from.
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

// ChannelTypes lists every ChannelType.
var ChannelTypes = []ChannelType{ChannelTelegram, ChannelFacebookMessenger, ChannelWhatsApp, ChannelSMS, ChannelWebWidget, ChannelInternal}

// RoutingRule decides which operator gets a new chat.
type RoutingRule string

// Routing rules.
const (
	// RoutingAvailableAgent assigns the chat to the eligible operator with the fewest
	// chats in progress.
	RoutingAvailableAgent RoutingRule = "AvailableAgent"
	// RoutingAllAgents offers the chat to every eligible operator; the first to accept
	// takes it.
	RoutingAllAgents RoutingRule = "AllAgents"
)

// RoutingRules lists every RoutingRule.
var RoutingRules = []RoutingRule{RoutingAvailableAgent, RoutingAllAgents}

// EventType is one entry of the catalogue of events the runtime emits.
type EventType string

// EventTypes lists every EventType.
var EventTypes = []EventType{"OperatorOnline", "OperatorAway", "OperatorBack", "OperatorOffline", "ChatStarted",
	"ChatAssigned", "ChatAccepted", "AcceptTimedOut", "FirstMessageReceived", "MessageReceived", "MessageSent",
	"ChatForwarded", "BotHandedOver", "ChatRated", "ChatFeedback", "ChatSurvey", "ChatGoalReached", "ChatFinished",
	"OfflineMessage", "DailyAnalytics", "ChannelChanged", "DeliveryFailed"}

// DeliveryKind is a way of telling someone about an event.
type DeliveryKind string

// DeliveryKinds lists every DeliveryKind.
var DeliveryKinds = []DeliveryKind{"Email", "SMS", "Push", "Webhook", "Messenger", "Browser", "Sound"}

// RecipientKind is a role relative to the conversation or the LiveChat.
type RecipientKind string

// RecipientKinds lists every RecipientKind.
var RecipientKinds = []RecipientKind{"Assignee", "LastOperator", "QueueOperators", "AllOperators", "OfflineOperators",
	"Supervisors", "Visitor"}

// RecipientStrategy combines the recipient kinds of a rule.
type RecipientStrategy string

// Recipient strategies.
const (
	// RecipientsAll tells everyone every kind names.
	RecipientsAll RecipientStrategy = "All"
	// RecipientsFirstMatch tells only the first kind, in order, that names anyone.
	RecipientsFirstMatch RecipientStrategy = "FirstMatch"
)

// RecipientStrategies lists every RecipientStrategy.
var RecipientStrategies = []RecipientStrategy{RecipientsAll, RecipientsFirstMatch}

// BackoffKind is how the delay between retries grows.
type BackoffKind string

// Backoff kinds.
const (
	BackoffFixed       BackoffKind = "Fixed"
	BackoffExponential BackoffKind = "Exponential"
)

// BackoffKinds lists every BackoffKind.
var BackoffKinds = []BackoffKind{BackoffFixed, BackoffExponential}

// SMTPTLS is how an SMTP connection is secured.
type SMTPTLS string

// SMTPTLSModes lists every SMTPTLS.
var SMTPTLSModes = []SMTPTLS{"StartTLS", "TLS", "None"}

// WebhookFormat is the body a webhook provider sends.
type WebhookFormat string

// WebhookFormats lists every WebhookFormat.
var WebhookFormats = []WebhookFormat{"JSON", "Slack"}
