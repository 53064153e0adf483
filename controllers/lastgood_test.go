package controllers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// servedQueue is the queue the rendered configuration routes a channel to; "" when
// the channel is not in it.
func servedQueue(t *testing.T, ns, channel string) string {
	t.Helper()
	for _, c := range compiledConfig(t, ns).Channels {
		if c.Name == channel {
			return c.Queue
		}
	}
	return ""
}

// servingLastGood waits until the website channel is served on queue in its last good
// generation served, while its generation current is held back, and says so.
func servingLastGood(t *testing.T, ns string, served, current int64) {
	t.Helper()
	eventually(t, settle, func() (bool, string) {
		if q := servedQueue(t, ns, "website"); q != "first-line" {
			return false, fmt.Sprintf("website is served on %q, want its last good version on first-line", q)
		}
		ch := get(t, ns, "website", &chatv1alpha1.Channel{}).(*chatv1alpha1.Channel)
		ready := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionReady)
		stalled := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionStalled)
		want := fmt.Sprintf("generation %d does not compile, so the runtime keeps serving generation %d", current, served)
		if ready == nil || ready.Status != metav1.ConditionFalse || ready.Reason != chatv1alpha1.ReasonServingLastGood ||
			!strings.Contains(ready.Message, want) || !strings.Contains(ready.Message, `ChatQueue "second-line" does not exist`) ||
			ready.ObservedGeneration != current || stalled == nil || stalled.Status != metav1.ConditionTrue {
			return false, "website conditions: " + conditionsString(ch.Status.Conditions)
		}
		lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
		wantHeld := []chatv1alpha1.HeldBackObject{{Kind: "Channel", Name: "website", ServedGeneration: served, Generation: current}}
		lcReady := meta.FindStatusCondition(lc.Status.Conditions, chatv1alpha1.ConditionReady)
		if fmt.Sprint(lc.Status.HeldBack) != fmt.Sprint(wantHeld) || lcReady == nil ||
			!strings.Contains(lcReady.Message, fmt.Sprintf("the last good generation of Channel website (generation %d)", served)) {
			return false, fmt.Sprintf("LiveChat heldBack %+v, conditions %s", lc.Status.HeldBack, conditionsString(lc.Status.Conditions))
		}
		return true, ""
	})
}

// An edit of a Channel that does not compile never takes it out of the runtime: the
// configuration keeps its last good generation, across operator restarts, until the
// edit is fixed; deleting it still deletes it.
func TestAnEditThatDoesNotCompileKeepsTheLastGoodGeneration(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	objs := samples(t, ns)
	create(t, objs...)
	allReady(t, objs, settle)
	good := get(t, ns, "website", &chatv1alpha1.Channel{}).GetGeneration()

	mutate(t, ns, "website", &chatv1alpha1.Channel{}, func(c *chatv1alpha1.Channel) { c.Spec.QueueRef.Name = "second-line" })
	bad := get(t, ns, "website", &chatv1alpha1.Channel{}).GetGeneration()
	servingLastGood(t, ns, good, bad)

	t.Run("an operator restart keeps serving it", func(t *testing.T) {
		if err := operator.Stop(); err != nil {
			t.Fatal(err)
		}
		var err error
		if operator, err = env.StartOperator(controllers.RuntimeOptions{Image: testImage}); err != nil {
			t.Fatal(err)
		}
		// A change elsewhere makes the new operator compile the LiveChat afresh.
		mutate(t, ns, "accounting", &chatv1alpha1.ChatQueue{}, func(q *chatv1alpha1.ChatQueue) { q.Spec.DisplayName = "Invoices" })
		eventually(t, settle, func() (bool, string) {
			for _, q := range compiledConfig(t, ns).Queues {
				if q.Name == "accounting" && q.DisplayName == "Invoices" {
					return true, ""
				}
			}
			return false, "the new operator has not rendered the change to accounting"
		})
		servingLastGood(t, ns, good, bad)
	})

	t.Run("fixing the edit applies it", func(t *testing.T) {
		mutate(t, ns, "website", &chatv1alpha1.Channel{}, func(c *chatv1alpha1.Channel) { c.Spec.QueueRef.Name = "accounting" })
		allReady(t, objs, settle)
		eventually(t, settle, func() (bool, string) {
			lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			q := servedQueue(t, ns, "website")
			return q == "accounting" && len(lc.Status.HeldBack) == 0, fmt.Sprintf("website on %q, held back %+v", q, lc.Status.HeldBack)
		})
	})

	t.Run("deleting an object held back deletes it", func(t *testing.T) {
		mutate(t, ns, "website", &chatv1alpha1.Channel{}, func(c *chatv1alpha1.Channel) { c.Spec.QueueRef.Name = "second-line" })
		eventually(t, settle, func() (bool, string) {
			lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			return len(lc.Status.HeldBack) == 1, fmt.Sprintf("held back %+v", lc.Status.HeldBack)
		})
		if err := env.Client.Delete(ctx, get(t, ns, "website", &chatv1alpha1.Channel{})); err != nil {
			t.Fatal(err)
		}
		eventually(t, settle, func() (bool, string) {
			lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			q := servedQueue(t, ns, "website")
			return q == "" && len(lc.Status.HeldBack) == 0, fmt.Sprintf("website served on %q, held back %+v", q, lc.Status.HeldBack)
		})
		cm := get(t, ns, controllers.LastGoodConfigMapName("support"), &corev1.ConfigMap{}).(*corev1.ConfigMap)
		lg, err := config.ParseLastGood([]byte(cm.Data[controllers.LastGoodKey]))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range lg.Objects {
			if o.Kind == "Channel" && o.Name == "website" {
				t.Error("the deleted channel is still remembered")
			}
		}
	})
}
