package crd

import (
	"context"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

func minimalLiveChat() *chatv1alpha1.LiveChat {
	return &chatv1alpha1.LiveChat{
		ObjectMeta: metav1.ObjectMeta{Name: "minimal"},
		Spec: chatv1alpha1.LiveChatSpec{AgentAuth: chatv1alpha1.AgentAuthSpec{
			TokensSecretRef: &chatv1alpha1.SecretReference{Name: "tokens"},
		}},
	}
}

func minimalQueue() *chatv1alpha1.ChatQueue {
	return &chatv1alpha1.ChatQueue{
		ObjectMeta: metav1.ObjectMeta{Name: "minimal"},
		Spec:       chatv1alpha1.ChatQueueSpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: "minimal"}},
	}
}

func minimalChannel() *chatv1alpha1.Channel {
	return &chatv1alpha1.Channel{
		ObjectMeta: metav1.ObjectMeta{Name: "minimal"},
		Spec: chatv1alpha1.ChannelSpec{
			LiveChatRef: chatv1alpha1.LiveChatReference{Name: "minimal"},
			QueueRef:    chatv1alpha1.LocalObjectReference{Name: "minimal"},
			Type:        chatv1alpha1.ChannelWebWidget,
			WebWidget:   &chatv1alpha1.WebWidgetChannel{AllowedOrigins: []string{"https://www.example.com"}},
		},
	}
}

func minimalPolicy() *chatv1alpha1.NotificationPolicy {
	return &chatv1alpha1.NotificationPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: "minimal"},
		Spec:       chatv1alpha1.NotificationPolicySpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: "minimal"}},
	}
}

func minimalGroup() *chatv1alpha1.OperatorGroup {
	return &chatv1alpha1.OperatorGroup{
		ObjectMeta: metav1.ObjectMeta{Name: "minimal"},
		Spec:       chatv1alpha1.OperatorGroupSpec{Members: []chatv1alpha1.Member{{Name: "alice"}}},
	}
}

// TestMinimalObjectsGetDefaults checks the documented defaults on objects that set
// only their required fields.
func TestMinimalObjectsGetDefaults(t *testing.T) {
	tests := []struct {
		name  string
		obj   client.Object
		check func(t *testing.T, obj client.Object)
	}{
		{"LiveChat", minimalLiveChat(), func(t *testing.T, obj client.Object) {
			s := obj.(*chatv1alpha1.LiveChat).Spec
			if s.Defaults.SimultaneousChats != 2 {
				t.Errorf("defaults.simultaneousChats = %d, want 2", s.Defaults.SimultaneousChats)
			}
			if s.Defaults.AcceptTimeout == nil || s.Defaults.AcceptTimeout.Duration.String() != "5m0s" {
				t.Errorf("defaults.acceptTimeout = %v, want 5m", s.Defaults.AcceptTimeout)
			}
			if s.Storage.Embedded == nil || s.Storage.Embedded.Size == nil || s.Storage.Embedded.Size.String() != "1Gi" || s.Storage.Postgres != nil {
				t.Errorf("storage = %+v, want embedded with size 1Gi", s.Storage)
			}
			if s.Runtime.Replicas == nil || *s.Runtime.Replicas != 1 {
				t.Errorf("runtime.replicas = %v, want 1", s.Runtime.Replicas)
			}
			if s.Console.Sound.Enabled == nil || !*s.Console.Sound.Enabled || s.Console.DesktopNotifications == nil || !*s.Console.DesktopNotifications {
				t.Errorf("console = %+v, want sound and desktop notifications on", s.Console)
			}
			if a := s.Attachments; a.MaxSize == nil || a.MaxSize.String() != "20Mi" ||
				!slices.Equal(slices.Sorted(slices.Values(a.AllowedContentTypes)), config.DefaultAttachmentContentTypes) {
				t.Errorf("attachments = %+v, want 20Mi of %v, the runtime's defaults", a, config.DefaultAttachmentContentTypes)
			}
		}},
		{"ChatQueue", minimalQueue(), func(t *testing.T, obj client.Object) {
			s := obj.(*chatv1alpha1.ChatQueue).Spec
			if s.Routing.Rule != chatv1alpha1.RoutingAvailableAgent {
				t.Errorf("routing.rule = %q, want AvailableAgent", s.Routing.Rule)
			}
			if s.Routing.AcceptTimeout != nil {
				t.Errorf("routing.acceptTimeout = %v, want unset so the LiveChat default applies", s.Routing.AcceptTimeout)
			}
			if s.Offline.AcceptMessages == nil || !*s.Offline.AcceptMessages {
				t.Errorf("offline.acceptMessages = %v, want true", s.Offline.AcceptMessages)
			}
			if s.CompletionTimeout != nil {
				t.Errorf("completionTimeout = %v, want unset (never close)", s.CompletionTimeout)
			}
		}},
		{"Channel", minimalChannel(), func(t *testing.T, obj client.Object) {
			s := obj.(*chatv1alpha1.Channel).Spec
			if s.Active == nil || !*s.Active {
				t.Errorf("active = %v, want true", s.Active)
			}
			w := s.WebWidget
			if w.OfflineForm.Enabled == nil || !*w.OfflineForm.Enabled || w.Ratings == nil || !*w.Ratings {
				t.Errorf("webWidget = %+v, want the offline form and ratings on", w)
			}
			if w.RatingScale != chatv1alpha1.RatingStars {
				t.Errorf("webWidget.ratingScale = %q, want Stars", w.RatingScale)
			}
		}},
		{"NotificationPolicy", minimalPolicy(), func(t *testing.T, obj client.Object) {
			r := obj.(*chatv1alpha1.NotificationPolicy).Spec.Retry
			if r.Attempts == nil || *r.Attempts != 3 {
				t.Errorf("retry.attempts = %v, want 3", r.Attempts)
			}
			if r.Delay == nil || r.Delay.Duration.String() != "30s" || r.Backoff != chatv1alpha1.BackoffExponential {
				t.Errorf("retry = %+v, want 30s exponential", r)
			}
		}},
		{"OperatorGroup", minimalGroup(), func(t *testing.T, obj client.Object) {
			s := obj.(*chatv1alpha1.OperatorGroup).Spec
			if s.NotificationsEnabled == nil || !*s.NotificationsEnabled {
				t.Errorf("notificationsEnabled = %v, want true", s.NotificationsEnabled)
			}
			if s.Members[0].MaxChats != nil {
				t.Errorf("members[0].maxChats = %v, want unset so the LiveChat default applies", s.Members[0].MaxChats)
			}
		}},
	}
	ns := env.Namespace(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.obj.SetNamespace(ns)
			if err := env.Client.Create(context.Background(), tt.obj); err != nil {
				t.Fatalf("minimal %s refused: %v", tt.name, err)
			}
			if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(tt.obj), tt.obj); err != nil {
				t.Fatal(err)
			}
			tt.check(t, tt.obj)
		})
	}
}
