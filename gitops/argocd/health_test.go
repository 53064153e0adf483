// Package argocd holds switchboard's Argo CD health checks, in Argo CD's
// resource_customizations layout; its test runs every health_test.yaml as Argo CD's
// own test harness does.
package argocd

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/internal/argohealth"
)

var kinds = []string{"ChatQueue", "Channel", "LiveChat", "NotificationPolicy", "OperatorGroup"}

type healthTests struct {
	Tests []struct {
		HealthStatus argohealth.Status `json:"healthStatus"`
		InputPath    string            `json:"inputPath"`
	} `json:"tests"`
}

func TestHealthChecks(t *testing.T) {
	root := filepath.Join("resource_customizations", "chat.switchboard.dev")
	for _, kind := range kinds {
		t.Run(kind, func(t *testing.T) {
			dir := filepath.Join(root, kind)
			raw, err := os.ReadFile(filepath.Join(dir, "health_test.yaml"))
			if err != nil {
				t.Fatal(err)
			}
			var tests healthTests
			if err := yaml.UnmarshalStrict(raw, &tests); err != nil {
				t.Fatal(err)
			}
			var covered []string
			for _, tc := range tests.Tests {
				got, err := argohealth.EvaluateFile(filepath.Join(dir, "health.lua"), filepath.Join(dir, tc.InputPath))
				if err != nil {
					t.Errorf("%s: %v", tc.InputPath, err)
					continue
				}
				if got != tc.HealthStatus {
					t.Errorf("%s: %+v, want %+v", tc.InputPath, got, tc.HealthStatus)
				}
				covered = append(covered, got.Status)
			}
			for _, want := range []string{"Healthy", "Progressing", "Degraded"} {
				if !slices.Contains(covered, want) {
					t.Errorf("no fixture of a %s %s", want, kind)
				}
			}
		})
	}
}

var update = flag.Bool("update", false, "rewrite argocd-cm.yaml from the health checks")

// argocd-cm.yaml carries the health checks as Argo CD reads them from its ConfigMap;
// it must say what the scripts say.
func TestConfigMapSnippetIsCurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString(`# Argo CD health checks of switchboard's kinds, as a patch of the argocd-cm
# ConfigMap (namespace argocd). Generated from resource_customizations/ by
# "go test ./gitops/argocd -update"; see docs/gitops.md.
apiVersion: v1
kind: ConfigMap
metadata:
  name: argocd-cm
  namespace: argocd
data:
`)
	for _, kind := range kinds {
		script, err := os.ReadFile(filepath.Join("resource_customizations", "chat.switchboard.dev", kind, "health.lua"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "  resource.customizations.health.chat.switchboard.dev_%s: |\n", kind)
		for line := range strings.Lines(string(script)) {
			if strings.TrimSpace(line) == "" {
				b.WriteString("\n")
				continue
			}
			b.WriteString("    " + line)
		}
	}
	want := b.String()
	if *update {
		if err := os.WriteFile("argocd-cm.yaml", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile("argocd-cm.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Error("argocd-cm.yaml is not what the health checks say: run go test ./gitops/argocd -update")
	}
	var cm struct {
		Data map[string]string `json:"data"`
	}
	if err := yaml.Unmarshal(got, &cm); err != nil {
		t.Fatal(err)
	}
	for _, kind := range kinds {
		script, _ := os.ReadFile(filepath.Join("resource_customizations", "chat.switchboard.dev", kind, "health.lua"))
		if got := cm.Data["resource.customizations.health.chat.switchboard.dev_"+kind]; got != string(script) {
			t.Errorf("argocd-cm.yaml's check of %s reads back as another script", kind)
		}
	}
}

// The five checks differ only in the kind they name and the Channel's Connected
// clause: they are written from one template (Argo CD has no includes), and must be
// what it gives.
func TestHealthChecksAreGenerated(t *testing.T) {
	tmpl, err := os.ReadFile("health.lua.tmpl")
	if err != nil {
		t.Fatal(err)
	}
	connected, err := os.ReadFile("connected.lua.part")
	if err != nil {
		t.Fatal(err)
	}
	for _, kind := range kinds {
		extra := ""
		if kind == "Channel" {
			extra = string(connected)
		}
		want := strings.ReplaceAll(strings.ReplaceAll(string(tmpl), "%KIND%", kind), "%EXTRA%", extra)
		path := filepath.Join("resource_customizations", "chat.switchboard.dev", kind, "health.lua")
		if *update {
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != want {
			t.Errorf("%s is not what health.lua.tmpl gives: edit the template and run go test ./gitops/argocd -update", path)
		}
	}
}
