// Package controllers holds one reconciler per switchboard kind and the helpers they
// share. The RBAC markers here are the operator's whole set of permissions; controller-gen
// turns them into config/rbac.
package controllers

// The switchboard kinds: read spec, write status, never write spec.
// +kubebuilder:rbac:groups=chat.switchboard.dev,resources=livechats;chatqueues;channels;operatorgroups;notificationpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=chat.switchboard.dev,resources=livechats/status;chatqueues/status;channels/status;operatorgroups/status;notificationpolicies/status,verbs=get;patch

// Events for changes a user should see, and the leader election lease.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups="",resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update

// What a LiveChat renders, and the Secrets (cached as key names only) that references
// resolve to. Children are written by server-side apply only (create and patch) and
// removed by owner references, except a PodDisruptionBudget that is no longer wanted.
// The operator holds every permission it grants a runtime's Role, as RBAC requires of
// whoever writes a Role.
// +kubebuilder:rbac:groups="",resources=configmaps;serviceaccounts;services;persistentvolumeclaims,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=get;list;watch;create;patch;delete
