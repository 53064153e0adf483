package e2e

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

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
// runtime reads the ConfigMap the operator renders and the Secrets it names, and applies
// a changed ConfigMap live.
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

	rt := startRuntime(t, &source.Kube{Config: env.Config, Namespace: ns, ConfigMap: cmKey.Name, Key: controllers.ConfigMapKey,
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
			call(t, "GET", rt.base+"/status", "", nil, &st)
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
