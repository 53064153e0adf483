package controllers_test

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// kstatusOf computes what Argo CD, Flux and kubectl wait see for an object.
func kstatusOf(t *testing.T, obj client.Object) status.Status {
	t.Helper()
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(obj), obj); err != nil {
		t.Fatal(err)
	}
	u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		t.Fatal(err)
	}
	res, err := status.Compute(&unstructured.Unstructured{Object: u})
	if err != nil {
		t.Fatal(err)
	}
	return res.Status
}

func TestKstatus(t *testing.T) {
	t.Run("healthy objects of every kind are Current", func(t *testing.T) {
		ns := env.Namespace(t)
		objs := samples(t, ns)
		create(t, objs...)
		allReady(t, objs, settle)
		for _, o := range switchboardObjects(objs) {
			if s := kstatusOf(t, o); s != status.CurrentStatus {
				t.Errorf("%T %s is %s, want Current", o, o.GetName(), s)
			}
		}
	})

	t.Run("a LiveChat whose runtime is rolling out is InProgress, then Current", func(t *testing.T) {
		ns := env.Namespace(t)
		operator.Deployments.Hold(ns)
		objs := samples(t, ns)
		create(t, objs...)
		lc := &chatv1alpha1.LiveChat{}
		lc.Name, lc.Namespace = "support", ns
		eventually(t, settle, func() (bool, string) {
			s := kstatusOf(t, lc)
			return s == status.InProgressStatus && lc.Status.ConfigRevision != "", "status " + string(s)
		})
		operator.Deployments.Release(ns)
		eventually(t, settle, func() (bool, string) {
			s := kstatusOf(t, lc)
			return s == status.CurrentStatus, "status " + string(s)
		})
	})

	t.Run("objects stalled on a missing Secret are Failed", func(t *testing.T) {
		ns := env.Namespace(t)
		var objs []client.Object
		for _, o := range samples(t, ns) {
			if s, ok := o.(*corev1.Secret); ok && s.Name == "twilio" {
				continue
			}
			objs = append(objs, o)
		}
		create(t, objs...)
		for _, o := range []client.Object{
			&chatv1alpha1.NotificationPolicy{}, &chatv1alpha1.LiveChat{},
		} {
			o.SetNamespace(ns)
			o.SetName(map[bool]string{true: "support", false: "support-notifications"}[isLiveChat(o)])
			eventually(t, settle, func() (bool, string) {
				s := kstatusOf(t, o)
				return s == status.FailedStatus, string(s)
			})
		}
	})
}

func isLiveChat(o client.Object) bool {
	_, ok := o.(*chatv1alpha1.LiveChat)
	return ok
}
