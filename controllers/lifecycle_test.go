package controllers_test

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

const settle = 20 * time.Second

func configMap(t *testing.T, ns string) *corev1.ConfigMap {
	t.Helper()
	return get(t, ns, controllers.ConfigMapName("support"), &corev1.ConfigMap{}).(*corev1.ConfigMap)
}

func compiledConfig(t *testing.T, ns string) *config.Config {
	t.Helper()
	cfg, err := config.Parse([]byte(configMap(t, ns).Data[controllers.ConfigMapKey]))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestSamplesReachReadyInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for round := range 3 {
		ns := env.Namespace(t)
		objs := samples(t, ns)
		rng.Shuffle(len(objs), func(i, j int) { objs[i], objs[j] = objs[j], objs[i] })
		create(t, objs...)
		allReady(t, objs, settle)

		// A dependent turns Ready on its own reconcile; the LiveChat takes it in on its
		// next one, so the rendered revision and the counts converge a moment later.
		var lc *chatv1alpha1.LiveChat
		var cm *corev1.ConfigMap
		eventually(t, settle, func() (bool, string) {
			lc = get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			cm = configMap(t, ns)
			if got := cm.Annotations[controllers.AnnotationRevision]; got != lc.Status.ConfigRevision || got == "" {
				return false, fmt.Sprintf("round %d: ConfigMap revision %q, LiveChat status %q", round, got, lc.Status.ConfigRevision)
			}
			if lc.Status.Queues != 2 || lc.Status.Channels != 3 || lc.Status.Policies != 1 || lc.Status.Operators != 6 {
				return false, fmt.Sprintf("round %d: counts %+v, want 2 queues, 3 channels, 1 policy, 6 operators", round, lc.Status)
			}
			return true, ""
		})
		if lc.Status.ReadyReplicas != 1 || lc.Status.Endpoint != "http://support-runtime."+ns+".svc:8080" {
			t.Errorf("round %d: readyReplicas %d, endpoint %q", round, lc.Status.ReadyReplicas, lc.Status.Endpoint)
		}
		// The API server's defaults and the compiler's own give the same bytes: render
		// and the standalone runtime, which read YAML directly, agree with the operator.
		offline, problems := config.Compile(config.Gather(runtimeObjects(samples(t, ns)), ns)[0])
		if len(problems) > 0 {
			t.Fatalf("offline compile: %s", problems.Summary(10))
		}
		offlineCfg := offline
		offlineCfg.LiveChat.Namespace = ns
		if got := []byte(cm.Data[controllers.ConfigMapKey]); !bytes.Equal(got, offlineCfg.Marshal()) {
			t.Errorf("round %d: the operator's config differs from an offline compile of the same YAML", round)
		}
	}
}

func TestReconfiguration(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	objs := samples(t, ns)
	create(t, objs...)
	allReady(t, objs, settle)

	t.Run("a changed queue changes the configuration revision", func(t *testing.T) {
		before := configMap(t, ns).Annotations[controllers.AnnotationRevision]
		mutate(t, ns, "first-line", &chatv1alpha1.ChatQueue{}, func(q *chatv1alpha1.ChatQueue) {
			q.Spec.Routing.Rule = chatv1alpha1.RoutingAllAgents
		})
		eventually(t, settle, func() (bool, string) {
			cfg := compiledConfig(t, ns)
			for _, q := range cfg.Queues {
				if q.Name == "first-line" && q.Rule == config.RoutingAllAgents {
					return cfg.Revision() != before, "revision unchanged"
				}
			}
			return false, "first-line is not AllAgents in the ConfigMap"
		})
		eventually(t, settle, func() (bool, string) {
			lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			return lc.Status.ConfigRevision == compiledConfig(t, ns).Revision(), "status.configRevision lags"
		})
	})

	t.Run("a deleted channel leaves the configuration", func(t *testing.T) {
		ch := get(t, ns, "telegram", &chatv1alpha1.Channel{})
		if err := env.Client.Delete(ctx, ch); err != nil {
			t.Fatal(err)
		}
		eventually(t, settle, func() (bool, string) {
			for _, c := range compiledConfig(t, ns).Channels {
				if c.Name == "telegram" {
					return false, "telegram still in the ConfigMap"
				}
			}
			lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			return lc.Status.Channels == 2, "status.channels is not 2"
		})
	})

	t.Run("a manual edit of the Deployment is reverted", func(t *testing.T) {
		mutate(t, ns, controllers.RuntimeName("support"), &appsv1.Deployment{}, func(dep *appsv1.Deployment) {
			dep.Spec.Replicas = ptr.To[int32](4)
			dep.Spec.Template.Spec.Containers[0].Image = "attacker/image:latest"
		})
		eventually(t, settle, func() (bool, string) {
			dep := get(t, ns, controllers.RuntimeName("support"), &appsv1.Deployment{}).(*appsv1.Deployment)
			ok := *dep.Spec.Replicas == 1 && dep.Spec.Template.Spec.Containers[0].Image == testImage
			return ok, "replicas/image not reverted"
		})
	})

	t.Run("more replicas on postgres get a PodDisruptionBudget, and lose it again", func(t *testing.T) {
		create(t, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "db", Namespace: ns},
			StringData: map[string]string{"uri": "postgres://switchboard:secret@db:5432/chat"}})
		mutate(t, ns, "support", &chatv1alpha1.LiveChat{}, func(lc *chatv1alpha1.LiveChat) {
			lc.Spec.Storage = &chatv1alpha1.StorageSpec{Postgres: &chatv1alpha1.PostgresStorage{
				URISecretRef: chatv1alpha1.SecretKeyReference{Name: "db", Key: "uri"}}}
			lc.Spec.Runtime.Replicas = ptr.To[int32](3)
		})
		eventually(t, settle, func() (bool, string) {
			var pdbs policyv1.PodDisruptionBudgetList
			if err := env.Client.List(ctx, &pdbs, client.InNamespace(ns)); err != nil {
				return false, err.Error()
			}
			dep := get(t, ns, controllers.RuntimeName("support"), &appsv1.Deployment{}).(*appsv1.Deployment)
			return len(pdbs.Items) == 1 && *dep.Spec.Replicas == 3 && dep.Spec.Strategy.Type == appsv1.RollingUpdateDeploymentStrategyType,
				"no PDB, or the Deployment is not 3 replicas rolling"
		})
		cfg := compiledConfig(t, ns)
		if cfg.LiveChat.Storage.Driver != config.StoragePostgres || !strings.Contains(string(cfg.Marshal()), `"name": "db"`) {
			t.Errorf("config storage = %+v", cfg.LiveChat.Storage)
		}
		if strings.Contains(configMap(t, ns).Data[controllers.ConfigMapKey], "postgres://") {
			t.Error("the database URI reached the ConfigMap")
		}
		mutate(t, ns, "support", &chatv1alpha1.LiveChat{}, func(lc *chatv1alpha1.LiveChat) {
			lc.Spec.Runtime.Replicas = ptr.To[int32](1)
		})
		eventually(t, settle, func() (bool, string) {
			var pdbs policyv1.PodDisruptionBudgetList
			if err := env.Client.List(ctx, &pdbs, client.InNamespace(ns)); err != nil {
				return false, err.Error()
			}
			return len(pdbs.Items) == 0, "the PDB is still there"
		})
	})

	t.Run("suspend stops reconciling children and says so", func(t *testing.T) {
		mutate(t, ns, "support", &chatv1alpha1.LiveChat{}, func(lc *chatv1alpha1.LiveChat) {
			lc.Spec.Suspend = true
		})
		eventually(t, settle, func() (bool, string) {
			lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			c := meta.FindStatusCondition(lc.Status.Conditions, chatv1alpha1.ConditionReady)
			return c != nil && c.Reason == chatv1alpha1.ReasonSuspended && strings.Contains(c.Message, "set it to false to resume"),
				"Ready is not Suspended"
		})
		revision := configMap(t, ns).Annotations[controllers.AnnotationRevision]
		mutate(t, ns, "accounting", &chatv1alpha1.ChatQueue{}, func(q *chatv1alpha1.ChatQueue) {
			q.Spec.DisplayName = "Accounting while suspended"
		})
		time.Sleep(2 * time.Second)
		if got := configMap(t, ns).Annotations[controllers.AnnotationRevision]; got != revision {
			t.Fatal("a suspended LiveChat's ConfigMap changed")
		}
		mutate(t, ns, "support", &chatv1alpha1.LiveChat{}, func(lc *chatv1alpha1.LiveChat) {
			lc.Spec.Suspend = false
		})
		eventually(t, settle, func() (bool, string) {
			return configMap(t, ns).Annotations[controllers.AnnotationRevision] != revision, "resuming did not render the change"
		})
	})
}

func TestUnusedGroupSaysItsMembersAreInNoQueue(t *testing.T) {
	ns := env.Namespace(t)
	objs := samples(t, ns)
	create(t, objs...)
	allReady(t, objs, settle)
	condition := func(name, typ string) *metav1.Condition {
		g := get(t, ns, name, &chatv1alpha1.OperatorGroup{}).(*chatv1alpha1.OperatorGroup)
		return meta.FindStatusCondition(g.Status.Conditions, typ)
	}
	inUse := func(name string) func() (bool, string) {
		return func() (bool, string) {
			c := condition(name, chatv1alpha1.ConditionInUse)
			if c == nil {
				return false, name + " has no InUse condition"
			}
			return c.Status == metav1.ConditionTrue, fmt.Sprintf("%s InUse %s: %s", name, c.Status, c.Message)
		}
	}
	for _, name := range []string{"first-line", "experts", "supervisors", "employees"} {
		eventually(t, settle, inUse(name))
	}

	create(t, &chatv1alpha1.OperatorGroup{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "auditors"},
		Spec: chatv1alpha1.OperatorGroupSpec{Members: []chatv1alpha1.Member{{Name: "ivan"}}}})
	eventually(t, settle, func() (bool, string) {
		c, ready := condition("auditors", chatv1alpha1.ConditionInUse), condition("auditors", chatv1alpha1.ConditionReady)
		return c != nil && c.Status == metav1.ConditionFalse && c.Reason == chatv1alpha1.ReasonNotInAnyQueue &&
				strings.Contains(c.Message, "its member ivan is in no queue") && ready != nil && ready.Status == metav1.ConditionTrue,
			fmt.Sprintf("auditors: InUse %+v, Ready %+v", c, ready)
	})
	// Listing the group in a queue heals the condition, through the queue's watch.
	mutate(t, ns, "accounting", &chatv1alpha1.ChatQueue{}, func(q *chatv1alpha1.ChatQueue) {
		q.Spec.OperatorGroups = append(q.Spec.OperatorGroups, "auditors")
	})
	eventually(t, settle, inUse("auditors"))
	if c := condition("auditors", chatv1alpha1.ConditionInUse); c.Message != "used by ChatQueue accounting" {
		t.Errorf("InUse message %q", c.Message)
	}
}

func TestMissingSecretStallsAndHeals(t *testing.T) {
	ns := env.Namespace(t)
	var withheld *corev1.Secret
	var objs []client.Object
	for _, o := range samples(t, ns) {
		if s, ok := o.(*corev1.Secret); ok && s.Name == "telegram-bot" {
			withheld = s
			continue
		}
		objs = append(objs, o)
	}
	create(t, objs...)
	eventually(t, settle, func() (bool, string) {
		ch := get(t, ns, "telegram", &chatv1alpha1.Channel{}).(*chatv1alpha1.Channel)
		refs := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionResolvedRefs)
		stalled := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionStalled)
		ok := refs != nil && refs.Status == metav1.ConditionFalse && refs.Reason == chatv1alpha1.ReasonSecretNotFound &&
			strings.Contains(refs.Message, `Secret "telegram-bot" does not exist: create it with the key "token"`) &&
			stalled != nil && stalled.Status == metav1.ConditionTrue
		return ok, "channel conditions: " + conditionsString(ch.Status.Conditions)
	})
	eventually(t, settle, func() (bool, string) {
		lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
		stalled := meta.FindStatusCondition(lc.Status.Conditions, chatv1alpha1.ConditionStalled)
		return stalled != nil && strings.Contains(stalled.Message, "Channel telegram: spec.telegram.botTokenSecretRef"),
			"LiveChat conditions: " + conditionsString(lc.Status.Conditions)
	})
	for _, c := range compiledConfig(t, ns).Channels {
		if c.Name == "telegram" {
			t.Error("the channel without its Secret was rendered")
		}
	}

	start := time.Now()
	create(t, withheld)
	allReady(t, objs, settle)
	t.Logf("healed %s after the Secret appeared", time.Since(start).Round(time.Millisecond))
	lc := get(t, ns, "support", &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
	if meta.FindStatusCondition(lc.Status.Conditions, chatv1alpha1.ConditionStalled) != nil {
		t.Error("Stalled is still set after healing")
	}
}

func conditionsString(cs []metav1.Condition) string {
	var b strings.Builder
	for _, c := range cs {
		b.WriteString(c.Type + "=" + string(c.Status) + " (" + c.Reason + ": " + c.Message + "); ")
	}
	return b.String()
}

func TestRenderedChildren(t *testing.T) {
	ns := env.Namespace(t)
	objs := samples(t, ns)
	for _, o := range objs {
		if lc, ok := o.(*chatv1alpha1.LiveChat); ok {
			lc.Labels = map[string]string{"app.kubernetes.io/instance": "support-prod", "team": "care"}
			lc.Annotations = map[string]string{"argocd.argoproj.io/tracking-id": "care:chat.switchboard.dev/LiveChat:default/support"}
		}
	}
	create(t, objs...)
	allReady(t, objs, settle)

	children := []client.Object{&corev1.ConfigMap{}, &corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
		&corev1.PersistentVolumeClaim{}, &appsv1.Deployment{}, &corev1.Service{}}
	names := []string{controllers.ConfigMapName("support"), controllers.RuntimeName("support"), controllers.RuntimeName("support"),
		controllers.RuntimeName("support"), controllers.DataName("support"), controllers.RuntimeName("support"), controllers.RuntimeName("support")}
	for i, c := range children {
		get(t, ns, names[i], c)
		if _, ok := c.GetLabels()["app.kubernetes.io/instance"]; ok {
			t.Errorf("%T carries app.kubernetes.io/instance", c)
		}
		for k := range c.GetAnnotations() {
			if strings.HasPrefix(k, "argocd.argoproj.io/") {
				t.Errorf("%T carries %s", c, k)
			}
		}
		if owner := metav1.GetControllerOf(c); owner == nil || owner.Kind != "LiveChat" || owner.Name != "support" {
			t.Errorf("%T is not controlled by the LiveChat: %+v", c, owner)
		}
	}

	role := get(t, ns, controllers.RuntimeName("support"), &rbacv1.Role{}).(*rbacv1.Role)
	want := map[string][]string{
		"configmaps":                  {"support-config"},
		"secrets":                     {"smtp-credentials", "support-operator-tokens", "telegram-bot", "twilio", "webhook-signing"},
		"channels":                    {"telegram"},
		"channels/status":             {"telegram"},
		"notificationpolicies":        {"support-notifications"},
		"notificationpolicies/status": {"support-notifications"},
	}
	for _, r := range role.Rules {
		if len(r.ResourceNames) == 0 {
			t.Errorf("rule %v has no resourceNames: it would grant every object", r)
		}
		if w := want[r.Resources[0]]; strings.Join(w, ",") != strings.Join(r.ResourceNames, ",") {
			t.Errorf("rule on %s names %v, want %v", r.Resources[0], r.ResourceNames, w)
		}
		for _, v := range r.Verbs {
			if v != "get" && v != "list" && v != "watch" && !(v == "patch" && strings.HasSuffix(r.Resources[0], "/status")) {
				t.Errorf("rule on %s grants %s", r.Resources[0], v)
			}
		}
	}

	dep := get(t, ns, controllers.RuntimeName("support"), &appsv1.Deployment{}).(*appsv1.Deployment)
	pod := dep.Spec.Template.Spec
	c := pod.Containers[0]
	switch {
	case pod.SecurityContext == nil || !*pod.SecurityContext.RunAsNonRoot || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault:
		t.Errorf("pod security context %+v", pod.SecurityContext)
	case !*c.SecurityContext.ReadOnlyRootFilesystem || *c.SecurityContext.AllowPrivilegeEscalation || c.SecurityContext.Capabilities.Drop[0] != "ALL":
		t.Errorf("container security context %+v", c.SecurityContext)
	case c.ReadinessProbe == nil || c.LivenessProbe == nil:
		t.Error("probes missing")
	case c.Image != testImage || c.Args[0] != "runtime":
		t.Errorf("container runs %s %v, want the operator's image running `runtime`", c.Image, c.Args)
	case c.Resources.Requests.Cpu().IsZero() || c.Resources.Limits.Memory().IsZero():
		t.Errorf("resources %+v", c.Resources)
	case dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType:
		t.Errorf("strategy %s, want Recreate for embedded SQLite", dep.Spec.Strategy.Type)
	}
}
