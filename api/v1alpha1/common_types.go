package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// LocalObjectReference names an object of a known kind in the same namespace.
type LocalObjectReference struct {
	// Name of the referenced object in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be the name of an object in this namespace: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, for example first-line"
	Name string `json:"name"`
}

// LiveChatReference names the LiveChat an object belongs to, in the same namespace.
type LiveChatReference struct {
	// Name of the LiveChat in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=50
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="must name a LiveChat: lowercase letters, digits or '-', starting with a letter, for example support"
	Name string `json:"name"`
}

// SecretKeyReference selects one key of a Secret in the same namespace. Only the
// reference is ever stored in switchboard objects and compiled configuration; the
// value is read by the runtime that needs it.
type SecretKeyReference struct {
	// Name of the Secret in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be a Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, for example smtp-credentials"
	Name string `json:"name"`

	// Key within the Secret's data.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[-._a-zA-Z0-9]+$')",message="must be a key of the Secret: letters, digits, '-', '_' or '.', for example token"
	Key string `json:"key"`
}

// SecretReference names a whole Secret in the same namespace.
type SecretReference struct {
	// Name of the Secret in the same namespace.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be a Secret name: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, for example smtp-credentials"
	Name string `json:"name"`
}

// ObjectName is the name of another switchboard object in the same namespace.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",message="must be the name of an object in this namespace: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit, for example first-line"
type ObjectName string

// OperatorName is an operator's login: the member name in an OperatorGroup and
// the key of the operator's token in the LiveChat's tokens Secret.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=63
// +kubebuilder:validation:XValidation:rule="self.matches('^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$')",message="must be an operator login: lowercase letters, digits, '-', '.' or '_', starting and ending with a letter or digit, for example alice"
type OperatorName string

// WebhookEndpoint is an HTTP endpoint switchboard calls, signing each request body
// with HMAC-SHA256 when a signing secret is given.
type WebhookEndpoint struct {
	// URL to POST to. Must be an absolute http or https URL.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && url(self).getScheme() in ['http', 'https']",message="must be an absolute http:// or https:// URL"
	URL string `json:"url"`

	// SecretRef selects the HMAC-SHA256 signing key. The signature of the body is sent
	// in the X-Switchboard-Signature header as "sha256=<hex>".
	// +optional
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`

	// Timeout of one call.
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$`
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('2m')",message="must be between 1s and 2m"
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}
