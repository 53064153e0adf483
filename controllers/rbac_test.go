package controllers_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// allowed is one line of an allow-list: verbs on resources of one API group (or on
// non-resource URLs), and why they are needed.
type allowed struct {
	group     string
	resources []string
	urls      []string
	verbs     []string
	why       string
}

// grants expands allow-list lines into "verb group/resource" (or "verb URL") strings,
// each with the reason it is allowed.
func grants(lines []allowed) map[string]string {
	out := map[string]string{}
	for _, l := range lines {
		for _, v := range l.verbs {
			for _, r := range l.resources {
				out[v+" "+l.group+"/"+r] = l.why
			}
			for _, u := range l.urls {
				out[v+" "+u] = l.why
			}
		}
	}
	return out
}

// grantsOf expands RBAC rules the same way; a resource name limit is kept as [names].
func grantsOf(rules []rbacv1.PolicyRule) []string {
	var out []string
	for _, r := range rules {
		names := ""
		if len(r.ResourceNames) > 0 {
			names = " [" + strings.Join(r.ResourceNames, " ") + "]"
		}
		for _, v := range r.Verbs {
			for _, g := range r.APIGroups {
				for _, res := range r.Resources {
					out = append(out, v+" "+g+"/"+res+names)
				}
			}
			for _, u := range r.NonResourceURLs {
				out = append(out, v+" "+u)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// operatorCluster is everything the operator may do across the cluster: each verb is
// one it sends. Objects it caches need list and watch and never get.
var operatorCluster = []allowed{
	{group: "chat.switchboard.dev", resources: []string{"livechats", "chatqueues", "channels", "operatorgroups", "notificationpolicies"},
		verbs: []string{"list", "watch"}, why: "cached: it reads spec"},
	{group: "chat.switchboard.dev", resources: []string{"livechats/status", "chatqueues/status", "channels/status", "operatorgroups/status", "notificationpolicies/status"},
		verbs: []string{"patch"}, why: "it writes status, never spec"},
	{group: "events.k8s.io", resources: []string{"events"}, verbs: []string{"create", "patch"}, why: "events about LiveChats"},
	{group: "", resources: []string{"configmaps", "serviceaccounts", "services", "persistentvolumeclaims"},
		verbs: []string{"list", "watch", "create", "patch"}, why: "rendered by server-side apply, cached by label"},
	{group: "apps", resources: []string{"deployments"}, verbs: []string{"list", "watch", "create", "patch"}, why: "the runtime"},
	{group: "rbac.authorization.k8s.io", resources: []string{"roles", "rolebindings"}, verbs: []string{"list", "watch", "create", "patch"},
		why: "the runtime's Role"},
	{group: "policy", resources: []string{"poddisruptionbudgets"}, verbs: []string{"list", "watch", "create", "patch", "delete"},
		why: "removed when replicas drop to one"},
	{group: "", resources: []string{"secrets"}, verbs: []string{"list", "watch"}, why: "a metadata-only watch"},
	{group: "", resources: []string{"secrets"}, verbs: []string{"get"}, why: "key names of referenced Secrets"},
	{group: "authentication.k8s.io", resources: []string{"tokenreviews"}, verbs: []string{"create"}, why: "who scrapes /metrics"},
	{group: "authorization.k8s.io", resources: []string{"subjectaccessreviews"}, verbs: []string{"create"}, why: "whether they may"},
}

// operatorNamespace is what it may do in its own namespace only.
var operatorNamespace = []allowed{
	{group: "coordination.k8s.io", resources: []string{"leases"}, verbs: []string{"get", "create", "update"}, why: "leader election"},
	{group: "", resources: []string{"events"}, verbs: []string{"create", "patch"}, why: "leader election's events about the lease"},
}

// TestOperatorRBACIsTheAllowList reads config/rbac as kustomize installs it and checks
// that what each Role and ClusterRole grants is exactly its allow-list: a rule added,
// widened or removed fails here, and the envtest suites, which run the operator as its
// ServiceAccount with these roles, fail when one it needs is missing.
func TestOperatorRBACIsTheAllowList(t *testing.T) {
	const ns = "operator-ns"
	objs, err := testenv.OperatorRBAC(ns)
	if err != nil {
		t.Fatal(err)
	}
	roles := map[string]rbacv1.ClusterRole{} // "ClusterRole name" or "Role namespace/name"
	var bindings []rbacv1.RoleBinding        // ClusterRoleBindings too, namespace empty
	for _, o := range objs {
		switch o.GetKind() {
		case "ClusterRole", "Role":
			var r rbacv1.ClusterRole
			fromUnstructured(t, o, &r)
			roles[o.GetKind()+" "+namespaced(o.GetNamespace(), o.GetName())] = r
		case "ClusterRoleBinding", "RoleBinding":
			var b rbacv1.RoleBinding
			fromUnstructured(t, o, &b)
			bindings = append(bindings, b)
		}
	}
	// What each subject may do, by scope: the grants of the roles bound to it.
	bound := func(subject string) map[string][]string {
		out := map[string][]string{}
		for _, b := range bindings {
			for _, s := range b.Subjects {
				if s.Kind+" "+namespaced(s.Namespace, s.Name) != subject {
					continue
				}
				scope, key := "cluster", b.RoleRef.Kind+" "+b.RoleRef.Name
				if b.Namespace != "" {
					scope = "namespace " + b.Namespace
				}
				if b.RoleRef.Kind == "Role" {
					key = "Role " + namespaced(b.Namespace, b.RoleRef.Name)
				}
				role, ok := roles[key]
				if !ok {
					t.Errorf("%s binds %s, which config/rbac does not hold", b.Name, key)
				}
				out[scope] = append(out[scope], grantsOf(role.Rules)...)
			}
		}
		return out
	}
	operator := bound("ServiceAccount " + namespaced(ns, testenv.OperatorServiceAccount))
	cases := []struct {
		name string
		got  []string
		want []allowed
	}{
		{"the operator, cluster-wide", operator["cluster"], operatorCluster},
		{"the operator, in its own namespace", operator["namespace "+ns], operatorNamespace},
		{"a metrics scraper (ClusterRole switchboard-metrics-reader)", grantsOf(roles["ClusterRole switchboard-metrics-reader"].Rules),
			[]allowed{{urls: []string{"/metrics"}, verbs: []string{"get"}, why: "scrape the operator's metrics"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, want := c.got, grants(c.want)
			slices.Sort(got)
			got = slices.Compact(got)
			for _, g := range got {
				if _, ok := want[g]; !ok {
					t.Errorf("config/rbac grants %q, which the allow-list does not: remove the rule, or add it to the allow-list with the reason", g)
				}
			}
			for w, why := range want {
				if !slices.Contains(got, w) {
					t.Errorf("the allow-list has %q (%s), which config/rbac does not grant", w, why)
				}
			}
		})
	}
	for _, b := range bindings {
		for _, s := range b.Subjects {
			if s.Kind != "ServiceAccount" || s.Name != testenv.OperatorServiceAccount || s.Namespace != ns {
				t.Errorf("%s binds %s to %s %s: config/rbac binds roles to the operator's ServiceAccount only", b.Name, b.RoleRef.Name, s.Kind, s.Name)
			}
		}
	}
}

// TestRuntimeRoleIsLeastPrivilege checks the Role a LiveChat renders for its runtime:
// list and watch (what its one-name informers send) on its own ConfigMap and on exactly
// the Secrets the configuration names; list (by name) and patch status on exactly its
// messenger Channels, whose Connected condition it writes, and on exactly its
// NotificationPolicies, whose delivery counts it writes; and nothing else. test/e2e runs a runtime under
// the rendered Role, so a rule it needs cannot go missing either.
func TestRuntimeRoleIsLeastPrivilege(t *testing.T) {
	in := config.Gather(runtimeObjects(samples(t, "ns")), "ns")[0]
	samplesCfg, problems := config.Compile(in)
	if len(problems) > 0 {
		t.Fatalf("the samples compile with problems: %s", problems.Summary(10))
	}
	bare := &chatv1alpha1.LiveChat{}
	bare.Name, bare.Namespace = "bare", "ns"
	bareCfg, _ := config.Compile(config.Input{LiveChat: bare})
	messengers := *bareCfg
	messengers.Channels = []config.Channel{{Name: "tg", Type: config.ChannelTelegram}, {Name: "wa", Type: config.ChannelWhatsApp},
		{Name: "widget", Type: config.ChannelWebWidget}, {Name: "sms", Type: config.ChannelSMS},
		{Name: "fb", Type: config.ChannelFacebookMessenger}, {Name: "staff", Type: config.ChannelInternal}}
	withPolicies := *bareCfg
	withPolicies.Policies = []config.Policy{{Name: "urgent"}, {Name: "digest"}}
	cases := []struct {
		name string
		lc   *chatv1alpha1.LiveChat
		cfg  *config.Config
		want []string
	}{
		{"the samples", in.LiveChat, samplesCfg, []string{
			"list /configmaps [support-config]",
			"list /secrets [smtp-credentials support-operator-tokens telegram-bot twilio webhook-signing]",
			"list chat.switchboard.dev/channels [telegram]",
			"list chat.switchboard.dev/notificationpolicies [support-notifications]",
			"patch chat.switchboard.dev/channels/status [telegram]",
			"patch chat.switchboard.dev/notificationpolicies/status [support-notifications]",
			"watch /configmaps [support-config]",
			"watch /secrets [smtp-credentials support-operator-tokens telegram-bot twilio webhook-signing]",
		}},
		{"a LiveChat that names no Secret", bare, bareCfg, []string{
			"list /configmaps [bare-config]",
			"watch /configmaps [bare-config]",
		}},
		{"messenger channels get status, widget and internal ones do not", bare, &messengers, []string{
			"list /configmaps [bare-config]",
			"list chat.switchboard.dev/channels [fb sms tg wa]",
			"patch chat.switchboard.dev/channels/status [fb sms tg wa]",
			"watch /configmaps [bare-config]",
		}},
		{"every policy gets its delivery status", bare, &withPolicies, []string{
			"list /configmaps [bare-config]",
			"list chat.switchboard.dev/notificationpolicies [digest urgent]",
			"patch chat.switchboard.dev/notificationpolicies/status [digest urgent]",
			"watch /configmaps [bare-config]",
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var role *rbacv1.Role
			for _, obj := range controllers.RuntimeObjects(c.lc, c.cfg, controllers.RuntimeOptions{}) {
				data, err := json.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				var r rbacv1.Role
				if err := json.Unmarshal(data, &r); err != nil {
					t.Fatal(err)
				}
				if r.Kind == "Role" {
					role = &r
				}
			}
			if role == nil {
				t.Fatal("no Role rendered")
			}
			if got := grantsOf(role.Rules); !slices.Equal(got, c.want) {
				t.Errorf("the runtime's Role grants\n  %s\nwant exactly\n  %s", strings.Join(got, "\n  "), strings.Join(c.want, "\n  "))
			}
		})
	}
}

// TestChartRBACMatchesConfig checks that the Helm chart grants what config/rbac grants:
// its templates take their rules from copies under charts/switchboard/files.
func TestChartRBACMatchesConfig(t *testing.T) {
	rulesOf := func(path ...string) []string {
		data, err := os.ReadFile(filepath.Join(append([]string{testenv.RepoRoot()}, path...)...))
		if err != nil {
			t.Fatal(err)
		}
		var r rbacv1.ClusterRole
		if err := yaml.Unmarshal(data, &r); err != nil {
			t.Fatalf("%s: %v", filepath.Join(path...), err)
		}
		return grantsOf(r.Rules)
	}
	cases := []struct{ chart, config string }{
		{"manager-role.yaml", "role.yaml"},
		{"leader-election-role.yaml", "leader_election_role.yaml"},
		{"metrics-reader-role.yaml", "metrics_reader_role.yaml"},
	}
	for _, c := range cases {
		t.Run(c.chart, func(t *testing.T) {
			chart, fromConfig := rulesOf("charts", "switchboard", "files", c.chart), rulesOf("config", "rbac", c.config)
			if !slices.Equal(chart, fromConfig) || len(chart) == 0 {
				t.Errorf("charts/switchboard/files/%s grants\n  %s\nbut config/rbac/%s grants\n  %s\ncopy it over",
					c.chart, strings.Join(chart, "\n  "), c.config, strings.Join(fromConfig, "\n  "))
			}
		})
	}
}

func namespaced(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func fromUnstructured(t *testing.T, u *unstructured.Unstructured, into any) {
	t.Helper()
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		t.Fatalf("%s %s: %v", u.GetKind(), u.GetName(), err)
	}
}
