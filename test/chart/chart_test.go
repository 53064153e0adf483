package chart

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// everything switches on every optional part of the chart.
const everything = `
replicas: 2
imagePullSecrets: [{name: regcred}]
crds: {install: true, keep: false}
serviceAccount: {annotations: {example.com/role: operator}}
metrics:
  certSecret: metrics-tls
  readerServiceAccount: {name: prometheus-k8s, namespace: monitoring}
monitoring:
  labels: {release: kube-prometheus-stack}
  serviceMonitor: {enabled: true, interval: 1m}
  podMonitor: {enabled: true}
  prometheusRule: {enabled: true}
  dashboards: {enabled: true}
podDisruptionBudget: {enabled: true, minAvailable: 1}
networkPolicy:
  enabled: true
  metricsNamespaceSelector: {matchLabels: {kubernetes.io/metadata.name: monitoring}}
podLabels: {team: chat}
podAnnotations: {example.com/scrape: "false"}
tolerations: [{key: dedicated, operator: Equal, value: chat, effect: NoSchedule}]
priorityClassName: system-cluster-critical
extraObjects:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: extra-map}
  data: {release: "{{ .Release.Name }}"}
- |
  apiVersion: v1
  kind: Secret
  metadata:
    name: extra-{{ .Release.Name }}
  stringData: {token: abc}
`

func TestRenderedObjectsApplyToAPIServer(t *testing.T) {
	tests := []struct {
		name   string
		values string
		kinds  []string // kinds that must be among the rendered objects
	}{
		{name: "defaults", kinds: []string{"CustomResourceDefinition", "Deployment", "Service", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}},
		{name: "everything", values: everything, kinds: []string{"ServiceMonitor", "PodMonitor", "PrometheusRule", "ConfigMap", "PodDisruptionBudget", "NetworkPolicy", "Secret"}},
		{name: "no CRDs, plain HTTP metrics, another name", values: "crds: {install: false}\nmetrics: {secure: false}\nfullnameOverride: chat-operator\nleaderElection: false\nmonitoring: {serviceMonitor: {enabled: true}}",
			kinds: []string{"Deployment", "ServiceMonitor"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			vals := values(t, tt.values)
			if m, ok := vals["monitoring"].(map[string]any); ok {
				if d, ok := m["dashboards"].(map[string]any); ok {
					d["namespace"] = ns
				}
			}
			out := render(t, vals, ns)
			for _, kind := range tt.kinds {
				if len(out.ofKind(kind)) == 0 {
					t.Errorf("no %s rendered", kind)
				}
			}
			for _, o := range out.objects {
				u := o.DeepCopy()
				// Helm puts objects that name no namespace (extraObjects) in the release's.
				if namespaced, err := env.Client.IsObjectNamespaced(u); err == nil && namespaced && u.GetNamespace() == "" {
					u.SetNamespace(ns)
				}
				err := env.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(u),
					client.FieldOwner("chart-test"), client.ForceOwnership, client.DryRunAll)
				if err != nil {
					t.Errorf("the API server refused %s %s: %v", o.GetKind(), o.GetName(), err)
				}
				if !strings.HasPrefix(o.GetName(), "extra-") {
					checkLabels(t, o)
				}
			}
		})
	}
}

func checkLabels(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	labels := o.GetLabels()
	for _, key := range []string{"app.kubernetes.io/name", "app.kubernetes.io/instance", "app.kubernetes.io/version",
		"app.kubernetes.io/managed-by", "app.kubernetes.io/part-of", "helm.sh/chart"} {
		if labels[key] == "" {
			t.Errorf("%s %s has no %s label", o.GetKind(), o.GetName(), key)
		}
	}
	if labels["app.kubernetes.io/instance"] != releaseName {
		t.Errorf("%s %s: app.kubernetes.io/instance = %q, want the release name", o.GetKind(), o.GetName(), labels["app.kubernetes.io/instance"])
	}
}

func typed[T any](t *testing.T, o *unstructured.Unstructured) *T {
	t.Helper()
	if o == nil {
		t.Fatal("object not rendered")
	}
	out := new(T)
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestOperatorDeploymentIsHardened(t *testing.T) {
	out := render(t, values(t, "imagePullSecrets: [{name: regcred}]"), "switchboard-system")
	dep := typed[appsv1.Deployment](t, out.find("Deployment", releaseName+"-manager"))
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	psc, sc := pod.SecurityContext, c.SecurityContext
	checks := []struct {
		what string
		ok   bool
	}{
		{"pod runAsNonRoot", psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot},
		{"pod seccomp RuntimeDefault", psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
		{"container read-only root filesystem", sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
		{"container no privilege escalation", sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
		{"container drops ALL capabilities", sc != nil && sc.Capabilities != nil && reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"})},
		{"liveness probe", c.LivenessProbe != nil && c.LivenessProbe.HTTPGet != nil && c.LivenessProbe.HTTPGet.Path == "/healthz"},
		{"readiness probe", c.ReadinessProbe != nil && c.ReadinessProbe.HTTPGet != nil && c.ReadinessProbe.HTTPGet.Path == "/readyz"},
		{"memory limit and cpu request", !c.Resources.Limits.Memory().IsZero() && !c.Resources.Requests.Cpu().IsZero()},
		{"leader election", containsArg(c.Args, "--leader-elect=true")},
		{"imagePullSecrets", len(pod.ImagePullSecrets) == 1 && pod.ImagePullSecrets[0].Name == "regcred"},
		{"own ServiceAccount", pod.ServiceAccountName == releaseName+"-manager"},
		{"runtime image is the operator's", len(c.Env) > 0 && c.Env[0].Name == "SWITCHBOARD_IMAGE" && c.Env[0].Value == c.Image},
	}
	for _, check := range checks {
		if !check.ok {
			t.Errorf("the operator Deployment lacks: %s", check.what)
		}
	}
}

func containsArg(args []string, want string) bool {
	for _, a := range args {
		if a == want {
			return true
		}
	}
	return false
}

// The chart's CRDs are templates (upgraded with the release, unlike crds/), identical
// to config/crd/bases, and kept on uninstall unless crds.keep is false.
func TestCRDsFollowValues(t *testing.T) {
	bases, err := filepath.Glob(filepath.Join(testenv.RepoRoot(), "config", "crd", "bases", "*.yaml"))
	if err != nil || len(bases) == 0 {
		t.Fatalf("no CRDs in config/crd/bases: %v", err)
	}
	tests := []struct {
		values   string
		wantCRDs int
		wantKeep bool
	}{
		{values: "", wantCRDs: len(bases), wantKeep: true},
		{values: "crds: {keep: false}", wantCRDs: len(bases), wantKeep: false},
		{values: "crds: {install: false}", wantCRDs: 0},
	}
	for _, tt := range tests {
		t.Run(tt.values, func(t *testing.T) {
			crds := render(t, values(t, tt.values), "switchboard-system").ofKind("CustomResourceDefinition")
			if len(crds) != tt.wantCRDs {
				t.Fatalf("%d CRDs rendered, want %d", len(crds), tt.wantCRDs)
			}
			for _, o := range crds {
				if keep := o.GetAnnotations()["helm.sh/resource-policy"] == "keep"; keep != tt.wantKeep {
					t.Errorf("CRD %s: helm.sh/resource-policy keep is %v, want %v", o.GetName(), keep, tt.wantKeep)
				}
			}
			for _, path := range bases {
				data, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				var base apiextensionsv1.CustomResourceDefinition
				if err := yaml.Unmarshal(data, &base); err != nil {
					t.Fatal(err)
				}
				for _, o := range crds {
					if o.GetName() == base.Name {
						got := typed[apiextensionsv1.CustomResourceDefinition](t, o)
						if !reflect.DeepEqual(got.Spec, base.Spec) {
							t.Errorf("the chart's CRD %s differs from %s: run make manifests", base.Name, path)
						}
					}
				}
			}
		})
	}
}

func TestMonitoringObjectsCarryTheRepositoryFiles(t *testing.T) {
	out := render(t, values(t, everything), "switchboard-system")
	dir := filepath.Join(testenv.RepoRoot(), "charts", "switchboard", "files")

	rules, err := os.ReadFile(filepath.Join(dir, "prometheus-rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var want map[string]any
	if err := yaml.Unmarshal(rules, &want); err != nil {
		t.Fatal(err)
	}
	rule := out.find("PrometheusRule", releaseName)
	if rule == nil {
		t.Fatal("no PrometheusRule rendered")
	}
	if got := rule.Object["spec"]; !reflect.DeepEqual(jsonRoundTrip(t, got), jsonRoundTrip(t, want)) {
		t.Error("the PrometheusRule's spec differs from files/prometheus-rules.yaml")
	}
	if rule.GetLabels()["release"] != "kube-prometheus-stack" {
		t.Error("monitoring.labels are not on the PrometheusRule")
	}

	dashboards, _ := filepath.Glob(filepath.Join(dir, "dashboards", "*.json"))
	for _, path := range dashboards {
		name := strings.TrimSuffix(filepath.Base(path), ".json")
		cm := typed[corev1.ConfigMap](t, out.find("ConfigMap", releaseName+"-dashboard-"+name))
		if cm.Labels["grafana_dashboard"] != "1" {
			t.Errorf("dashboard ConfigMap %s lacks the label grafana_dashboard: \"1\"", cm.Name)
		}
		data, _ := os.ReadFile(path)
		if cm.Data[filepath.Base(path)] != string(data) {
			t.Errorf("dashboard ConfigMap %s does not carry %s as it is", cm.Name, path)
		}
	}
	if len(dashboards) < 2 {
		t.Errorf("%d dashboards in files/dashboards, want the operator's and the runtime's", len(dashboards))
	}
}

func jsonRoundTrip(t *testing.T, v any) any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNotesSayWhatToDoNext(t *testing.T) {
	tests := []struct {
		values string
		want   []string
	}{
		{values: "", want: []string{"rollout status deployment/sb-manager", "config/samples", "sb-metrics-reader", "monitoring.serviceMonitor"}},
		{values: "crds: {install: false}\nmetrics: {readerServiceAccount: {name: p, namespace: m}}\nmonitoring: {prometheusRule: {enabled: true}}",
			want: []string{"apply the CRDs yourself"}},
	}
	for _, tt := range tests {
		notes := render(t, values(t, tt.values), "switchboard-system").notes
		for _, w := range tt.want {
			if !strings.Contains(notes, w) {
				t.Errorf("values %q: NOTES.txt does not say %q:\n%s", tt.values, w, notes)
			}
		}
	}
}

// config/prometheus, the kustomize form of the same monitoring, applies too.
func TestKustomizeMonitoringApplies(t *testing.T) {
	ns := env.Namespace(t)
	dir := filepath.Join(testenv.RepoRoot(), "config", "prometheus")
	for _, file := range []string{"monitor.yaml", "podmonitor.yaml", "prometheus-rule.yaml"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range decode(t, file, string(data)) {
			o.SetNamespace(ns)
			err := env.Client.Apply(context.Background(), client.ApplyConfigurationFromUnstructured(o),
				client.FieldOwner("chart-test"), client.ForceOwnership, client.DryRunAll)
			if err != nil {
				t.Errorf("the API server refused config/prometheus/%s: %v", file, err)
			}
		}
	}
}
