package controllers_test

import (
	"encoding/json"
	"reflect"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// runtimeDeployment renders a LiveChat offline and returns its runtime Deployment.
func runtimeDeployment(t *testing.T, lc *chatv1alpha1.LiveChat) *appsv1.Deployment {
	t.Helper()
	cfg, _ := config.Compile(config.Input{LiveChat: lc})
	for _, obj := range controllers.RuntimeObjects(lc, cfg, controllers.RuntimeOptions{Image: "registry.example.com/switchboard:1"}) {
		data, err := json.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		var dep appsv1.Deployment
		if err := json.Unmarshal(data, &dep); err != nil {
			t.Fatal(err)
		}
		if dep.Kind == "Deployment" {
			return &dep
		}
	}
	t.Fatal("no Deployment rendered")
	return nil
}

// The runtime pods are hardened as the operator's own (charts/switchboard), and pull
// from a private registry with the Secrets the LiveChat names.
func TestRuntimePodHardeningAndPullSecrets(t *testing.T) {
	tests := []struct {
		name        string
		pullSecrets []corev1.LocalObjectReference
	}{
		{name: "public image"},
		{name: "private registry", pullSecrets: []corev1.LocalObjectReference{{Name: "regcred"}, {Name: "mirror"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lc := &chatv1alpha1.LiveChat{}
			lc.Name, lc.Namespace = "support", "chat"
			lc.Spec.Runtime.ImagePullSecrets = tt.pullSecrets
			pod := runtimeDeployment(t, lc).Spec.Template.Spec
			c := pod.Containers[0]
			psc, sc := pod.SecurityContext, c.SecurityContext
			checks := []struct {
				what string
				ok   bool
			}{
				{"pod runAsNonRoot", psc != nil && psc.RunAsNonRoot != nil && *psc.RunAsNonRoot},
				{"pod seccomp RuntimeDefault", psc != nil && psc.SeccompProfile != nil && psc.SeccompProfile.Type == corev1.SeccompProfileTypeRuntimeDefault},
				{"read-only root filesystem", sc != nil && sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem},
				{"no privilege escalation", sc != nil && sc.AllowPrivilegeEscalation != nil && !*sc.AllowPrivilegeEscalation},
				{"drops ALL capabilities", sc != nil && sc.Capabilities != nil && reflect.DeepEqual(sc.Capabilities.Drop, []corev1.Capability{"ALL"})},
				{"probes", c.LivenessProbe != nil && c.ReadinessProbe != nil},
				{"memory limit and cpu request", !c.Resources.Limits.Memory().IsZero() && !c.Resources.Requests.Cpu().IsZero()},
				{"the LiveChat's imagePullSecrets", reflect.DeepEqual(pod.ImagePullSecrets, tt.pullSecrets)},
			}
			for _, check := range checks {
				if !check.ok {
					t.Errorf("the runtime pod lacks: %s", check.what)
				}
			}
		})
	}
}
