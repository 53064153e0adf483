// Package flux holds an example Flux Kustomization for switchboard; its test keeps
// the example valid.
package flux

import (
	"os"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestExampleKustomization(t *testing.T) {
	raw, err := os.ReadFile("kustomization.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Spec       struct {
			Wait         bool `json:"wait"`
			HealthChecks []struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
				Name       string `json:"name"`
			} `json:"healthChecks"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(raw, &k); err != nil {
		t.Fatal(err)
	}
	if k.APIVersion != "kustomize.toolkit.fluxcd.io/v1" || k.Kind != "Kustomization" {
		t.Errorf("%s %s, want a kustomize.toolkit.fluxcd.io/v1 Kustomization", k.APIVersion, k.Kind)
	}
	if !k.Spec.Wait {
		t.Error("the example does not wait for health")
	}
	for _, h := range k.Spec.HealthChecks {
		if h.APIVersion != "chat.switchboard.dev/v1alpha1" {
			t.Errorf("health check of %s %s: apiVersion %s", h.Kind, h.Name, h.APIVersion)
		}
	}
}
