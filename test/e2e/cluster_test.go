package e2e

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

// TestRuntimeInACluster runs the operator and a runtime against a real API server: the
// runtime, as its own ServiceAccount under the Role the operator renders for it, reads
// the ConfigMap the operator renders and the Secrets it names, and applies a changed
// ConfigMap live. The Role allows that and nothing more.
func TestRuntimeInACluster(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	op, err := env.StartOperator(controllers.RuntimeOptions{Image: "switchboard:e2e"})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Stop()
	ctx := context.Background()
	ns := env.Namespace(t)
	createSamples(t, env, ns)
	cmKey := client.ObjectKey{Namespace: ns, Name: controllers.ConfigMapName("support")}
	// The first revisions may predate objects created later; start the runtime once the
	// LiveChat has taken in all of them, so what it serves first is the whole platform.
	deadline := time.Now().Add(30 * time.Second)
	for {
		var cm corev1.ConfigMap
		var lc chatv1alpha1.LiveChat
		if env.Client.Get(ctx, cmKey, &cm) == nil && env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "support"}, &lc) == nil &&
			lc.Status.ConfigRevision == cm.Annotations[controllers.AnnotationRevision] &&
			lc.Status.Channels == 3 && lc.Status.Queues == 2 && lc.Status.Operators == 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the operator did not render the whole platform: LiveChat status %+v", lc.Status)
		}
		time.Sleep(50 * time.Millisecond)
	}

	runtimeRBAC(t, env, ns)
	asRuntime, err := env.ServiceAccountConfig(ctx, ns, controllers.RuntimeName("support"))
	if err != nil {
		t.Fatal(err)
	}
	rt := startRuntime(t, &source.Kube{Config: asRuntime, Namespace: ns, ConfigMap: cmKey.Name, Key: controllers.ConfigMapKey,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, t.TempDir())
	// Operator tokens come from the Secret in the cluster.
	var me struct{ Name string }
	if code := call(t, "GET", rt.base+"/api/v1/me", alice, nil, &me); code != 200 || me.Name != "alice" {
		t.Fatalf("alice signs in with the token from the cluster's Secret: %d %+v", code, me)
	}
	v := newVisitor(t, rt, "hello in the cluster")

	// Change the channel; the operator renders a new revision; the runtime applies it.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var ch chatv1alpha1.Channel
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "website"}, &ch); err != nil {
			return err
		}
		ch.Spec.WebWidget.Title = "Support, from the cluster"
		return env.Client.Update(ctx, &ch)
	})
	if err != nil {
		t.Fatal(err)
	}
	var rendered time.Time
	var revision string
	for deadline := time.Now().Add(20 * time.Second); ; {
		var cm corev1.ConfigMap
		if err := env.Client.Get(ctx, cmKey, &cm); err == nil {
			var st struct{ ConfigRevision string }
			call(t, "GET", rt.metrics+"/status", "", nil, &st)
			if r := cm.Annotations[controllers.AnnotationRevision]; r != st.ConfigRevision && rendered.IsZero() {
				rendered, revision = time.Now(), r
			}
			if !rendered.IsZero() && st.ConfigRevision == revision {
				t.Logf("the runtime applied revision %s %v after the test saw it in the ConfigMap", revision, time.Since(rendered).Round(time.Millisecond))
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the runtime did not apply the new ConfigMap")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var info struct{ Title string }
	call(t, "GET", rt.base+"/api/v1/channels/website", "", nil, &info, "Origin", origin)
	if info.Title != "Support, from the cluster" {
		t.Errorf("title %q after the reload", info.Title)
	}
	// The conversation opened before the change carries on.
	if code := call(t, "POST", rt.base+"/api/v1/conversations/"+v.conversation+"/take", alice, nil, nil); code != 200 {
		t.Errorf("taking the earlier chat after the reload: %d", code)
	}
	// A rotated token applies without a restart.
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var s corev1.Secret
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "support-operator-tokens"}, &s); err != nil {
			return err
		}
		s.Data["alice"] = []byte("rotated-alice-token")
		return env.Client.Update(ctx, &s)
	})
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); call(t, "GET", rt.base+"/api/v1/me", "rotated-alice-token", nil, nil) != 200; {
		if time.Now().After(deadline) {
			t.Fatal("the rotated token was not picked up")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if code := call(t, "GET", rt.base+"/api/v1/me", alice, nil, nil); code != 401 {
		t.Errorf("the old token still works after rotation: %d", code)
	}
}

// runtimeRBAC asks the API server what the runtime's ServiceAccount may do under the
// Role and RoleBinding the operator rendered: list and watch its ConfigMap and the
// Secrets its configuration names, which is what its informers send, patch the status
// of its own NotificationPolicies, and nothing else.
func runtimeRBAC(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	sa := "system:serviceaccount:" + ns + ":" + controllers.RuntimeName("support")
	core := func(verb, resource, name string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: ns, Verb: verb, Resource: resource, Name: name}
	}
	status := func(resource, name string) authorizationv1.ResourceAttributes {
		return authorizationv1.ResourceAttributes{Namespace: ns, Verb: "patch", Group: chatv1alpha1.GroupVersion.Group,
			Resource: resource, Subresource: "status", Name: name}
	}
	elsewhere := core("list", "secrets", "support-operator-tokens")
	elsewhere.Namespace = "default"
	cases := []struct {
		name    string
		attrs   authorizationv1.ResourceAttributes
		allowed bool
	}{
		{"list its ConfigMap", core("list", "configmaps", controllers.ConfigMapName("support")), true},
		{"watch its ConfigMap", core("watch", "configmaps", controllers.ConfigMapName("support")), true},
		{"list a Secret the configuration names", core("list", "secrets", "support-operator-tokens"), true},
		{"watch a Secret the configuration names", core("watch", "secrets", "telegram-bot"), true},
		{"get its ConfigMap, which its informer never does", core("get", "configmaps", controllers.ConfigMapName("support")), false},
		{"get a Secret it names, which its informer never does", core("get", "secrets", "support-operator-tokens"), false},
		{"list every ConfigMap", core("list", "configmaps", ""), false},
		{"list every Secret", core("list", "secrets", ""), false},
		{"watch a Secret nothing names", core("watch", "secrets", "unrelated"), false},
		{"list the Secret in another namespace", elsewhere, false},
		{"change its ConfigMap", core("patch", "configmaps", controllers.ConfigMapName("support")), false},
		{"patch a web widget Channel's status, which has no connection to report", status("channels", "website"), false},
		{"patch its NotificationPolicy's status, whose delivery counts it writes", status("notificationpolicies", "support-notifications"), true},
		{"patch the status of a NotificationPolicy not of its LiveChat", status("notificationpolicies", "default"), false},
	}
	for _, c := range cases {
		may := "may not "
		if c.allowed {
			may = "may "
		}
		t.Run("the runtime "+may+c.name, func(t *testing.T) {
			review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: sa,
				Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"}, ResourceAttributes: &c.attrs}}
			if err := env.Client.Create(context.Background(), review); err != nil {
				t.Fatal(err)
			}
			switch {
			case c.allowed && !review.Status.Allowed:
				t.Errorf("the runtime's Role does not allow it (%s), and the runtime needs it", review.Status.Reason)
			case !c.allowed && review.Status.Allowed:
				t.Errorf("the runtime's Role allows it (%s): it grants more than the runtime uses", review.Status.Reason)
			}
		})
	}
}

// createSamples creates the sample platform in namespace ns of env.
func createSamples(t *testing.T, env *testenv.Env, ns string) {
	t.Helper()
	set, err := manifests.ReadPaths(manifestsDir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range set.Objects {
		o.SetNamespace(ns)
		if err := env.Client.Create(context.Background(), o.Object); err != nil {
			t.Fatal(err)
		}
	}
}
