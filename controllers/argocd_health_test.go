package controllers_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/argohealth"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/channels"
)

var updateArgoFixtures = flag.Bool("update-argocd-fixtures", false,
	"write gitops/argocd's health fixtures from the objects TestArgoCDHealth produces")

// healthCase is an object in a state, and the health Argo CD must give it.
type healthCase struct {
	fixture string // file name under the kind's testdata
	obj     client.Object
	want    string
	// derive turns the real object into the state the fixture shows, for states the
	// operator leaves too quickly to catch (an edit it has not yet observed).
	derive func(map[string]any)
}

// TestArgoCDHealth runs the Argo CD health checks of gitops/argocd on real objects
// the operator reconciled into healthy, progressing, suspended and degraded states;
// with -update-argocd-fixtures it writes them as the checks' test fixtures.
func TestArgoCDHealth(t *testing.T) {
	healthy := env.Namespace(t)
	operator.Deployments.Hold(healthy) // the runtime rolls out until released
	objs := samples(t, healthy)
	create(t, objs...)
	live := func(ns, name string, o client.Object) client.Object {
		o.SetNamespace(ns)
		o.SetName(name)
		return o
	}
	var cases []healthCase
	// A LiveChat whose runtime is rolling out.
	rolling := live(healthy, "support", &chatv1alpha1.LiveChat{})
	eventually(t, settle, func() (bool, string) {
		get(t, healthy, "support", rolling)
		c := meta.FindStatusCondition(conditionsOf(rolling), chatv1alpha1.ConditionReconciling)
		return c != nil && c.Status == metav1.ConditionTrue, fmt.Sprintf("conditions %+v", conditionsOf(rolling))
	})
	cases = append(cases, healthCase{fixture: "progressing-rollout.yaml", obj: rolling.DeepCopyObject().(client.Object), want: "Progressing"})
	operator.Deployments.Release(healthy)
	allReady(t, objs, settle)
	for _, o := range []client.Object{
		live(healthy, "support", &chatv1alpha1.LiveChat{}),
		live(healthy, "first-line", &chatv1alpha1.ChatQueue{}),
		live(healthy, "website", &chatv1alpha1.Channel{}),
		live(healthy, "first-line", &chatv1alpha1.OperatorGroup{}),
		live(healthy, "support-notifications", &chatv1alpha1.NotificationPolicy{}),
	} {
		get(t, healthy, o.GetName(), o)
		cases = append(cases, healthCase{fixture: "healthy.yaml", obj: o, want: "Healthy"},
			healthCase{fixture: "progressing.yaml", obj: o, want: "Progressing", derive: func(u map[string]any) {
				// An edit the operator has not observed yet.
				md := u["metadata"].(map[string]any)
				md["generation"] = md["generation"].(int64) + 1
			}})
	}

	// Degraded: the sample without a Secret the LiveChat and the policy need, and one
	// object of each other kind with a reference to nothing.
	broken := env.Namespace(t)
	var brokenObjs []client.Object
	for _, o := range samples(t, broken) {
		if s, ok := o.(*corev1.Secret); ok && s.Name == "twilio" {
			continue
		}
		brokenObjs = append(brokenObjs, o)
	}
	orphanChannel := &chatv1alpha1.Channel{}
	orphanQueue := &chatv1alpha1.ChatQueue{}
	for _, o := range brokenObjs {
		switch o := o.(type) {
		case *chatv1alpha1.Channel:
			if o.Name == "website" {
				o.DeepCopyInto(orphanChannel)
			}
		case *chatv1alpha1.ChatQueue:
			if o.Name == "first-line" {
				o.DeepCopyInto(orphanQueue)
			}
		}
	}
	orphanChannel.Name, orphanChannel.Spec.QueueRef.Name = "orphan", "no-such-queue"
	orphanQueue.Name, orphanQueue.Spec.OperatorGroups = "orphan", []chatv1alpha1.ObjectName{"no-such-group"}
	create(t, append(brokenObjs, orphanChannel, orphanQueue)...)
	for _, o := range []client.Object{
		live(broken, "support", &chatv1alpha1.LiveChat{}),
		live(broken, "orphan", &chatv1alpha1.ChatQueue{}),
		live(broken, "orphan", &chatv1alpha1.Channel{}),
		live(broken, "support-notifications", &chatv1alpha1.NotificationPolicy{}),
	} {
		eventually(t, settle, func() (bool, string) {
			get(t, broken, o.GetName(), o)
			c := meta.FindStatusCondition(conditionsOf(o), chatv1alpha1.ConditionStalled)
			return c != nil && c.Status == metav1.ConditionTrue, fmt.Sprintf("%T %s: conditions %+v", o, o.GetName(), conditionsOf(o))
		})
		cases = append(cases, healthCase{fixture: "degraded.yaml", obj: o, want: "Degraded"})
	}
	// The operator fails no OperatorGroup today (the schema refuses a bad group at
	// admission, and a group has no references of its own); its fixture shows the
	// Stalled condition every kind shares, on the real healthy group.
	group := live(healthy, "first-line", &chatv1alpha1.OperatorGroup{})
	get(t, healthy, "first-line", group)
	cases = append(cases, healthCase{fixture: "degraded.yaml", obj: group, want: "Degraded", derive: func(u map[string]any) {
		msg := "an example problem: what the operator would say, and how to fix it"
		setConditions(u, []metav1.Condition{
			{Type: chatv1alpha1.ConditionReady, Status: metav1.ConditionFalse, Reason: chatv1alpha1.ReasonCompileFailed, Message: msg},
			{Type: chatv1alpha1.ConditionStalled, Status: metav1.ConditionTrue, Reason: chatv1alpha1.ReasonCompileFailed, Message: msg},
		})
	}})

	// A channel whose messenger refuses its credentials, as the runtime reports it.
	channel := live(healthy, "telegram", &chatv1alpha1.Channel{})
	get(t, healthy, "telegram", channel)
	cases = append(cases, healthCase{fixture: "disconnected.yaml", obj: channel, want: "Degraded", derive: func(u map[string]any) {
		conds := u["status"].(map[string]any)["conditions"].([]any)
		c, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(&metav1.Condition{Type: "Connected", Status: metav1.ConditionFalse,
			Reason: channels.ReasonInvalidCredentials, Message: "Telegram refuses the bot token (401 Unauthorized): check the Secret telegram-bot, key token"})
		u["status"].(map[string]any)["conditions"] = append(conds, c)
	}})

	// Suspended: a policy switched off.
	mutate(t, healthy, "support-notifications", &chatv1alpha1.NotificationPolicy{}, func(p *chatv1alpha1.NotificationPolicy) { p.Spec.Suspend = true })
	suspended := live(healthy, "support-notifications", &chatv1alpha1.NotificationPolicy{})
	eventually(t, settle, func() (bool, string) {
		get(t, healthy, suspended.GetName(), suspended)
		st := suspended.(*chatv1alpha1.NotificationPolicy).Status
		return st.ObservedGeneration == suspended.GetGeneration(), "not observed yet"
	})
	cases = append(cases, healthCase{fixture: "suspended.yaml", obj: suspended, want: "Suspended"})

	root := filepath.Join(testenv.RepoRoot(), "gitops", "argocd", "resource_customizations", "chat.switchboard.dev")
	written := map[string][]string{}
	for _, c := range cases {
		kind := strings.TrimPrefix(fmt.Sprintf("%T", c.obj), "*v1alpha1.")
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(c.obj)
		if err != nil {
			t.Fatal(err)
		}
		u["apiVersion"], u["kind"] = chatv1alpha1.GroupVersion.String(), kind
		if c.derive != nil {
			c.derive(u)
		}
		got, err := argohealth.Evaluate(readFile(t, filepath.Join(root, kind, "health.lua")), u)
		if err != nil {
			t.Fatalf("%s %s: %v", kind, c.fixture, err)
		}
		if got.Status != c.want {
			t.Errorf("%s %s (%s): Argo CD health %+v, want %s", kind, c.obj.GetName(), c.fixture, got, c.want)
		}
		if *updateArgoFixtures {
			writeFixture(t, filepath.Join(root, kind), c.fixture, u)
			written[kind] = append(written[kind], c.fixture)
		}
	}
	if *updateArgoFixtures {
		for kind, files := range written {
			writeHealthTests(t, filepath.Join(root, kind), files)
		}
	}
}

func setConditions(u map[string]any, conds []metav1.Condition) {
	var list []any
	for _, c := range conds {
		m, _ := runtime.DefaultUnstructuredConverter.ToUnstructured(&c)
		list = append(list, m)
	}
	u["status"].(map[string]any)["conditions"] = list
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeFixture writes the object as a fixture: without what only one API server
// knows (uid, managed fields, times), in the namespace "chat".
func writeFixture(t *testing.T, dir, name string, u map[string]any) {
	t.Helper()
	md := u["metadata"].(map[string]any)
	ns, _ := md["namespace"].(string)
	for _, k := range []string{"uid", "resourceVersion", "managedFields", "creationTimestamp"} {
		delete(md, k)
	}
	if st, ok := u["status"].(map[string]any); ok {
		if conds, ok := st["conditions"].([]any); ok {
			for _, c := range conds {
				c.(map[string]any)["lastTransitionTime"] = "2026-01-01T00:00:00Z"
			}
		}
	}
	out, err := yaml.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	text := string(out)
	if ns != "" {
		text = strings.ReplaceAll(text, ns, "chat")
	}
	if err := os.WriteFile(filepath.Join(dir, "testdata", name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writeHealthTests writes the kind's health_test.yaml: each fixture with the health
// the check gives it, as Argo CD's test harness reads it.
func writeHealthTests(t *testing.T, dir string, files []string) {
	t.Helper()
	slices.Sort(files)
	files = slices.Compact(files)
	type test struct {
		HealthStatus argohealth.Status `json:"healthStatus"`
		InputPath    string            `json:"inputPath"`
	}
	var tests []test
	for _, f := range files {
		got, err := argohealth.EvaluateFile(filepath.Join(dir, "health.lua"), filepath.Join(dir, "testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		tests = append(tests, test{HealthStatus: got, InputPath: "testdata/" + f})
	}
	out, err := yaml.Marshal(map[string]any{"tests": tests})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "health_test.yaml"), out, 0o644); err != nil {
		t.Fatal(err)
	}
}
