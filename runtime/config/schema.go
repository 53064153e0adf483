// Package config is the contract between the operator and the runtime: the compiled
// runtime configuration of one LiveChat, and Compile, which produces it from the five
// kinds. Compile is pure (no API server, no I/O) and deterministic: the same inputs
// give byte-identical output. The configuration holds references to Secrets, never
// their values.
package config

// SchemaVersion names the layout of Config. A runtime refuses a configuration whose
// schemaVersion it does not know, rather than misreading it. The layout is defined by
// the types of this package alone, never by CRD types, so a change to a CRD cannot
// change it unseen; config.schema.json is generated from these types.
//
// Within a version, changes are additive only: a new optional field or enum value.
// Renaming, removing or retyping a field needs a new version, with Parse still
// reading the previous one (testdata/compat holds a configuration of each).
const SchemaVersion = "runtime.switchboard.dev/v1"

//go:generate go run ./internal/schemagen

// Config is the compiled configuration of one LiveChat. Every list is sorted by name.
type Config struct {
	SchemaVersion string   `json:"schemaVersion"`
	LiveChat      LiveChat `json:"liveChat"`
	// People are everyone the LiveChat's queues, supervisors, internal channels and
	// policies name, merged across their groups.
	People   []Person  `json:"people"`
	Groups   []Group   `json:"groups"`
	Queues   []Queue   `json:"queues"`
	Channels []Channel `json:"channels"`
	Policies []Policy  `json:"policies"`
	// Secrets the runtime reads, with the keys it needs (all keys when Keys is empty).
	Secrets []SecretUse `json:"secrets"`
}

// LiveChat is the platform-wide part of the configuration.
type LiveChat struct {
	Namespace         string   `json:"namespace"`
	Name              string   `json:"name"`
	DisplayName       string   `json:"displayName,omitempty"`
	PublicURL         string   `json:"publicURL,omitempty"`
	SimultaneousChats int32    `json:"simultaneousChats"`
	AcceptTimeout     Duration `json:"acceptTimeout"`
	SupervisorGroups  []string `json:"supervisorGroups"`
	// Supervisors are the members of the supervisor groups.
	Supervisors []string  `json:"supervisors"`
	Storage     Storage   `json:"storage"`
	AgentAuth   AgentAuth `json:"agentAuth"`
	Console     Console   `json:"console"`
	// OperatorPresence says when operators whose consoles closed go offline. A
	// configuration written before it existed has none: Resolved applies the defaults.
	OperatorPresence *OperatorPresence `json:"operatorPresence,omitempty"`
	// Attachments bounds the files exchanged in chats. A configuration written
	// before it existed has none: Attachments.Resolved applies the defaults then.
	Attachments *Attachments `json:"attachments,omitempty"`
	// TimeZone is the IANA time zone of the LiveChat's days (the daily analytics);
	// UTC when empty.
	TimeZone string `json:"timeZone,omitempty"`
	// ProcessAPI, when set, enables the API business processes send messages with.
	ProcessAPI *ProcessAPI `json:"processAPI,omitempty"`
}

// ProcessAPI configures the API that business processes call.
type ProcessAPI struct {
	// TokenSecret holds the bearer token processes authenticate with, which also
	// signs the error callbacks.
	TokenSecret SecretKeyReference `json:"tokenSecret"`
}

// Storage drivers.
const (
	StorageSQLite   = "sqlite"
	StoragePostgres = "postgres"
)

// Storage says where conversations live.
type Storage struct {
	// Driver is sqlite or postgres.
	Driver      string              `json:"driver"`
	PostgresURI *SecretKeyReference `json:"postgresURI,omitempty"`
	// Durability of the embedded store (storage.embedded.durability): Normal, or Full
	// to sync every commit to disk so that it survives a power loss, not only a crash
	// of the runtime. PostgreSQL's durability is the server's (synchronous_commit).
	Durability string `json:"durability,omitempty"`
}

// AgentAuth says how operators authenticate.
type AgentAuth struct {
	// TokensSecret holds one key per operator name, the value being the bearer token.
	TokensSecret string    `json:"tokensSecret,omitempty"`
	OIDC         *OIDCSpec `json:"oidc,omitempty"`
}

// Console holds operator-console settings.
type Console struct {
	SoundEnabled         bool   `json:"soundEnabled"`
	SoundURL             string `json:"soundURL,omitempty"`
	SoundLoop            bool   `json:"soundLoop"`
	DesktopNotifications bool   `json:"desktopNotifications"`
}

// Person is one operator, supervisor or internal client, merged from every group
// that lists them.
type Person struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	AvatarURL   string `json:"avatarURL,omitempty"`
	PushUserID  string `json:"pushUserID"`
	// MaxChats is the person's limit: the lowest maxChats any of their groups sets,
	// else the LiveChat's simultaneousChats.
	MaxChats int32    `json:"maxChats"`
	Skills   []string `json:"skills"`
	Groups   []string `json:"groups"`
	// NotificationsEnabled is false when the person or any of their groups opted out.
	NotificationsEnabled bool                 `json:"notificationsEnabled"`
	OptOuts              []NotificationOptOut `json:"optOuts"`
}

// Group is an OperatorGroup as the LiveChat uses it.
type Group struct {
	Name                 string   `json:"name"`
	DisplayName          string   `json:"displayName,omitempty"`
	NotificationsEnabled bool     `json:"notificationsEnabled"`
	Members              []string `json:"members"`
}

// Queue is a ChatQueue with its operators resolved and defaults applied.
type Queue struct {
	Name          string      `json:"name"`
	DisplayName   string      `json:"displayName,omitempty"`
	Rule          RoutingRule `json:"rule"`
	AcceptTimeout Duration    `json:"acceptTimeout"`
	// CompletionTimeout is zero when chats never close by themselves.
	CompletionTimeout Duration `json:"completionTimeout"`
	OperatorGroups    []string `json:"operatorGroups"`
	Operators         []string `json:"operators"`
	TransferTargets   []string `json:"transferTargets"`
	Offline           Offline  `json:"offline"`
	Actions           []Action `json:"actions"`
}

// Offline is a queue's behaviour with no operator online.
type Offline struct {
	AcceptMessages bool   `json:"acceptMessages"`
	Message        string `json:"message,omitempty"`
}

// Action is a chat action operators can run.
type Action struct {
	Name    string  `json:"name"`
	Caption string  `json:"caption"`
	Webhook Webhook `json:"webhook"`
}

// Webhook is an HTTP endpoint the runtime calls, signed when SecretRef is set.
type Webhook struct {
	URL       string              `json:"url"`
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`
	Timeout   Duration            `json:"timeout"`
}

// Channel is a Channel with defaults applied. Exactly the block of its type is set.
type Channel struct {
	Name        string      `json:"name"`
	DisplayName string      `json:"displayName,omitempty"`
	Type        ChannelType `json:"type"`
	Queue       string      `json:"queue"`
	Active      bool        `json:"active"`
	// WebhookPath is where the provider delivers messages, below the LiveChat's publicURL.
	WebhookPath       string                    `json:"webhookPath,omitempty"`
	Telegram          *TelegramChannel          `json:"telegram,omitempty"`
	FacebookMessenger *FacebookMessengerChannel `json:"facebookMessenger,omitempty"`
	WhatsApp          *WhatsAppChannel          `json:"whatsApp,omitempty"`
	SMS               *SMSChannel               `json:"sms,omitempty"`
	WebWidget         *WebWidget                `json:"webWidget,omitempty"`
	Internal          *Internal                 `json:"internal,omitempty"`
	Bot               *Bot                      `json:"bot,omitempty"`
}

// WebWidget is the resolved widget configuration.
type WebWidget struct {
	AllowedOrigins          []string `json:"allowedOrigins"`
	Title                   string   `json:"title,omitempty"`
	Greeting                string   `json:"greeting,omitempty"`
	Color                   string   `json:"color,omitempty"`
	OfflineFormEnabled      bool     `json:"offlineFormEnabled"`
	OfflineFormRequireEmail bool     `json:"offlineFormRequireEmail"`
	Ratings                 bool     `json:"ratings"`
	// RatingScale is Stars or Thumbs; a configuration written before it existed has
	// none, which is Stars (Scale).
	RatingScale string           `json:"ratingScale,omitempty"`
	Survey      []SurveyQuestion `json:"survey,omitempty"`
	Goals       []string         `json:"goals,omitempty"`
	// PreChat is the form before the first message; nil, none.
	PreChat *PreChat `json:"preChat,omitempty"`
}

// PreChat is a widget's pre-chat form (name and email address).
type PreChat struct {
	RequireEmail bool `json:"requireEmail"`
}

// SurveyQuestion is a question of a widget's post-chat survey; with Options, the
// only answers accepted.
type SurveyQuestion struct {
	Name    string   `json:"name"`
	Text    string   `json:"text"`
	Options []string `json:"options,omitempty"`
}

// Internal is an internal channel with its clients resolved.
type Internal struct {
	ClientGroups []string `json:"clientGroups"`
	Clients      []string `json:"clients"`
}

// Bot is a channel's third-party chatbot.
type Bot struct {
	Webhook          Webhook  `json:"webhook"`
	HandoverKeywords []string `json:"handoverKeywords"`
}

// Policy is a NotificationPolicy with defaults applied.
type Policy struct {
	Name      string                 `json:"name"`
	Suspend   bool                   `json:"suspend"`
	Rules     []Rule                 `json:"rules"`
	Providers []NotificationProvider `json:"providers"`
	Templates []Template             `json:"templates"`
	// BatchWindow is zero when notifications are sent one by one.
	BatchWindow Duration `json:"batchWindow"`
	Retry       Retry    `json:"retry"`
	OnError     *OnError `json:"onError,omitempty"`
}

// Rule is one notification rule.
type Rule struct {
	Name       string      `json:"name"`
	Events     []EventType `json:"events"`
	Recipients Recipients  `json:"recipients"`
	When       When        `json:"when"`
	Send       []SendSpec  `json:"send"`
}

// Recipients of a rule.
type Recipients struct {
	Kinds     []RecipientKind   `json:"kinds"`
	Groups    []string          `json:"groups"`
	Operators []string          `json:"operators"`
	Strategy  RecipientStrategy `json:"strategy"`
}

// When narrows a rule.
type When struct {
	RecipientOffline      bool     `json:"recipientOffline"`
	OncePerOfflineSession bool     `json:"oncePerOfflineSession"`
	SkipIfBotAnswered     bool     `json:"skipIfBotAnswered"`
	Queues                []string `json:"queues"`
	Channels              []string `json:"channels"`
}

// Template is a notification template and the merge fields it uses.
type Template struct {
	Name    string   `json:"name"`
	Subject string   `json:"subject,omitempty"`
	Text    string   `json:"text,omitempty"`
	HTML    string   `json:"html,omitempty"`
	Fields  []string `json:"fields"`
}

// Retry is a policy's retry schedule.
type Retry struct {
	Attempts int32       `json:"attempts"`
	Delay    Duration    `json:"delay"`
	Backoff  BackoffKind `json:"backoff"`
}

// OnError is who is told about failed deliveries, and how.
type OnError struct {
	Recipients Recipients `json:"recipients"`
	Send       []SendSpec `json:"send"`
}

// SecretUse is one Secret the runtime reads.
type SecretUse struct {
	Name string   `json:"name"`
	Keys []string `json:"keys"`
}
