package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// RoutingRule decides which operator gets a new chat.
// +kubebuilder:validation:Enum=AvailableAgent;AllAgents
type RoutingRule string

const (
	// RoutingAvailableAgent assigns the chat to the eligible operator with the fewest
	// chats in progress; on a tie, to the one who has gone longest without a chat.
	RoutingAvailableAgent RoutingRule = "AvailableAgent"
	// RoutingAllAgents offers the chat to every eligible operator; the first to
	// accept takes it.
	RoutingAllAgents RoutingRule = "AllAgents"
)

// ChatQueueSpec says which operators handle a queue's chats and how chats reach them.
// +kubebuilder:validation:XValidation:rule="!has(self.completionTimeout) || !has(self.routing) || !has(self.routing.acceptTimeout) || duration(self.completionTimeout) > duration(self.routing.acceptTimeout)",message="completionTimeout must be longer than routing.acceptTimeout",fieldPath=".completionTimeout"
type ChatQueueSpec struct {
	// LiveChatRef names the LiveChat this queue belongs to.
	LiveChatRef LiveChatReference `json:"liveChatRef"`

	// DisplayName of the queue, for example "1st-line support".
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// OperatorGroups whose members handle this queue's chats.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	OperatorGroups []ObjectName `json:"operatorGroups,omitempty"`

	// Routing decides who gets each new chat.
	// +kubebuilder:default={}
	// +optional
	Routing RoutingSpec `json:"routing,omitempty"`

	// CompletionTimeout closes a chat this long after its last outgoing message; a later
	// message from the contact starts a new chat. Chats never close by themselves when unset.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1m') && duration(self) <= duration('720h')",message="must be between 1m and 720h (30 days), for example 30m"
	// +optional
	CompletionTimeout *metav1.Duration `json:"completionTimeout,omitempty"`

	// TransferTargets are queues this queue's operators may switch a chat to, for
	// example an expert or accounting queue.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	TransferTargets []ObjectName `json:"transferTargets,omitempty"`

	// Offline says what happens when no operator of the queue is online.
	// +kubebuilder:default={}
	// +optional
	Offline OfflineSpec `json:"offline,omitempty"`

	// Actions operators of this queue can run on a chat, such as "Create case".
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Actions []ChatAction `json:"actions,omitempty"`
}

// RoutingSpec is a queue's routing rule and accept timeout.
type RoutingSpec struct {
	// Rule is AvailableAgent (assign to one operator, who must accept) or AllAgents
	// (offer to every eligible operator; first to accept takes it).
	// +kubebuilder:default=AvailableAgent
	// +optional
	Rule RoutingRule `json:"rule,omitempty"`

	// AcceptTimeout overrides the LiveChat's defaults.acceptTimeout for this queue.
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('24h')",message="must be between 10s and 24h, for example 5m"
	// +optional
	AcceptTimeout *metav1.Duration `json:"acceptTimeout,omitempty"`
}

// OfflineSpec is the queue's behaviour while none of its operators is online.
type OfflineSpec struct {
	// AcceptMessages lets visitors leave a message that operators see later.
	// +kubebuilder:default=true
	// +optional
	AcceptMessages *bool `json:"acceptMessages,omitempty"`

	// Message shown to visitors while the queue is offline.
	// +kubebuilder:validation:MaxLength=1024
	// +optional
	Message string `json:"message,omitempty"`
}

// ChatAction is an action an operator can run on a chat. The runtime POSTs the chat
// id, contact id and conversation fields to the webhook.
type ChatAction struct {
	// Name identifies the action.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Caption the operator sees, for example "Create case".
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Caption string `json:"caption"`

	// Webhook called when the operator runs the action.
	Webhook WebhookEndpoint `json:"webhook"`
}

// ChatQueueStatus is the observed state of a ChatQueue.
type ChatQueueStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready and ResolvedRefs.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// Operators counts the distinct operators of the queue's groups.
	// +optional
	Operators int32 `json:"operators,omitempty"`
}

// ChatQueue is a team of operators and the rules by which chats reach them.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=cq,categories=switchboard
// +kubebuilder:printcolumn:name="LiveChat",type=string,JSONPath=`.spec.liveChatRef.name`
// +kubebuilder:printcolumn:name="Rule",type=string,JSONPath=`.spec.routing.rule`
// +kubebuilder:printcolumn:name="Operators",type=integer,JSONPath=`.status.operators`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="!has(self.spec.transferTargets) || !(self.metadata.name in self.spec.transferTargets)",message="a queue cannot be its own transfer target: remove it from spec.transferTargets",fieldPath=".spec.transferTargets"
type ChatQueue struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   ChatQueueSpec   `json:"spec"`
	Status ChatQueueStatus `json:"status,omitempty"`
}

// ChatQueueList is a list of ChatQueues.
// +kubebuilder:object:root=true
type ChatQueueList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ChatQueue `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ChatQueue{}, &ChatQueueList{})
}
