package controllers_test

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// TestOIDCClientSecretIsWatched: a LiveChat whose OIDC client secret is missing says
// so, and becomes ready once the Secret is created, without any edit of the LiveChat.
func TestOIDCClientSecretIsWatched(t *testing.T) {
	ns := env.Namespace(t)
	objs := samples(t, ns)
	for _, o := range objs {
		if lc, ok := o.(*chatv1alpha1.LiveChat); ok {
			lc.Spec.AgentAuth.OIDC = &chatv1alpha1.OIDCSpec{IssuerURL: "https://id.example.com", ClientID: "switchboard",
				ClientSecretRef: &chatv1alpha1.SecretKeyReference{Name: "oidc-client", Key: "secret"}}
		}
	}
	create(t, objs...)
	liveChat := func() *chatv1alpha1.LiveChat {
		for _, o := range objs {
			if lc, ok := o.(*chatv1alpha1.LiveChat); ok {
				return get(t, ns, lc.Name, &chatv1alpha1.LiveChat{}).(*chatv1alpha1.LiveChat)
			}
		}
		t.Fatal("the samples hold no LiveChat")
		return nil
	}
	eventually(t, settle, func() (bool, string) {
		lc := liveChat()
		ready := meta.FindStatusCondition(lc.Status.Conditions, chatv1alpha1.ConditionReady)
		return ready != nil && ready.Status == metav1.ConditionFalse &&
			strings.Contains(ready.Message, `spec.agentAuth.oidc.clientSecretRef: Secret "oidc-client" does not exist`), "conditions: " + conditionsString(lc.Status.Conditions)
	})
	create(t, client.Object(&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "oidc-client", Namespace: ns},
		StringData: map[string]string{"secret": "s3cret-value"}}))
	allReady(t, objs, settle)
}
