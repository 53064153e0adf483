// Package v1alpha1 holds the switchboard API: LiveChat, ChatQueue, Channel,
// OperatorGroup and NotificationPolicy in group chat.switchboard.dev.
//
// +kubebuilder:object:generate=true
// +groupName=chat.switchboard.dev
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of every switchboard kind.
	GroupVersion = schema.GroupVersion{Group: "chat.switchboard.dev", Version: "v1alpha1"}

	// SchemeBuilder registers the switchboard kinds with a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds the switchboard kinds to a scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
