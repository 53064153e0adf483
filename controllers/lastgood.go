package controllers

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// The last good version of every object a LiveChat's configuration was compiled from
// is kept in a ConfigMap of the LiveChat's, beside the configuration: so an edit that
// does not compile never takes an object out of the runtime, across operator restarts
// too. The runtime never reads it; deleting it forgets the versions (the next
// reconcile records the current ones that compile).
const (
	lastGoodSuffix = "-last-good"
	LastGoodKey    = "last-good.json"
)

// LastGoodConfigMapName is the ConfigMap holding a LiveChat's last good versions.
func LastGoodConfigMapName(lc string) string { return lc + lastGoodSuffix }

// lastGood reads a LiveChat's record from the cache; empty when there is none yet.
// A record that cannot be read is started afresh, which only forgets.
func (r *LiveChatReconciler) lastGood(ctx context.Context, lc *chatv1alpha1.LiveChat) (config.LastGood, error) {
	lg, err := readLastGood(ctx, r.Client, lc.Namespace, lc.Name)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "reading the last good versions; starting afresh", "configMap", LastGoodConfigMapName(lc.Name))
		return config.LastGood{}, nil
	}
	return lg, nil
}

func readLastGood(ctx context.Context, c client.Reader, ns, lc string) (config.LastGood, error) {
	var cm corev1.ConfigMap
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: LastGoodConfigMapName(lc)}, &cm); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return config.LastGood{}, nil
		}
		return config.LastGood{}, err
	}
	return config.ParseLastGood([]byte(cm.Data[LastGoodKey]))
}

// applyLastGood records what the configuration was compiled from.
func (r *LiveChatReconciler) applyLastGood(ctx context.Context, lc *chatv1alpha1.LiveChat, lg config.LastGood) error {
	cm := corev1ac.ConfigMap(LastGoodConfigMapName(lc.Name), lc.Namespace).WithLabels(runtimeLabels(lc.Name)).
		WithData(map[string]string{LastGoodKey: string(lg.Marshal())})
	if lc.UID != "" {
		cm = cm.WithOwnerReferences(ownerRef(lc))
	}
	if err := r.Client.Apply(ctx, cm, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
		return fmt.Errorf("applying ConfigMap %s: %w", LastGoodConfigMapName(lc.Name), err)
	}
	return nil
}

// servedLiveChat is the LiveChat to render the runtime from: the LiveChat itself, with
// the spec of the version compiled (its last good one when its own does not compile).
func servedLiveChat(lc, compiled *chatv1alpha1.LiveChat) *chatv1alpha1.LiveChat {
	if compiled == nil || compiled == lc {
		return lc
	}
	out := lc.DeepCopy()
	out.Spec = *compiled.Spec.DeepCopy()
	return out
}

func heldBackStatus(lg config.LastGood) []chatv1alpha1.HeldBackObject {
	var out []chatv1alpha1.HeldBackObject
	for _, h := range lg.HeldBack {
		out = append(out, chatv1alpha1.HeldBackObject{Kind: h.Kind, Name: h.Name, ServedGeneration: h.ServedGeneration,
			Generation: h.Generation})
	}
	return out
}

// describeHeldBack lists held back objects for a message: "Channel website (generation 2)".
func describeHeldBack(held []chatv1alpha1.HeldBackObject) string {
	parts := make([]string, len(held))
	for i, h := range held {
		parts[i] = fmt.Sprintf("%s %s (generation %d)", h.Kind, h.Name, h.ServedGeneration)
	}
	return strings.Join(parts, ", ")
}

// servingLastGoodConditions are the Ready and Stalled conditions of an object whose
// current generation does not compile while the runtime serves an earlier one.
func servingLastGoodConditions(generation int64, h *config.HeldBack, problems config.Problems) []metav1.Condition {
	if len(problems) == 0 {
		problems = h.Problems
	}
	msg := fmt.Sprintf("generation %d does not compile, so the runtime keeps serving generation %d, the last that did; "+
		"fix this (or revert the change) to apply it: %s", generation, h.ServedGeneration, problems.DetailSummary(maxProblemsInMessage))
	return []metav1.Condition{
		condition(chatv1alpha1.ConditionReady, false, chatv1alpha1.ReasonServingLastGood, msg, generation),
		condition(chatv1alpha1.ConditionStalled, true, chatv1alpha1.ReasonServingLastGood, msg, generation),
	}
}

// heldBack returns the record's entry for obj when the runtime serves an earlier
// generation of it than the current one.
func heldBack(ctx context.Context, c client.Reader, obj client.Object) (*config.HeldBack, error) {
	lc := liveChatOf(obj)
	if lc == "" {
		return nil, nil
	}
	lg, err := readLastGood(ctx, c, obj.GetNamespace(), lc)
	if err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	h := lg.Held(kindOf(obj), obj.GetName())
	if h == nil || h.Generation != obj.GetGeneration() {
		return nil, nil
	}
	return h, nil
}

// watchLastGood wakes the objects a record holds back, and those it no longer does
// (the map sees both the old and the new ConfigMap of an update).
func watchLastGood(b *builder.Builder, kind string) *builder.Builder {
	isRecord := predicate.NewPredicateFuncs(func(o client.Object) bool { return strings.HasSuffix(o.GetName(), lastGoodSuffix) })
	return b.Watches(&corev1.ConfigMap{}, handler.EnqueueRequestsFromMapFunc(func(_ context.Context, o client.Object) []reconcile.Request {
		cm, ok := o.(*corev1.ConfigMap)
		if !ok {
			return nil
		}
		lg, err := config.ParseLastGood([]byte(cm.Data[LastGoodKey]))
		if err != nil {
			return nil
		}
		var reqs []reconcile.Request
		for _, h := range lg.HeldBack {
			if h.Kind == kind {
				reqs = append(reqs, requestFor(cm.Namespace, h.Name))
			}
		}
		return reqs
	}), builder.WithPredicates(isRecord))
}
