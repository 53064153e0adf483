package controllers

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kerrors "k8s.io/apimachinery/pkg/util/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// maxProblemsInMessage bounds condition messages; the rest is counted.
const maxProblemsInMessage = 5

// statusFields points at the two status fields every switchboard kind has.
type statusFields struct {
	observedGeneration *int64
	conditions         *[]metav1.Condition
}

// applyConditions makes the operator-owned conditions of a status equal to want:
// each type in owned is set when it is in want and removed when it is not. Conditions
// owned by others (the runtime's Connected) are left alone, and an unchanged
// condition keeps its lastTransitionTime, so an unchanged state writes nothing.
func applyConditions(conds *[]metav1.Condition, owned []string, want []metav1.Condition) {
	for _, t := range owned {
		found := false
		for _, c := range want {
			if c.Type == t {
				meta.SetStatusCondition(conds, c)
				found = true
			}
		}
		if !found {
			meta.RemoveStatusCondition(conds, t)
		}
	}
}

// writeStatus is the one deferred status write of a reconcile. observedGeneration
// advances only when the reconcile succeeded, so a failed one reads as in progress.
// The patch carries the resourceVersion: if the runtime wrote its own conditions in the
// meantime the patch fails, and the retry starts from the fresh object.
func writeStatus(ctx context.Context, c client.Client, before, after client.Object, fields statusFields, reconcileErr error) error {
	if reconcileErr == nil {
		*fields.observedGeneration = after.GetGeneration()
	}
	if equality.Semantic.DeepEqual(before, after) {
		return reconcileErr
	}
	err := c.Status().Patch(ctx, after, client.MergeFromWithOptions(before, client.MergeFromWithOptimisticLock{}))
	if err != nil {
		err = fmt.Errorf("writing status: %w", err)
	}
	return kerrors.NewAggregate([]error{reconcileErr, err})
}

// condition builds a condition for generation.
func condition(t string, status bool, reason, message string, generation int64) metav1.Condition {
	s := metav1.ConditionFalse
	if status {
		s = metav1.ConditionTrue
	}
	return metav1.Condition{Type: t, Status: s, Reason: reason, Message: message, ObservedGeneration: generation}
}

// dependentOwned are the conditions the operator owns on ChatQueues, Channels,
// OperatorGroups and NotificationPolicies.
var dependentOwned = []string{chatv1alpha1.ConditionReady, chatv1alpha1.ConditionResolvedRefs, chatv1alpha1.ConditionStalled,
	chatv1alpha1.ConditionReconciling}

// dependentConditions computes the conditions of an object that references others:
// ResolvedRefs from the reference problems, Ready and Stalled from all of them.
func dependentConditions(generation int64, problems config.Problems, readyMessage string) []metav1.Condition {
	refs := problems.References()
	var out []metav1.Condition
	if len(refs) == 0 {
		out = append(out, condition(chatv1alpha1.ConditionResolvedRefs, true, chatv1alpha1.ReasonRefsResolved,
			"every referenced object exists", generation))
	} else {
		out = append(out, condition(chatv1alpha1.ConditionResolvedRefs, false, refs[0].Reason,
			refs.DetailSummary(maxProblemsInMessage), generation))
	}
	if len(problems) == 0 {
		return append(out, condition(chatv1alpha1.ConditionReady, true, chatv1alpha1.ReasonReconciled, readyMessage, generation))
	}
	msg := problems.DetailSummary(maxProblemsInMessage)
	return append(out,
		condition(chatv1alpha1.ConditionReady, false, problems[0].Reason, msg, generation),
		condition(chatv1alpha1.ConditionStalled, true, problems[0].Reason, msg, generation))
}
