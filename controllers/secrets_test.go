package controllers_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// TestOperatorHoldsNoSecretValues checks what the operator asks the API server about
// Secrets and what it keeps of them. It watches Secrets as metadata only, reads just the
// Secrets something references, and its cache keeps no annotations (kubectl's
// last-applied-configuration holds the values) and no managed fields. A change of keys
// in a referenced Secret still reaches the status of what references it.
func TestOperatorHoldsNoSecretValues(t *testing.T) {
	ns := env.Namespace(t)
	objs := samples(t, ns)
	const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"
	unrelated := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "unrelated", Namespace: ns,
		Annotations: map[string]string{lastApplied: `{"stringData":{"password":"hunter2"}}`}},
		StringData: map[string]string{"password": "hunter2"}}
	create(t, append(objs, unrelated)...)
	allReady(t, objs, settle)

	referenced := map[string]bool{}
	for _, s := range compiledConfig(t, ns).Secrets {
		referenced[s.Name] = true
	}
	if len(referenced) == 0 {
		t.Fatal("the samples reference no Secret")
	}
	// Every list and watch of Secrets asks for metadata only; every read of one in this
	// namespace is of a Secret the samples reference.
	for _, r := range operator.Writes.SecretRequests() {
		parts := strings.Split(strings.TrimPrefix(r.Path, "/api/v1/"), "/")
		named := len(parts) == 4 && parts[0] == "namespaces" && parts[2] == "secrets"
		switch {
		case r.Method != "GET":
			t.Errorf("the operator sent %s %s: it never writes Secrets", r.Method, r.Path)
		case !named && !strings.Contains(r.Accept, "as=PartialObjectMetadata"):
			t.Errorf("the operator listed or watched Secrets with their values (%s?%s, Accept %q): watch them as metadata only",
				r.Path, r.Query, r.Accept)
		case named && parts[1] == ns && !referenced[parts[3]]:
			t.Errorf("the operator read Secret %s, which nothing references", parts[3])
		}
	}

	// What the operator's cache holds of a Secret: enough to find what references it.
	cached := &metav1.PartialObjectMetadataList{}
	cached.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("SecretList"))
	if err := operator.Manager.GetCache().List(context.Background(), cached, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	byName := map[string]metav1.PartialObjectMetadata{}
	for _, s := range cached.Items {
		byName[s.Name] = s
	}
	for _, name := range []string{"unrelated", "telegram-bot"} {
		t.Run("the cached "+name, func(t *testing.T) {
			s, ok := byName[name]
			if !ok {
				t.Fatalf("not in the operator's cache; it holds %v", sortedKeys(byName))
			}
			if len(s.Annotations) > 0 || len(s.ManagedFields) > 0 {
				t.Errorf("the operator's cache holds annotations %v and %d managed fields entries; it should hold neither",
					s.Annotations, len(s.ManagedFields))
			}
		})
	}

	// Keys change in a referenced Secret: the channel says so, and heals.
	cases := []struct {
		name   string
		data   map[string][]byte
		reason string
	}{
		{"the key is removed", map[string][]byte{"other": []byte("x")}, chatv1alpha1.ReasonSecretKeyNotFound},
		{"the key is back", map[string][]byte{"token": []byte("123:abc")}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mutate(t, ns, "telegram-bot", &corev1.Secret{}, func(s *corev1.Secret) { s.Data = c.data })
			eventually(t, settle, func() (bool, string) {
				ch := get(t, ns, "telegram", &chatv1alpha1.Channel{}).(*chatv1alpha1.Channel)
				refs := meta.FindStatusCondition(ch.Status.Conditions, chatv1alpha1.ConditionResolvedRefs)
				if c.reason == "" {
					return refs != nil && refs.Status == metav1.ConditionTrue, "channel conditions: " + conditionsString(ch.Status.Conditions)
				}
				return refs != nil && refs.Reason == c.reason, "channel conditions: " + conditionsString(ch.Status.Conditions)
			})
		})
	}
	// The LiveChat takes the healed channel in too, and the namespace comes to rest
	// before the next test counts the operator's writes.
	allReady(t, objs, settle)
}

func sortedKeys[V any](m map[string]V) string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return fmt.Sprint(out)
}
