package controllers_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// rendered lists what the operator made for LiveChats in ns.
func rendered(t *testing.T, ns string) []client.Object {
	t.Helper()
	var out []client.Object
	for _, list := range []client.ObjectList{&corev1.ConfigMapList{}, &corev1.ServiceAccountList{}, &rbacv1.RoleList{},
		&rbacv1.RoleBindingList{}, &corev1.PersistentVolumeClaimList{}, &appsv1.DeploymentList{}, &corev1.ServiceList{},
		&policyv1.PodDisruptionBudgetList{}} {
		if err := env.Client.List(context.Background(), list, client.InNamespace(ns),
			client.MatchingLabels{"app.kubernetes.io/managed-by": "switchboard-operator"}); err != nil {
			t.Fatal(err)
		}
		items, err := meta.ExtractList(list)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range items {
			out = append(out, i.(client.Object))
		}
	}
	return out
}

// TestDeletingTheLiveChatFirstOrphansNothing: teardown in the order a GitOps tool
// prunes (the LiveChat first, or everything at once) leaves nothing behind. Every
// object the operator rendered is owned by the LiveChat, so the cluster's garbage
// collector (which envtest does not run) deletes it with the LiveChat; nothing holds the
// LiveChat back, the operator renders nothing more for it, and the objects that named it
// say so and can be deleted in turn.
func TestDeletingTheLiveChatFirstOrphansNothing(t *testing.T) {
	ns := env.Namespace(t)
	objs := samples(t, ns)
	create(t, objs...)
	allReady(t, objs, settle)
	lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
	before := rendered(t, ns)
	if len(before) < 7 {
		t.Fatalf("the operator rendered %d objects, want the runtime's seven at least", len(before))
	}
	owned := func(o client.Object) bool {
		for _, ref := range o.GetOwnerReferences() {
			if ref.UID == lc.UID && ref.Kind == "LiveChat" {
				return true
			}
		}
		return false
	}
	for _, o := range before {
		if !owned(o) {
			t.Errorf("%T %s is not owned by the LiveChat: it would outlive it", o, o.GetName())
		}
	}

	if err := env.Client.Delete(context.Background(), lc); err != nil {
		t.Fatal(err)
	}
	eventually(t, settle, func() (bool, string) {
		err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(lc), &chatv1alpha1.LiveChat{})
		return apierrors.IsNotFound(err), fmt.Sprintf("the LiveChat is still there: %v", err)
	})
	// The objects that named it say so.
	for _, o := range []client.Object{&chatv1alpha1.ChatQueue{}, &chatv1alpha1.Channel{}, &chatv1alpha1.NotificationPolicy{}} {
		name := map[bool]string{true: "support-notifications", false: "first-line"}[fmt.Sprintf("%T", o) == "*v1alpha1.NotificationPolicy"]
		if _, ok := o.(*chatv1alpha1.Channel); ok {
			name = "website"
		}
		eventually(t, settle, func() (bool, string) {
			get(t, ns, name, o)
			c := meta.FindStatusCondition(conditionsOf(o), chatv1alpha1.ConditionReady)
			return c != nil && c.Reason == chatv1alpha1.ReasonLiveChatNotFound, fmt.Sprintf("%T %s Ready %+v", o, name, c)
		})
	}
	// Nothing new is rendered for the deleted LiveChat.
	time.Sleep(2 * time.Second)
	after := rendered(t, ns)
	if len(after) != len(before) {
		t.Errorf("%d objects rendered after the LiveChat went, %d before", len(after), len(before))
	}
	for _, o := range after {
		if !owned(o) {
			t.Errorf("%T %s appeared without the deleted LiveChat as its owner", o, o.GetName())
		}
	}
	// The rest is deleted as a GitOps tool prunes it.
	for _, o := range objs {
		if _, isLiveChat := o.(*chatv1alpha1.LiveChat); isLiveChat {
			continue
		}
		if err := env.Client.Delete(context.Background(), o); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	eventually(t, settle, func() (bool, string) {
		for _, o := range objs {
			err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o.DeepCopyObject().(client.Object))
			if !apierrors.IsNotFound(err) {
				return false, fmt.Sprintf("%T %s is still there: %v", o, o.GetName(), err)
			}
		}
		return true, ""
	})
}
