package testenv

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
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

// asOperator binds the ClusterRole of config/rbac/role.yaml to the operator's
// ServiceAccount and returns a config that impersonates it.
func (e *Env) asOperator(ctx context.Context) (*rest.Config, error) {
	data, err := os.ReadFile(filepath.Join(RepoRoot(), "config", "rbac", "role.yaml"))
	if err != nil {
		return nil, err
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(data, &role); err != nil {
		return nil, fmt.Errorf("config/rbac/role.yaml: %w", err)
	}
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: OperatorNamespace}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: OperatorNamespace, Name: OperatorServiceAccount}},
		&role,
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: role.Name},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: OperatorNamespace, Name: OperatorServiceAccount}}},
	}
	for _, o := range objs {
		if err := e.Client.Create(ctx, o); client.IgnoreAlreadyExists(err) != nil {
			return nil, fmt.Errorf("creating the operator's RBAC: %w", err)
		}
	}
	cfg := rest.CopyConfig(e.Config)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: "system:serviceaccount:" + OperatorNamespace + ":" + OperatorServiceAccount}
	return cfg, nil
}
