package v1alpha1

import (
	"k8s.io/apimachinery/pkg/api/resource"
)

// AttachmentsSpec bounds the files contacts and operators exchange. The runtime keeps
// each file in its store, so the limit weighs on the database too.
// +kubebuilder:validation:XValidation:rule="!has(self.maxSize) || (quantity(string(self.maxSize)).compareTo(quantity('1Ki')) >= 0 && quantity(string(self.maxSize)).compareTo(quantity('100Mi')) <= 0)",message="maxSize must be between 1Ki and 100Mi, for example 20Mi",fieldPath=".maxSize"
type AttachmentsSpec struct {
	// MaxSize is the largest file kept, from a contact or an operator. A larger file
	// from a contact is not kept: its message is, with a note saying why.
	// +kubebuilder:default="20Mi"
	// +optional
	MaxSize *resource.Quantity `json:"maxSize,omitempty"`

	// AllowedContentTypes are the media types of the files kept, as sniffed from their
	// bytes: exact types such as image/png, or a whole family such as image/*. A file
	// of another type is not kept: its message is, with a note saying why.
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:items:MaxLength=127
	// +kubebuilder:validation:XValidation:rule="self.all(t, t.matches('^[a-z0-9][a-z0-9.+-]*/([a-z0-9][a-z0-9.+-]*|[*])$'))",message="each entry must be a lowercase media type without parameters, such as image/png, or a family such as image/*"
	// +kubebuilder:default={"image/jpeg","image/png","image/gif","image/webp","application/pdf","audio/ogg","audio/mpeg","audio/mp4","video/mp4","text/plain"}
	// +optional
	AllowedContentTypes []string `json:"allowedContentTypes,omitempty"`
}
