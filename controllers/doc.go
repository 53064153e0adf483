// Package controllers holds one reconciler per switchboard kind and the helpers they
// share. The RBAC markers here are the operator's whole set of permissions; controller-gen
// turns them into config/rbac.
package controllers

// The switchboard kinds: read spec, write status, never write spec.
// +kubebuilder:rbac:groups=chat.switchboard.dev,resources=livechats;chatqueues;channels;operatorgroups;notificationpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=chat.switchboard.dev,resources=livechats/status;chatqueues/status;channels/status;operatorgroups/status;notificationpolicies/status,verbs=get;update;patch

// Events for changes a user should see, and the leader election lease.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;update;patch;delete
