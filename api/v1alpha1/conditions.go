package v1alpha1

// Condition types. Ready, Reconciling and Stalled follow kstatus, so Argo CD and Flux
// read the health of every switchboard object without custom health checks.
const (
	// ConditionReady is True when the object is fully reconciled and working.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the operator or a rollout is still working
	// towards the desired state; it is removed when the work is done.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when progress needs a change by the user; the message
	// says what to change.
	ConditionStalled = "Stalled"
	// ConditionAvailable is True when the LiveChat's runtime serves traffic.
	ConditionAvailable = "Available"
	// ConditionResolvedRefs is True when every object this one references exists.
	ConditionResolvedRefs = "ResolvedRefs"
	// ConditionInUse is an OperatorGroup's: True when a ChatQueue, a LiveChat's
	// supervisorGroups, an Internal channel's clientGroups or a NotificationPolicy's
	// recipients use the group. False means its members are in no queue and get no
	// chats; it does not make the group unhealthy.
	ConditionInUse = "InUse"
)

// Condition reasons, CamelCase as Kubernetes conventions require.
const (
	ReasonUsed                 = "Used"
	ReasonNotInAnyQueue        = "NotInAnyQueue"
	ReasonReconciled           = "Reconciled"
	ReasonRefsResolved         = "RefsResolved"
	ReasonLiveChatNotFound     = "LiveChatNotFound"
	ReasonQueueNotFound        = "QueueNotFound"
	ReasonGroupNotFound        = "OperatorGroupNotFound"
	ReasonChannelNotFound      = "ChannelNotFound"
	ReasonSecretNotFound       = "SecretNotFound"
	ReasonSecretKeyNotFound    = "SecretKeyNotFound"
	ReasonInvalidReference     = "InvalidReference"
	ReasonRefusedBySchema      = "RefusedBySchema"
	ReasonCompileFailed        = "CompileFailed"
	ReasonNoOperators          = "NoOperators"
	ReasonOperatorWithoutToken = "OperatorWithoutToken"
	ReasonUnknownMergeField    = "UnknownMergeField"
	ReasonPublicURLRequired    = "PublicURLRequired"
	ReasonInvalidRecipients    = "InvalidRecipients"
	ReasonInvalidTimeZone      = "InvalidTimeZone"
	ReasonSuspended            = "Suspended"
	ReasonRollingOut           = "RollingOut"
	ReasonDeploymentAvailable  = "DeploymentAvailable"
	ReasonDeploymentNotReady   = "DeploymentNotReady"
	ReasonApplyFailed          = "ApplyFailed"
	ReasonApplyRefused         = "ApplyRefused"
	// ReasonServingLastGood: the current generation does not compile, so the runtime
	// configuration keeps the last generation that did.
	ReasonServingLastGood = "ServingLastGood"
)
