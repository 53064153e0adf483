package controllers_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// TestSteadyStateMakesNoWrites watches everything the operator could touch in the
// namespace for five seconds after the platform is Ready: not one change may happen,
// and the operator may send no write request at all.
func TestSteadyStateMakesNoWrites(t *testing.T) {
	ns := env.Namespace(t)
	objs := samples(t, ns)
	create(t, objs...)
	allReady(t, objs, settle)
	time.Sleep(time.Second) // let the last status writes and their echoes pass

	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var changes atomic.Int64
	var last atomic.Value
	lists := []client.ObjectList{&chatv1alpha1.LiveChatList{}, &chatv1alpha1.ChatQueueList{}, &chatv1alpha1.ChannelList{},
		&chatv1alpha1.OperatorGroupList{}, &chatv1alpha1.NotificationPolicyList{}, &corev1.ConfigMapList{},
		&corev1.ServiceList{}, &corev1.ServiceAccountList{}, &corev1.PersistentVolumeClaimList{}, &appsv1.DeploymentList{},
		&rbacv1.RoleList{}, &rbacv1.RoleBindingList{}, &eventsv1.EventList{}}
	for _, l := range lists {
		if err := wc.List(ctx, l, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		w, err := wc.Watch(ctx, l, client.InNamespace(ns), &client.ListOptions{Raw: rawFrom(l)})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			for ev := range w.ResultChan() {
				if ev.Type == watch.Bookmark {
					continue
				}
				changes.Add(1)
				if o, ok := ev.Object.(client.Object); ok {
					last.Store(fmt.Sprintf("%s %T %s", ev.Type, o, o.GetName()))
				}
			}
		}()
		defer w.Stop()
	}
	writesBefore := operator.Writes.Writes()
	time.Sleep(5 * time.Second)
	if n := changes.Load(); n != 0 {
		t.Errorf("%d changes in 5s of steady state, the last: %v", n, last.Load())
	}
	if n := operator.Writes.Writes() - writesBefore; n != 0 {
		t.Errorf("the operator sent %d write requests in 5s of steady state", n)
	}
}

func rawFrom(l client.ObjectList) *metav1.ListOptions {
	return &metav1.ListOptions{ResourceVersion: l.GetResourceVersion()}
}
