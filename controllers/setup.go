package controllers

import (
	"context"
	"encoding/json"
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// CacheOptions keep the operator's memory proportional to what it manages: only the
// children it rendered are cached, nothing keeps managed fields, and Secrets are watched
// as metadata only (see secretMetadata). Referenced Secrets are read from the API when a
// reconcile needs their key names, and dropped when it ends.
func CacheOptions() cache.Options {
	managed := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{"app.kubernetes.io/managed-by": FieldOwner})}
	return cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&corev1.ConfigMap{}:             managed,
			&corev1.ServiceAccount{}:        managed,
			&corev1.Service{}:               managed,
			&corev1.PersistentVolumeClaim{}: managed,
			&rbacv1.Role{}:                  managed,
			&rbacv1.RoleBinding{}:           managed,
			&appsv1.Deployment{}:            managed,
			&policyv1.PodDisruptionBudget{}: managed,
			// Applies to the metadata-only informer the controllers start for Secrets.
			&corev1.Secret{}: {Transform: secretMetadata},
		},
	}
}

// secretMetadata keeps what a Secret event needs to find the objects that reference it:
// name, namespace, UID, resource version, labels. Annotations go, because kubectl's
// last-applied-configuration annotation holds the values; so do managed fields, which
// name every key. Should a whole Secret ever reach the cache, its data goes too.
func secretMetadata(obj any) (any, error) {
	m, err := meta.Accessor(obj)
	if err != nil {
		return obj, nil
	}
	m.SetAnnotations(nil)
	m.SetManagedFields(nil)
	if s, ok := obj.(*corev1.Secret); ok {
		s.Data, s.StringData = nil, nil
	}
	return obj, nil
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
	// Secrets are read past the cache, from the API, and only those referenced.
	c, secrets := mgr.GetClient(), mgr.GetAPIReader()
	lc := &LiveChatReconciler{Client: c, Secrets: secrets, Recorder: mgr.GetEventRecorder(FieldOwner), Options: opts, metrics: metrics}
	setups := []interface{ SetupWithManager(ctrl.Manager) error }{
		lc,
		&dependentReconciler[*chatv1alpha1.ChatQueue]{Client: c, secrets: secrets, kind: queueKind()},
		&dependentReconciler[*chatv1alpha1.Channel]{Client: c, secrets: secrets, kind: channelKind()},
		&dependentReconciler[*chatv1alpha1.OperatorGroup]{Client: c, secrets: secrets, kind: groupKind()},
		&dependentReconciler[*chatv1alpha1.NotificationPolicy]{Client: c, secrets: secrets, kind: policyKind()},
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
