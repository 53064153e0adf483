package controllers_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	sampleplatform "github.com/switchboard-chat/switchboard/internal/samples"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

var (
	env      *testenv.Env
	operator *testenv.Operator
)

const testImage = "registry.example.com/switchboard:test"

func TestMain(m *testing.M) {
	var err error
	if env, err = testenv.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if operator, err = env.StartOperator(controllers.RuntimeOptions{Image: testImage}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = env.Stop()
		os.Exit(1)
	}
	code := m.Run()
	_ = operator.Stop()
	_ = env.Stop()
	os.Exit(code)
}

// samples reads config/samples, placed in namespace ns.
func samples(t *testing.T, ns string) []client.Object {
	t.Helper()
	set, err := manifests.ReadPaths(sampleplatform.Dir())
	if err != nil {
		t.Fatal(err)
	}
	var out []client.Object
	for _, o := range set.Objects {
		o.SetNamespace(ns)
		out = append(out, o.Object)
	}
	return out
}

func runtimeObjects(objs []client.Object) []runtime.Object {
	out := make([]runtime.Object, len(objs))
	for i, o := range objs {
		out[i] = o
	}
	return out
}

func create(t *testing.T, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := env.Client.Create(context.Background(), o); err != nil {
			t.Fatalf("creating %T %s: %v", o, o.GetName(), err)
		}
	}
}

// eventually polls cond until it holds or the timeout passes, then fails with the
// last thing cond said.
func eventually(t *testing.T, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("not within %s: %s", timeout, last)
}

func get(t *testing.T, ns, name string, obj client.Object) client.Object {
	t.Helper()
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
		t.Fatalf("getting %T %s: %v", obj, name, err)
	}
	return obj
}

func conditionsOf(obj client.Object) []metav1.Condition {
	switch o := obj.(type) {
	case *chatv1alpha1.LiveChat:
		return o.Status.Conditions
	case *chatv1alpha1.ChatQueue:
		return o.Status.Conditions
	case *chatv1alpha1.Channel:
		return o.Status.Conditions
	case *chatv1alpha1.OperatorGroup:
		return o.Status.Conditions
	case *chatv1alpha1.NotificationPolicy:
		return o.Status.Conditions
	}
	return nil
}

// switchboardObjects returns copies of the switchboard objects among objs.
func switchboardObjects(objs []client.Object) []client.Object {
	var out []client.Object
	for _, o := range objs {
		if _, isSecret := o.(*corev1.Secret); !isSecret {
			out = append(out, o.DeepCopyObject().(client.Object))
		}
	}
	return out
}

// allReady waits until every switchboard object among objs is Ready and current.
func allReady(t *testing.T, objs []client.Object, timeout time.Duration) {
	t.Helper()
	eventually(t, timeout, func() (bool, string) {
		for _, o := range switchboardObjects(objs) {
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(o), o); err != nil {
				return false, err.Error()
			}
			c := meta.FindStatusCondition(conditionsOf(o), chatv1alpha1.ConditionReady)
			if c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != o.GetGeneration() {
				return false, fmt.Sprintf("%T %s Ready = %+v", o, o.GetName(), c)
			}
		}
		return true, ""
	})
}

// mutate reads an object, changes it and writes it back, retrying when the operator's
// status writes got in between.
func mutate[T client.Object](t *testing.T, ns, name string, obj T, change func(T)) {
	t.Helper()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, obj); err != nil {
			return err
		}
		change(obj)
		return env.Client.Update(context.Background(), obj)
	})
	if err != nil {
		t.Fatalf("updating %T %s: %v", obj, name, err)
	}
}
