package kubestatus_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/kubestatus"
)

// connectedApply is an apply of a Connected condition to a Channel's status.
func connectedApply(ns, name string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": chatv1alpha1.GroupVersion.String(), "kind": "Channel",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Connected", "status": "True", "reason": "Connected",
			"message": "ok", "lastTransitionTime": "2030-01-01T00:00:00Z"}}},
	}}
}

// TestRuntimeRoleAllowsOnlyItsChannelsStatus sends, as the runtime's ServiceAccount
// under the Role the operator renders, the requests the writer sends and their
// neighbours: the writer's own pass, everything else is refused. RBAC cannot tell one
// status field from another; that the writer applies only its own two is
// TestOperatorAndRuntimeOwnDisjointConditions's check of its managed fields.
func TestRuntimeRoleAllowsOnlyItsChannelsStatus(t *testing.T) {
	ns, asRuntime := platform(t)
	// A messenger Channel of another LiveChat in the same namespace.
	other := channel(t, ns, "telegram")
	other.ObjectMeta = metav1.ObjectMeta{Name: "other-telegram", Namespace: ns}
	other.Spec.LiveChatRef.Name = "other"
	other.Status = chatv1alpha1.ChannelStatus{}
	if err := env.Client.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	dc, err := dynamic.NewForConfig(asRuntime)
	if err != nil {
		t.Fatal(err)
	}
	chans := dc.Resource(kubestatus.ChannelsResource).Namespace(ns)
	apply := metav1.ApplyOptions{FieldManager: kubestatus.FieldManager, Force: true}
	ctx := context.Background()
	tests := []struct {
		name    string
		allowed bool
		do      func() error
	}{
		{"list its messenger Channel by name", true, func() error {
			_, err := chans.List(ctx, metav1.ListOptions{FieldSelector: "metadata.name=telegram"})
			return err
		}},
		{"apply its messenger Channel's status", true, func() error {
			_, err := chans.ApplyStatus(ctx, "telegram", connectedApply(ns, "telegram"), apply)
			return err
		}},
		{"get its messenger Channel", false, func() error {
			_, err := chans.Get(ctx, "telegram", metav1.GetOptions{})
			return err
		}},
		{"list every Channel", false, func() error {
			_, err := chans.List(ctx, metav1.ListOptions{})
			return err
		}},
		{"watch its messenger Channel", false, func() error {
			w, err := chans.Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=telegram"})
			if err == nil {
				w.Stop()
			}
			return err
		}},
		{"apply the spec of its messenger Channel", false, func() error {
			u := connectedApply(ns, "telegram")
			delete(u.Object, "status")
			u.Object["spec"] = map[string]any{"displayName": "taken over"}
			_, err := chans.Apply(ctx, "telegram", u, apply)
			return err
		}},
		{"apply the status of its web widget Channel", false, func() error {
			_, err := chans.ApplyStatus(ctx, "website", connectedApply(ns, "website"), apply)
			return err
		}},
		{"apply the status of another LiveChat's Channel", false, func() error {
			_, err := chans.ApplyStatus(ctx, "other-telegram", connectedApply(ns, "other-telegram"), apply)
			return err
		}},
		{"apply its LiveChat's status", false, func() error {
			u := connectedApply(ns, "support")
			u.SetKind("LiveChat")
			_, err := dc.Resource(chatv1alpha1.GroupVersion.WithResource("livechats")).Namespace(ns).ApplyStatus(ctx, "support", u, apply)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			switch {
			case tt.allowed && err != nil:
				t.Errorf("refused: %v", err)
			case !tt.allowed && !apierrors.IsForbidden(err):
				t.Errorf("got %v, want forbidden", err)
			}
		})
	}
}

// TestWriterRetriesUntilAllowed has the writer report on a Channel its Role does not
// cover yet, as when the runtime sees a new channel before the operator widens the
// Role: it is refused, retries with backoff, and writes once it may.
func TestWriterRetriesUntilAllowed(t *testing.T) {
	ns, asRuntime := platform(t)
	other := channel(t, ns, "telegram")
	other.ObjectMeta = metav1.ObjectMeta{Name: "new-telegram", Namespace: ns}
	other.Spec.LiveChatRef.Name = "other" // so the operator does not grant it
	other.Status = chatv1alpha1.ChannelStatus{}
	if err := env.Client.Create(context.Background(), other); err != nil {
		t.Fatal(err)
	}
	logs := &logBuffer{}
	w := runWriter(t, asRuntime, ns, slog.New(slog.NewTextHandler(logs, nil)))
	w.Set(channels.Status{Channel: "new-telegram", Connected: true, Reason: channels.ReasonPolling, Message: "polling"})
	eventually(t, settle, func() (bool, string) {
		return strings.Count(logs.String(), "retrying") >= 2, "the writer has not retried twice: " + logs.String()
	})
	if !strings.Contains(logs.String(), "forbidden") {
		t.Errorf("the log does not say the write was forbidden: %s", logs.String())
	}
	if c := connected(channel(t, ns, "new-telegram")); c != nil {
		t.Fatalf("written without permission: %+v", c)
	}

	// Grant it, as the operator does when the channel joins the runtime's LiveChat.
	sa := controllers.RuntimeName("support")
	role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "new-channel", Namespace: ns}, Rules: []rbacv1.PolicyRule{
		{APIGroups: []string{chatv1alpha1.GroupVersion.Group}, Resources: []string{"channels"}, ResourceNames: []string{"new-telegram"}, Verbs: []string{"list"}},
		{APIGroups: []string{chatv1alpha1.GroupVersion.Group}, Resources: []string{"channels/status"}, ResourceNames: []string{"new-telegram"}, Verbs: []string{"patch"}},
	}}
	binding := &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "new-channel", Namespace: ns},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "new-channel"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}}}
	if err := env.Client.Create(context.Background(), role); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.Create(context.Background(), binding); err != nil {
		t.Fatal(err)
	}
	written(t, w)
	if c := connected(channel(t, ns, "new-telegram")); c == nil || c.Status != metav1.ConditionTrue || c.Reason != channels.ReasonPolling {
		t.Errorf("after the grant Connected is %+v, want True Polling", c)
	}
}
