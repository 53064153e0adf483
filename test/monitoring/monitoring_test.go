// Package monitoring checks the alert rules and Grafana dashboards against the code and
// the docs: every metric they use is defined, every alert has its runbook section, its
// annotations and its promtool tests, and config/prometheus carries the chart's copy.
// The rules themselves are evaluated by `make test-rules` (promtool, rules_test.yaml).
package monitoring

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

const runbookBase = "https://github.com/switchboard-chat/switchboard/blob/main/docs/runbooks.md#"

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []rule `json:"rules"`
	} `json:"groups"`
}

type rule struct {
	Alert       string            `json:"alert"`
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations"`
}

func root(parts ...string) string {
	return filepath.Join(append([]string{testenv.RepoRoot()}, parts...)...)
}

func read(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(root(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func alerts(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	if err := yaml.UnmarshalStrict(read(t, "charts", "switchboard", "files", "prometheus-rules.yaml"), &f); err != nil {
		t.Fatalf("prometheus-rules.yaml: %v", err)
	}
	var out []rule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) < 11 {
		t.Fatalf("%d alerts in prometheus-rules.yaml, want at least 11", len(out))
	}
	return out
}

// dashboardExprs returns every query of every dashboard, by dashboard file.
func dashboardExprs(t *testing.T) map[string][]string {
	t.Helper()
	files, err := filepath.Glob(root("charts", "switchboard", "files", "dashboards", "*.json"))
	if err != nil || len(files) < 2 {
		t.Fatalf("want the operator's and the runtime's dashboards, found %v (%v)", files, err)
	}
	out := map[string][]string{}
	for _, file := range files {
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Type    string `json:"type"`
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatalf("%s is not valid JSON: %v", file, err)
		}
		if d.UID == "" {
			t.Errorf("%s has no uid: Grafana would give it a new one on every load", file)
		}
		for _, p := range d.Panels {
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("%s: panel %q has no query", file, p.Title)
			}
			for _, target := range p.Targets {
				out[filepath.Base(file)] = append(out[filepath.Base(file)], target.Expr)
			}
		}
	}
	return out
}

// metricName finds the series names a query reads: ours and the ones controller-runtime
// and Prometheus define. Label names and functions never carry these prefixes.
var metricName = regexp.MustCompile(`\b(?:switchboard|controller_runtime|workqueue|leader_election)_[a-z0-9_]*[a-z0-9]\b|\bup\b`)

func TestAlertsAndDashboardsUseDefinedMetrics(t *testing.T) {
	ours := goSource(t, testenv.RepoRoot())
	crDir := moduleDir(t, "sigs.k8s.io/controller-runtime")
	external := goSource(t, filepath.Join(crDir, "pkg", "metrics")) + goSource(t, filepath.Join(crDir, "pkg", "internal", "controller", "metrics"))
	workqueue, err := os.ReadFile(filepath.Join(crDir, "pkg", "metrics", "workqueue.go"))
	if err != nil {
		t.Fatal(err)
	}
	workqueueKeys := string(workqueue)

	uses := map[string][]string{} // metric -> where
	for _, a := range alerts(t) {
		for _, m := range metricName.FindAllString(a.Expr, -1) {
			uses[m] = append(uses[m], "alert "+a.Alert)
		}
	}
	for file, exprs := range dashboardExprs(t) {
		for _, e := range exprs {
			for _, m := range metricName.FindAllString(e, -1) {
				uses[m] = append(uses[m], "dashboard "+file)
			}
		}
	}
	if len(uses) < 30 {
		t.Fatalf("found only %d metrics in the rules and dashboards: the pattern no longer matches", len(uses))
	}
	for name, where := range uses {
		base := name
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			base = strings.TrimSuffix(base, suffix)
		}
		var defined bool
		switch {
		case name == "up": // Prometheus's own, per target
			defined = true
		case strings.HasPrefix(name, "switchboard_"):
			defined = strings.Contains(ours, `"`+base+`"`)
		case strings.HasPrefix(name, "workqueue_"):
			// controller-runtime names them subsystem + key.
			defined = strings.Contains(workqueueKeys, `WorkQueueSubsystem         = "workqueue"`) &&
				strings.Contains(workqueueKeys, `"`+strings.TrimPrefix(base, "workqueue_")+`"`)
		default:
			defined = strings.Contains(external, `"`+base+`"`)
		}
		if !defined {
			t.Errorf("%s uses the metric %s, which no code defines", strings.Join(slices.Compact(slices.Sorted(slices.Values(where))), ", "), name)
		}
	}
}

// goSource is the text of every non-test Go file under dir, outside test/.
func goSource(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "test" || d.Name() == "testdata" || d.Name() == "bin" || strings.HasPrefix(d.Name(), ".")) && path != dir {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			b.Write(data)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func moduleDir(t *testing.T, module string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = testenv.RepoRoot()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -m %s: %v", module, err)
	}
	return strings.TrimSpace(string(out))
}

// Every alert says what happened, in words, and links to its runbook section, which
// says what it means, how to check and how to fix; operations.md lists it.
func TestEveryAlertHasItsRunbook(t *testing.T) {
	runbooks := string(read(t, "docs", "runbooks.md"))
	operations := string(read(t, "docs", "operations.md"))
	sections := map[string]string{}
	for _, part := range strings.Split(runbooks, "\n## ")[1:] {
		heading, body, _ := strings.Cut(part, "\n")
		sections[heading] = body
	}
	for _, a := range alerts(t) {
		if a.Annotations["summary"] == "" || a.Annotations["description"] == "" {
			t.Errorf("%s lacks a summary or a description", a.Alert)
		}
		if sev := a.Labels["severity"]; sev != "warning" && sev != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", a.Alert, sev)
		}
		anchor := strings.ToLower(a.Alert)
		if got := a.Annotations["runbook_url"]; got != runbookBase+anchor {
			t.Errorf("%s: runbook_url %q, want %q", a.Alert, got, runbookBase+anchor)
		}
		body, ok := sections[a.Alert]
		if !ok {
			t.Errorf("docs/runbooks.md has no section \"## %s\"", a.Alert)
			continue
		}
		for _, part := range []string{"**Meaning.**", "**Check.**", "**Fix.**"} {
			if !strings.Contains(body, part) {
				t.Errorf("docs/runbooks.md, %s: no %s part", a.Alert, part)
			}
		}
		if !strings.Contains(operations, "(runbooks.md#"+anchor+")") {
			t.Errorf("docs/operations.md does not list %s with a link to runbooks.md#%s", a.Alert, anchor)
		}
		delete(sections, a.Alert)
	}
	for heading := range sections {
		t.Errorf("docs/runbooks.md has a section %q for no alert", heading)
	}
}

// Every alert has promtool tests that fire it and that do not.
func TestEveryAlertIsTested(t *testing.T) {
	var tests struct {
		RuleFiles []string `json:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string           `json:"alertname"`
				ExpAlerts []map[string]any `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(read(t, "test", "monitoring", "rules_test.yaml"), &tests); err != nil {
		t.Fatal(err)
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, a := range alerts(t) {
		if !fires[a.Alert] {
			t.Errorf("rules_test.yaml has no case where %s fires", a.Alert)
		}
		if !quiet[a.Alert] {
			t.Errorf("rules_test.yaml has no case where %s stays quiet", a.Alert)
		}
	}
}

// config/prometheus/prometheus-rule.yaml is the chart's rules file in a PrometheusRule
// (make monitoring), and its dashboards are the chart's.
func TestKustomizeCopiesMatchTheChart(t *testing.T) {
	var chartRules, kustomized map[string]any
	if err := yaml.Unmarshal(read(t, "charts", "switchboard", "files", "prometheus-rules.yaml"), &chartRules); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(read(t, "config", "prometheus", "prometheus-rule.yaml"), &kustomized); err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(chartRules)
	b, _ := json.Marshal(kustomized["spec"])
	if string(a) != string(b) {
		t.Error("config/prometheus/prometheus-rule.yaml differs from charts/switchboard/files/prometheus-rules.yaml: run make monitoring")
	}
	for file := range dashboardExprs(t) {
		if string(read(t, "config", "prometheus", "dashboards", file)) != string(read(t, "charts", "switchboard", "files", "dashboards", file)) {
			t.Errorf("config/prometheus/dashboards/%s differs from the chart's: run make monitoring", file)
		}
	}
}
