package controllers

import (
	"errors"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// liveChatOwned are the conditions the operator owns on a LiveChat.
var liveChatOwned = []string{chatv1alpha1.ConditionReady, chatv1alpha1.ConditionReconciling, chatv1alpha1.ConditionStalled,
	chatv1alpha1.ConditionAvailable}

// rollout summarises the runtime Deployment as seen in the cache.
type rollout struct {
	exists    bool
	observed  bool // the Deployment controller has seen the current spec
	desired   int32
	updated   int32
	ready     int32
	available int32
	total     int32 // pods of any revision
	// availableCond is the Deployment's own Available condition.
	availableCond bool
}

func rolloutOf(d *appsv1.Deployment, desired int32) rollout {
	if d == nil {
		return rollout{desired: desired}
	}
	r := rollout{exists: true, desired: desired, observed: d.Status.ObservedGeneration >= d.Generation,
		updated: d.Status.UpdatedReplicas, ready: d.Status.ReadyReplicas, available: d.Status.AvailableReplicas,
		total: d.Status.Replicas}
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			r.availableCond = true
		}
	}
	return r
}

// done reports whether every desired replica runs the current spec and is available,
// and no pod of an older revision is left.
func (r rollout) done() bool {
	return r.exists && r.observed && r.updated >= r.desired && r.available >= r.desired && r.total <= r.updated
}

func (r rollout) String() string {
	return fmt.Sprintf("%d of %d runtime replicas updated, %d available", r.updated, r.desired, r.available)
}

// liveChatConditions computes a LiveChat's conditions from its compile problems, the
// objects served in their last good generation, and its runtime rollout: Stalled for
// problems a user must fix, Reconciling while the runtime rolls out, Ready when both
// are done, Available while the runtime serves.
func liveChatConditions(generation int64, revision string, problems config.Problems, held []chatv1alpha1.HeldBackObject, ro rollout) []metav1.Condition {
	var out []metav1.Condition
	switch {
	case ro.desired == 0:
		out = append(out, condition(chatv1alpha1.ConditionAvailable, false, "ScaledToZero",
			"spec.runtime.replicas is 0: no runtime serves this LiveChat", generation))
	case ro.availableCond || (ro.exists && ro.available > 0):
		out = append(out, condition(chatv1alpha1.ConditionAvailable, true, chatv1alpha1.ReasonDeploymentAvailable,
			fmt.Sprintf("%d runtime replicas available", ro.available), generation))
	default:
		out = append(out, condition(chatv1alpha1.ConditionAvailable, false, chatv1alpha1.ReasonDeploymentNotReady,
			"no runtime replica is available yet", generation))
	}
	if len(problems) > 0 {
		reason, served := chatv1alpha1.ReasonCompileFailed, "every part that compiled"
		if len(held) > 0 {
			served += " and, in place of their current one, the last good generation of " + describeHeldBack(held)
		}
		for _, h := range held {
			if h.Kind == "LiveChat" {
				reason = chatv1alpha1.ReasonServingLastGood
			}
		}
		msg := "the runtime serves " + served + "; fix these to compile the rest: " + problems.Summary(maxProblemsInMessage)
		return append(out,
			condition(chatv1alpha1.ConditionStalled, true, reason, msg, generation),
			condition(chatv1alpha1.ConditionReady, false, reason, msg, generation))
	}
	if ro.desired > 0 && !ro.done() {
		msg := "rolling out the runtime: " + ro.String()
		return append(out,
			condition(chatv1alpha1.ConditionReconciling, true, chatv1alpha1.ReasonRollingOut, msg, generation),
			condition(chatv1alpha1.ConditionReady, false, chatv1alpha1.ReasonRollingOut, msg, generation))
	}
	return append(out, condition(chatv1alpha1.ConditionReady, true, chatv1alpha1.ReasonReconciled,
		fmt.Sprintf("configuration %s rendered; %d runtime replicas ready", revision, ro.ready), generation))
}

// suspendedConditions leave Available as it is: the runtime keeps serving.
func suspendedConditions(generation int64) []metav1.Condition {
	return []metav1.Condition{condition(chatv1alpha1.ConditionReady, false, chatv1alpha1.ReasonSuspended,
		"spec.suspend is true: the operator leaves the runtime as it is; set it to false to resume", generation)}
}

// applyFailedConditions report an error applying the rendered objects. The reconcile
// is retried with backoff. An object the API server refuses as invalid or forbidden
// will be refused again until someone changes something, so that is Stalled rather
// than Reconciling: kstatus then reports Failed instead of progress that never ends.
func applyFailedConditions(generation int64, err error) []metav1.Condition {
	if apierrors.IsInvalid(err) || apierrors.IsForbidden(err) {
		msg := "the API server refuses the runtime objects; change the LiveChat (or the permissions) so they are accepted: " +
			refusal(err)
		return []metav1.Condition{
			condition(chatv1alpha1.ConditionStalled, true, chatv1alpha1.ReasonApplyRefused, msg, generation),
			condition(chatv1alpha1.ConditionReady, false, chatv1alpha1.ReasonApplyRefused, msg, generation),
		}
	}
	msg := "applying the runtime objects failed, retrying: " + err.Error()
	return []metav1.Condition{
		condition(chatv1alpha1.ConditionReconciling, true, chatv1alpha1.ReasonApplyFailed, msg, generation),
		condition(chatv1alpha1.ConditionReady, false, chatv1alpha1.ReasonApplyFailed, msg, generation),
	}
}

// maxRefusalCause bounds each cause of a refusal in a message: the API server quotes
// whole object specs in some of them.
const maxRefusalCause = 240

// refusal is what the API server refused, cause by cause, without the specs it quotes.
func refusal(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Details == nil || len(status.Status().Details.Causes) == 0 {
		return err.Error()
	}
	d := status.Status().Details
	causes := make([]string, 0, len(d.Causes))
	for _, c := range d.Causes {
		msg := c.Message
		if len(msg) > maxRefusalCause {
			msg = msg[:maxRefusalCause] + "…"
		}
		causes = append(causes, c.Field+": "+msg)
	}
	return fmt.Sprintf("%s %q: %s", d.Kind, d.Name, strings.Join(causes, "; "))
}
