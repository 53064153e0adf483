package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// LiveChatSpec describes one chat platform instance: its defaults, who supervises it,
// how operators sign in, where it stores conversations and how its runtime runs.
// Queues, channels and notification policies attach themselves to a LiveChat by
// naming it in their liveChatRef.
// +kubebuilder:validation:XValidation:rule="!has(self.runtime) || !has(self.runtime.replicas) || self.runtime.replicas <= 1 || (has(self.storage) && has(self.storage.postgres))",message="more than one runtime replica needs shared storage: set storage.postgres, or set runtime.replicas to 1",fieldPath=".runtime.replicas"
type LiveChatSpec struct {
	// DisplayName is the name visitors and operators see.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// PublicURL is the externally reachable base URL of the runtime. Messenger webhooks
	// are registered under it and conversation links in notifications point to it.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https']",message="must be an absolute http:// or https:// URL, for example https://chat.example.com"
	// +optional
	PublicURL string `json:"publicURL,omitempty"`

	// Defaults apply to every queue and operator of this LiveChat unless they override them.
	// +kubebuilder:default={}
	// +optional
	Defaults ChatDefaults `json:"defaults,omitempty"`

	// SupervisorGroups are OperatorGroups whose members monitor every queue of this
	// LiveChat and may reassign any of its chats.
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	// +optional
	SupervisorGroups []ObjectName `json:"supervisorGroups,omitempty"`

	// Runtime shapes the runtime workload that serves this LiveChat.
	// +kubebuilder:default={}
	// +optional
	Runtime RuntimeSpec `json:"runtime,omitempty"`

	// Storage holds conversations: exactly one of embedded or postgres.
	// +kubebuilder:default={embedded:{}}
	// +optional
	Storage *StorageSpec `json:"storage,omitempty"`

	// AgentAuth says how operators sign in to the console and the operator API.
	AgentAuth AgentAuthSpec `json:"agentAuth"`

	// Console holds operator-console settings such as the new-message sound.
	// +kubebuilder:default={}
	// +optional
	Console ConsoleSpec `json:"console,omitempty"`

	// OperatorPresence says when an operator whose console closed counts as offline,
	// and what becomes of their open chats then.
	// +kubebuilder:default={}
	// +optional
	OperatorPresence OperatorPresenceSpec `json:"operatorPresence,omitempty"`

	// Attachments bounds the files exchanged in chats: their size and media types.
	// +kubebuilder:default={}
	// +optional
	Attachments AttachmentsSpec `json:"attachments,omitempty"`

	// TimeZone is the IANA time zone the LiveChat's days follow, such as
	// Europe/Berlin: the daily analytics cover one day in it.
	// +kubebuilder:default="UTC"
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^(UTC|[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2})$`
	// +optional
	TimeZone string `json:"timeZone,omitempty"`

	// ProcessAPI lets business processes send messages to clients in the messenger
	// they used (POST /api/v1/process-messages). Without it that API answers 404.
	// +optional
	ProcessAPI *ProcessAPISpec `json:"processAPI,omitempty"`

	// Suspend stops the operator from changing this LiveChat's workload. The running
	// runtime keeps serving with the configuration it has.
	// +optional
	Suspend bool `json:"suspend,omitempty"`
}

// ChatDefaults are the LiveChat-wide chat settings.
type ChatDefaults struct {
	// SimultaneousChats is how many chats one operator may hold at once, counted
	// across all queues and channels. An OperatorGroup member's maxChats overrides it.
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	SimultaneousChats int32 `json:"simultaneousChats,omitempty"`

	// AcceptTimeout is how long an operator has to accept a chat routed to them before
	// it moves to the next operator and they become inactive. A queue may override it.
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="must be between 10s and 24h, for example 5m"
	// +optional
	AcceptTimeout *metav1.Duration `json:"acceptTimeout,omitempty"`
}

// RuntimeSpec shapes the runtime Deployment.
type RuntimeSpec struct {
	// Replicas of the runtime. More than one requires postgres storage.
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=50
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`

	// Image of the runtime. Defaults to the operator's own image, so operator and
	// runtime versions always match.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Image string `json:"image,omitempty"`

	// ImagePullPolicy of the runtime container.
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	// +optional
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// ImagePullSecrets name Secrets in the LiveChat's namespace with the credentials of
	// a private registry that holds the runtime image.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	ImagePullSecrets []corev1.LocalObjectReference `json:"imagePullSecrets,omitempty"`

	// Resources of the runtime container. Defaults to requests of 100m CPU and 128Mi
	// memory and a 512Mi memory limit.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// NodeSelector for runtime pods.
	// +optional
	NodeSelector map[string]string `json:"nodeSelector,omitempty"`

	// Tolerations for runtime pods.
	// +kubebuilder:validation:MaxItems=32
	// +listType=atomic
	// +optional
	Tolerations []corev1.Toleration `json:"tolerations,omitempty"`

	// Affinity for runtime pods.
	// +optional
	Affinity *corev1.Affinity `json:"affinity,omitempty"`

	// TopologySpreadConstraints for runtime pods.
	// +kubebuilder:validation:MaxItems=8
	// +listType=atomic
	// +optional
	TopologySpreadConstraints []corev1.TopologySpreadConstraint `json:"topologySpreadConstraints,omitempty"`

	// PriorityClassName of runtime pods.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	PriorityClassName string `json:"priorityClassName,omitempty"`

	// PodAnnotations are added to runtime pods, for example for a service mesh.
	// +optional
	PodAnnotations map[string]string `json:"podAnnotations,omitempty"`

	// LogLevel of the runtime.
	// +kubebuilder:validation:Enum=debug;info;warn;error
	// +kubebuilder:default=info
	// +optional
	LogLevel string `json:"logLevel,omitempty"`
}

// StorageSpec chooses where conversations are stored.
// +kubebuilder:validation:XValidation:rule="(has(self.embedded) ? 1 : 0) + (has(self.postgres) ? 1 : 0) == 1",message="set exactly one of storage.embedded (SQLite on a volume) or storage.postgres"
type StorageSpec struct {
	// Embedded keeps conversations in SQLite on a PersistentVolumeClaim. Only one
	// runtime replica can use it.
	// +optional
	Embedded *EmbeddedStorage `json:"embedded,omitempty"`

	// Postgres keeps conversations in PostgreSQL, which several replicas can share.
	// +optional
	Postgres *PostgresStorage `json:"postgres,omitempty"`
}

// EmbeddedStorage is SQLite on a PersistentVolumeClaim. Once the claim exists its
// class cannot change and it cannot shrink, so neither can these fields.
// +kubebuilder:validation:XValidation:rule="has(self.storageClassName) == has(oldSelf.storageClassName) && (!has(self.storageClassName) || self.storageClassName == oldSelf.storageClassName)",message="storageClassName cannot change once the volume exists: keep the old value, or move to a new LiveChat (or to postgres) and migrate"
// +kubebuilder:validation:XValidation:rule="!has(self.size) || !has(oldSelf.size) || quantity(string(self.size)).compareTo(quantity(string(oldSelf.size))) >= 0",message="size cannot shrink: a volume can only grow; keep the old size or set a larger one"
type EmbeddedStorage struct {
	// Size of the volume.
	// +kubebuilder:default="1Gi"
	// +optional
	Size *resource.Quantity `json:"size,omitempty"`

	// StorageClassName of the volume; the cluster default when unset.
	// +kubebuilder:validation:MaxLength=253
	// +optional
	StorageClassName *string `json:"storageClassName,omitempty"`

	// Durability says what a committed message survives. Normal: a crash of the
	// runtime (the default). Full: also a power loss or a crash of the node, at the
	// cost of one fsync per group commit (see docs/operations.md for the measured
	// cost). A change takes effect when the runtime restarts; until then its /status
	// says restartNeeded (kubectl rollout restart deployment/<livechat>-runtime).
	// +kubebuilder:validation:Enum=Normal;Full
	// +kubebuilder:default=Normal
	// +optional
	Durability Durability `json:"durability,omitempty"`
}

// Durability is what a committed write of the embedded store survives.
type Durability string

// Durability levels.
const (
	DurabilityNormal Durability = "Normal"
	DurabilityFull   Durability = "Full"
)

// PostgresStorage is an external PostgreSQL database.
type PostgresStorage struct {
	// URISecretRef selects the key holding the connection URI,
	// postgres://user:password@host:5432/db?sslmode=require.
	URISecretRef SecretKeyReference `json:"uriSecretRef"`
}

// AgentAuthSpec says how operators authenticate.
// +kubebuilder:validation:XValidation:rule="has(self.tokensSecretRef) || has(self.oidc)",message="set agentAuth.tokensSecretRef, agentAuth.oidc, or both, so operators can sign in"
type AgentAuthSpec struct {
	// TokensSecretRef names a Secret with one key per operator name whose value is
	// that operator's bearer token.
	// +optional
	TokensSecretRef *SecretReference `json:"tokensSecretRef,omitempty"`

	// OIDC lets operators sign in with an OpenID Connect provider (authorization
	// code flow with PKCE). The provider sends them back to spec.publicURL +
	// /auth/oidc/callback, so publicURL must be set. With OIDC on, tokens are
	// optional: an operator may have either.
	// +optional
	OIDC *OIDCSpec `json:"oidc,omitempty"`
}

// ProcessAPISpec configures the API that business processes call.
type ProcessAPISpec struct {
	// TokenSecretRef selects the key holding the bearer token processes send as
	// Authorization: Bearer <token>; at least 16 characters. The same value signs the
	// error callbacks the runtime posts back to them.
	TokenSecretRef SecretKeyReference `json:"tokenSecretRef"`
}

// OIDCSpec configures OpenID Connect sign-in.
type OIDCSpec struct {
	// IssuerURL of the provider; must be https.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() == 'https'",message="must be an https:// URL of the OIDC issuer"
	IssuerURL string `json:"issuerURL"`

	// ClientID registered with the provider.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	ClientID string `json:"clientID"`

	// UsernameClaim is the ID token claim that holds the operator name.
	// +kubebuilder:default=preferred_username
	// +kubebuilder:validation:MaxLength=128
	// +optional
	UsernameClaim string `json:"usernameClaim,omitempty"`

	// ClientSecretRef selects the client secret, for providers that register the
	// runtime as a confidential client. Leave it unset for a public client, which
	// PKCE protects alone.
	// +optional
	ClientSecretRef *SecretKeyReference `json:"clientSecretRef,omitempty"`
}

// ConsoleSpec holds operator-console settings.
type ConsoleSpec struct {
	// Sound played in the console when a new chat or message arrives.
	// +kubebuilder:default={}
	// +optional
	Sound ConsoleSound `json:"sound,omitempty"`

	// DesktopNotifications lets the console show browser notifications (HTTPS only).
	// +kubebuilder:default=true
	// +optional
	DesktopNotifications *bool `json:"desktopNotifications,omitempty"`
}

// ConsoleSound is the console's new-message alert.
type ConsoleSound struct {
	// Enabled turns the alert on or off.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// URL of a custom audio file; the built-in chime when unset.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https']",message="must be an absolute http:// or https:// URL of an audio file"
	// +optional
	URL string `json:"url,omitempty"`

	// Loop repeats the sound until the operator opens the chat.
	// +optional
	Loop bool `json:"loop,omitempty"`
}

// OperatorPresenceSpec is how operators' presence follows their consoles (Userlike:
// online while the chat panel is open; offline once it is closed).
type OperatorPresenceSpec struct {
	// OfflineAfter is how long an operator stays online (or away) after their last
	// console closed, on every runtime replica: a reload or a short network outage
	// within it changes nothing. Once it passes they are offline.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="must be between 1s and 1h, for example 60s"
	// +optional
	OfflineAfter *metav1.Duration `json:"offlineAfter,omitempty"`

	// OpenChatsWhenOffline is what becomes of an operator's open chats when they go
	// offline (their consoles closed for offlineAfter, they chose offline, or they
	// signed out): Forward puts them back in their queues, to be routed to another
	// operator; Drop closes them, with the reason in their activity stream.
	// +kubebuilder:default=Forward
	// +optional
	OpenChatsWhenOffline OpenChatsPolicy `json:"openChatsWhenOffline,omitempty"`
}

// OpenChatsPolicy is what becomes of an offline operator's open chats.
// +kubebuilder:validation:Enum=Forward;Drop
type OpenChatsPolicy string

// Open-chat policies.
const (
	OpenChatsForward OpenChatsPolicy = "Forward"
	OpenChatsDrop    OpenChatsPolicy = "Drop"
)

// LiveChatStatus is the observed state of a LiveChat.
type LiveChatStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready, Reconciling, Stalled and Available.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// ConfigRevision identifies the compiled runtime configuration now rendered.
	// +optional
	ConfigRevision string `json:"configRevision,omitempty"`

	// Queues counts the ChatQueues attached to this LiveChat.
	// +optional
	Queues int32 `json:"queues,omitempty"`

	// Channels counts the Channels attached to this LiveChat.
	// +optional
	Channels int32 `json:"channels,omitempty"`

	// Operators counts the distinct operators of this LiveChat's queues and supervisor groups.
	// +optional
	Operators int32 `json:"operators,omitempty"`

	// Policies counts the NotificationPolicies attached to this LiveChat.
	// +optional
	Policies int32 `json:"policies,omitempty"`

	// Endpoint is the in-cluster URL of the runtime.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// ReadyReplicas of the runtime.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// HeldBack lists the objects whose current generation does not compile, so the
	// runtime configuration keeps the last generation of each that did.
	// +listType=map
	// +listMapKey=kind
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	// +optional
	HeldBack []HeldBackObject `json:"heldBack,omitempty"`
}

// HeldBackObject is an object served in its last good generation.
type HeldBackObject struct {
	// Kind of the object: LiveChat, ChatQueue, Channel, OperatorGroup or NotificationPolicy.
	// +kubebuilder:validation:MaxLength=32
	Kind string `json:"kind"`
	// Name of the object.
	// +kubebuilder:validation:MaxLength=253
	Name string `json:"name"`
	// ServedGeneration is the generation the runtime configuration holds.
	ServedGeneration int64 `json:"servedGeneration"`
	// Generation is the generation that does not compile.
	// +optional
	Generation int64 `json:"generation,omitempty"`
}

// LiveChat is one chat platform instance: the root that queues, channels and
// notification policies attach to, reconciled into a runtime workload.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=lc,categories=switchboard
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Queues",type=integer,JSONPath=`.status.queues`
// +kubebuilder:printcolumn:name="Channels",type=integer,JSONPath=`.status.channels`
// +kubebuilder:printcolumn:name="Operators",type=integer,JSONPath=`.status.operators`
// +kubebuilder:printcolumn:name="Replicas",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Revision",type=string,JSONPath=`.status.configRevision`,priority=1
// +kubebuilder:printcolumn:name="Endpoint",type=string,JSONPath=`.status.endpoint`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.size() <= 50 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="LiveChat names must start with a letter and be at most 50 lowercase letters, digits or '-' (no dots), for example support or support-eu, so the Service and other objects derived from them stay valid"
type LiveChat struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   LiveChatSpec   `json:"spec"`
	Status LiveChatStatus `json:"status,omitempty"`
}

// LiveChatList is a list of LiveChats.
// +kubebuilder:object:root=true
type LiveChatList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []LiveChat `json:"items"`
}

func init() {
	SchemeBuilder.Register(&LiveChat{}, &LiveChatList{})
}
