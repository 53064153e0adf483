package testenv

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// OperatorNamespace and OperatorServiceAccount are where the in-process operator
// runs as, as it does when installed: tests then fail if it needs a permission
// config/rbac does not grant.
const (
	OperatorNamespace      = "switchboard-system"
	OperatorServiceAccount = "switchboard-manager"
)

// OperatorRBAC reads the objects config/rbac/kustomization.yaml lists, placed in
// namespace ns as kustomize's namespace setting places them: namespaced objects move
// to ns, and so do the ServiceAccounts that bindings name.
func OperatorRBAC(ns string) ([]*unstructured.Unstructured, error) {
	dir := filepath.Join(RepoRoot(), "config", "rbac")
	data, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return nil, err
	}
	var kustomization struct{ Resources []string }
	if err := yaml.Unmarshal(data, &kustomization); err != nil {
		return nil, fmt.Errorf("config/rbac/kustomization.yaml: %w", err)
	}
	var out []*unstructured.Unstructured
	for _, file := range kustomization.Resources {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			return nil, err
		}
		for _, doc := range bytes.Split(data, []byte("\n---")) {
			var obj map[string]any
			if err := yaml.Unmarshal(doc, &obj); err != nil {
				return nil, fmt.Errorf("config/rbac/%s: %w", file, err)
			}
			if len(obj) == 0 {
				continue
			}
			u := &unstructured.Unstructured{Object: obj}
			switch u.GetKind() {
			case "ServiceAccount", "Role", "RoleBinding":
				u.SetNamespace(ns)
			}
			if subjects, ok := obj["subjects"].([]any); ok {
				for _, s := range subjects {
					if s, ok := s.(map[string]any); ok && s["kind"] == "ServiceAccount" {
						s["namespace"] = ns
					}
				}
			}
			out = append(out, u)
		}
	}
	return out, nil
}

// InstallOperatorRBAC creates namespace ns and config/rbac in it, as
// `kubectl apply -k config/default` does with the namespace set to ns.
func (e *Env) InstallOperatorRBAC(ctx context.Context, ns string) error {
	objs, err := OperatorRBAC(ns)
	if err != nil {
		return err
	}
	if err := e.Client.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); client.IgnoreAlreadyExists(err) != nil {
		return err
	}
	for _, o := range objs {
		if err := e.Client.Create(ctx, o); client.IgnoreAlreadyExists(err) != nil {
			return fmt.Errorf("creating %s %s of config/rbac: %w", o.GetKind(), o.GetName(), err)
		}
	}
	return nil
}

// ServiceAccountConfig returns a config that authenticates as ServiceAccount ns/name
// with a token the API server issued for it, as a pod of that ServiceAccount would.
func (e *Env) ServiceAccountConfig(ctx context.Context, ns, name string) (*rest.Config, error) {
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return nil, err
	}
	tr, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](24 * 3600)}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("a token for ServiceAccount %s/%s: %w", ns, name, err)
	}
	// The control plane's settings (its CA, and envtest's generous client-side rate
	// limits, which a throttled operator would otherwise trip over) without its admin
	// credentials.
	cfg := rest.AnonymousClientConfig(e.Config)
	cfg.BearerToken = tr.Status.Token
	return cfg, nil
}

// KubeConfigOf writes cfg, a config with a bearer token such as ServiceAccountConfig
// returns, as a kubeconfig, for programs started as separate processes.
func KubeConfigOf(cfg *rest.Config) ([]byte, error) {
	return clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"envtest": {Server: cfg.Host, CertificateAuthorityData: cfg.CAData}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"user": {Token: cfg.BearerToken}},
		Contexts:       map[string]*clientcmdapi.Context{"envtest": {Cluster: "envtest", AuthInfo: "user"}},
		CurrentContext: "envtest",
	})
}

// asOperator installs config/rbac in OperatorNamespace and returns a config that
// authenticates as the operator's ServiceAccount.
func (e *Env) asOperator(ctx context.Context) (*rest.Config, error) {
	if err := e.InstallOperatorRBAC(ctx, OperatorNamespace); err != nil {
		return nil, err
	}
	return e.ServiceAccountConfig(ctx, OperatorNamespace, OperatorServiceAccount)
}
