package crd

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

func TestUpdates(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		mutate    func(*chatv1alpha1.Channel)
		wantField string // empty: the update must be accepted
		wantMsg   string
	}{
		{
			name: "changing the type is refused",
			mutate: func(c *chatv1alpha1.Channel) {
				c.Spec.Type, c.Spec.WebWidget = chatv1alpha1.ChannelInternal, nil
				c.Spec.Internal = &chatv1alpha1.InternalChannel{ClientGroups: []chatv1alpha1.ObjectName{"employees"}}
			},
			wantField: "spec.type",
			wantMsg:   "type is immutable: create a new Channel for another type",
		},
		{
			name: "changing the greeting, queue and switch is accepted",
			mutate: func(c *chatv1alpha1.Channel) {
				c.Spec.WebWidget.Greeting = "Hello again!"
				c.Spec.QueueRef.Name = "accounting"
				off := false
				c.Spec.Active = &off
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			ch := sample[*chatv1alpha1.Channel](t, "website")
			ch.SetNamespace(ns)
			if err := env.Client.Create(ctx, ch); err != nil {
				t.Fatal(err)
			}
			tt.mutate(ch)
			err := env.Client.Update(ctx, ch)
			if tt.wantField != "" {
				requireInvalid(t, err, tt.wantField, tt.wantMsg)
				return
			}
			if err != nil {
				t.Fatalf("valid update refused: %v", err)
			}
			var got chatv1alpha1.Channel
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ch), &got); err != nil {
				t.Fatal(err)
			}
			if got.Spec.WebWidget.Greeting != "Hello again!" || got.Spec.QueueRef.Name != "accounting" || *got.Spec.Active {
				t.Errorf("update not stored: %+v", got.Spec)
			}
		})
	}
}

func TestEmbeddedVolumeUpdates(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name      string
		mutate    func(*chatv1alpha1.EmbeddedStorage)
		wantField string // empty: the update must be accepted
		wantMsg   string
	}{
		{"growing the volume is accepted", func(e *chatv1alpha1.EmbeddedStorage) { e.Size = ptr.To(resource.MustParse("20Gi")) }, "", ""},
		{"shrinking the volume is refused", func(e *chatv1alpha1.EmbeddedStorage) { e.Size = ptr.To(resource.MustParse("500Mi")) },
			"spec.storage.embedded", "size cannot shrink: a volume can only grow"},
		{"changing the storage class is refused", func(e *chatv1alpha1.EmbeddedStorage) { e.StorageClassName = ptr.To("slow") },
			"spec.storage.embedded", "storageClassName cannot change once the volume exists"},
		{"removing the storage class is refused", func(e *chatv1alpha1.EmbeddedStorage) { e.StorageClassName = nil },
			"spec.storage.embedded", "storageClassName cannot change once the volume exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := env.Namespace(t)
			lc := sample[*chatv1alpha1.LiveChat](t, "support")
			lc.SetNamespace(ns)
			lc.Spec.Storage.Embedded.Size = ptr.To(resource.MustParse("10Gi"))
			lc.Spec.Storage.Embedded.StorageClassName = ptr.To("fast")
			if err := env.Client.Create(ctx, lc); err != nil {
				t.Fatal(err)
			}
			tt.mutate(lc.Spec.Storage.Embedded)
			err := env.Client.Update(ctx, lc)
			if tt.wantField != "" {
				requireInvalid(t, err, tt.wantField, tt.wantMsg)
				return
			}
			if err != nil {
				t.Fatalf("valid update refused: %v", err)
			}
		})
	}
}
