package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// OperatorGroupSpec lists people who handle or supervise chats. A group is not bound
// to one LiveChat: queues and LiveChats reference it, and one person may sit in several
// groups and queues.
type OperatorGroupSpec struct {
	// DisplayName of the group, for example "First line".
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Members of the group, keyed by operator name.
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=500
	// +optional
	Members []Member `json:"members,omitempty"`

	// NotificationsEnabled is the role-level switch: when false, no member is notified
	// because of membership in this group, whatever the policies say.
	// +kubebuilder:default=true
	// +optional
	NotificationsEnabled *bool `json:"notificationsEnabled,omitempty"`
}

// Member is one operator.
type Member struct {
	// Name is the operator's login, and the key of their token in the LiveChat's
	// tokens Secret.
	Name OperatorName `json:"name"`

	// DisplayName shown to visitors and colleagues.
	// +kubebuilder:validation:MaxLength=128
	// +optional
	DisplayName string `json:"displayName,omitempty"`

	// Email address for email notifications.
	// +kubebuilder:validation:MaxLength=254
	// +kubebuilder:validation:Pattern=`^[^@\s]+@[^@\s]+\.[^@\s]+$`
	// +optional
	Email string `json:"email,omitempty"`

	// Phone number in E.164 form, for example +4915112345678, for SMS notifications.
	// +kubebuilder:validation:MaxLength=16
	// +kubebuilder:validation:Pattern=`^\+[1-9][0-9]{6,14}$`
	// +optional
	Phone string `json:"phone,omitempty"`

	// AvatarURL is the operator's profile image, shown to visitors and available to
	// notification templates as {sender_profile_image}.
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https']",message="must be an absolute http:// or https:// URL of an image"
	// +optional
	AvatarURL string `json:"avatarURL,omitempty"`

	// MaxChats overrides the LiveChat's simultaneousChats for this operator.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +optional
	MaxChats *int32 `json:"maxChats,omitempty"`

	// Skills of the operator, free-form labels such as "billing" or "de".
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +kubebuilder:validation:items:MaxLength=63
	// +optional
	Skills []string `json:"skills,omitempty"`

	// Notifications are the operator's personal preferences. An opt-out here always
	// wins over any policy: a policy can mute, never force.
	// +optional
	Notifications *MemberNotifications `json:"notifications,omitempty"`

	// PushUserID identifies the operator at the push providers (Pusher Beams user id,
	// OneSignal external id); the operator name when unset.
	// +kubebuilder:validation:MaxLength=164
	// +optional
	PushUserID string `json:"pushUserID,omitempty"`
}

// MemberNotifications are one operator's notification preferences.
type MemberNotifications struct {
	// Enabled false opts the operator out of every notification.
	// +kubebuilder:default=true
	// +optional
	Enabled *bool `json:"enabled,omitempty"`

	// OptOuts silence some events on some delivery kinds.
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=32
	// +optional
	OptOuts []NotificationOptOut `json:"optOuts,omitempty"`
}

// NotificationOptOut silences events on delivery kinds. An empty list means all.
// +kubebuilder:validation:XValidation:rule="(has(self.events) && size(self.events) > 0) || (has(self.via) && size(self.via) > 0)",message="name at least one event or one delivery kind; to opt out of everything set notifications.enabled to false"
type NotificationOptOut struct {
	// Events to silence; all events when empty.
	// +listType=set
	// +kubebuilder:validation:MaxItems=32
	// +optional
	Events []EventType `json:"events,omitempty"`

	// Via are the delivery kinds to silence; all kinds when empty.
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	// +optional
	Via []DeliveryKind `json:"via,omitempty"`
}

// OperatorGroupStatus is the observed state of an OperatorGroup.
type OperatorGroupStatus struct {
	// ObservedGeneration is the generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Conditions: Ready; InUse, False when nothing uses the group, so its members
	// are in no queue.
	// +listType=map
	// +listMapKey=type
	// +patchStrategy=merge
	// +patchMergeKey=type
	// +kubebuilder:validation:MaxItems=16
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty" patchStrategy:"merge" patchMergeKey:"type"`

	// Members counts the group's members.
	// +optional
	Members int32 `json:"members,omitempty"`
}

// OperatorGroup is a set of operators (human agents) that queues and LiveChats
// reference, as operators or as supervisors.
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=og,categories=switchboard
// +kubebuilder:printcolumn:name="Members",type=integer,JSONPath=`.status.members`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type OperatorGroup struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   OperatorGroupSpec   `json:"spec,omitempty"`
	Status OperatorGroupStatus `json:"status,omitempty"`
}

// OperatorGroupList is a list of OperatorGroups.
// +kubebuilder:object:root=true
type OperatorGroupList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []OperatorGroup `json:"items"`
}

func init() {
	SchemeBuilder.Register(&OperatorGroup{}, &OperatorGroupList{})
}
