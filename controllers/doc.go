// Package controllers holds one reconciler per switchboard kind and the helpers they
// share. The RBAC markers here are the operator's cluster-wide permissions; controller-gen
// turns them into config/rbac/role.yaml. Each verb is one the operator sends: objects it
// caches need list and watch, never get, because reads come from the cache. The leader
// election lease and the events about it are namespaced, in the hand-written Role of
// config/rbac/leader_election_role.yaml. rbac_test.go holds the allow-list all of this
// must match.
package controllers

// The switchboard kinds: read spec, write status, never write spec.
// +kubebuilder:rbac:groups=chat.switchboard.dev,resources=livechats;chatqueues;channels;operatorgroups;notificationpolicies,verbs=list;watch
// +kubebuilder:rbac:groups=chat.switchboard.dev,resources=livechats/status;chatqueues/status;channels/status;operatorgroups/status;notificationpolicies/status,verbs=patch

// Events about LiveChats, for changes a user should see.
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// What a LiveChat renders. Children are written by server-side apply only (create and
// patch) and removed by owner references, except a PodDisruptionBudget that is no longer
// wanted. The operator holds every permission it grants a runtime's Role, as RBAC requires
// of whoever writes a Role.
// +kubebuilder:rbac:groups="",resources=configmaps;serviceaccounts;services;persistentvolumeclaims,verbs=list;watch;create;patch
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=list;watch;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=list;watch;create;patch
// +kubebuilder:rbac:groups=policy,resources=poddisruptionbudgets,verbs=list;watch;create;patch;delete

// Secrets: watched as metadata only (list, watch), so a change reaches the objects that
// reference it; a referenced Secret is read (get) for its key names. Values are never kept.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=get;list;watch

// The metrics endpoint authenticates scrapers with TokenReviews and authorizes them with
// SubjectAccessReviews.
// +kubebuilder:rbac:groups=authentication.k8s.io,resources=tokenreviews,verbs=create
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
