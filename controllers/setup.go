package controllers

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// CacheOptions keep the operator's memory proportional to what it manages: only the
// children it rendered are cached, and Secrets are cached as their key names, without
// values or annotations (kubectl's last-applied annotation would hold the values).
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": FieldOwner})}
	return cache.Options{ByObject: map[client.Object]cache.ByObject{
		&corev1.ConfigMap{}:             managed,
		&corev1.ServiceAccount{}:        managed,
		&corev1.Service{}:               managed,
		&corev1.PersistentVolumeClaim{}: managed,
		&rbacv1.Role{}:                  managed,
		&rbacv1.RoleBinding{}:           managed,
		&appsv1.Deployment{}:            managed,
		&policyv1.PodDisruptionBudget{}: managed,
		&corev1.Secret{}:                {Transform: secretKeysOnly},
	}}
}

func secretKeysOnly(obj any) (any, error) {
	s, ok := obj.(*corev1.Secret)
	if !ok {
		return obj, nil
	}
	keys := make(map[string][]byte, len(s.Data))
	for k := range s.Data {
		keys[k] = nil
	}
	return &corev1.Secret{
		TypeMeta: s.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace, UID: s.UID, ResourceVersion: s.ResourceVersion,
			CreationTimestamp: s.CreationTimestamp, DeletionTimestamp: s.DeletionTimestamp, Labels: s.Labels},
		Type: s.Type,
		Data: keys,
	}, nil
}

// Setup registers the field index and every reconciler with the manager.
func Setup(ctx context.Context, mgr ctrl.Manager, opts RuntimeOptions) error {
	indexer := mgr.GetFieldIndexer()
	for _, obj := range []client.Object{&chatv1alpha1.LiveChat{}, &chatv1alpha1.ChatQueue{}, &chatv1alpha1.Channel{},
		&chatv1alpha1.NotificationPolicy{}} {
		if err := indexer.IndexField(ctx, obj, refsIndex, refsOf); err != nil {
			return fmt.Errorf("indexing %T: %w", obj, err)
		}
	}
	metrics := newOperatorMetrics(mgr.GetCache(), ctrlmetrics.Registry)
	lc := &LiveChatReconciler{Client: mgr.GetClient(), Recorder: mgr.GetEventRecorder(FieldOwner), Options: opts, metrics: metrics}
	setups := []interface{ SetupWithManager(ctrl.Manager) error }{
		lc,
		&dependentReconciler[*chatv1alpha1.ChatQueue]{Client: mgr.GetClient(), kind: queueKind()},
		&dependentReconciler[*chatv1alpha1.Channel]{Client: mgr.GetClient(), kind: channelKind()},
		&dependentReconciler[*chatv1alpha1.OperatorGroup]{Client: mgr.GetClient(), kind: groupKind()},
		&dependentReconciler[*chatv1alpha1.NotificationPolicy]{Client: mgr.GetClient(), kind: policyKind()},
	}
	for _, s := range setups {
		if err := s.SetupWithManager(mgr); err != nil {
			return err
		}
	}
	return nil
}

// describe names an apply configuration for error messages: "Deployment support-runtime".
func describe(obj runtime.ApplyConfiguration) string {
	var head struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	data, _ := json.Marshal(obj)
	_ = json.Unmarshal(data, &head)
	return head.Kind + " " + head.Metadata.Name
}
