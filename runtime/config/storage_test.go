package config_test

import (
	"testing"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

func TestStorageDurability(t *testing.T) {
	tests := []struct {
		name    string
		storage *chatv1alpha1.StorageSpec
		want    string
	}{
		{"no storage given", nil, "Normal"},
		{"embedded, default durability", &chatv1alpha1.StorageSpec{Embedded: &chatv1alpha1.EmbeddedStorage{}}, "Normal"},
		{"embedded, Normal", &chatv1alpha1.StorageSpec{Embedded: &chatv1alpha1.EmbeddedStorage{Durability: chatv1alpha1.DurabilityNormal}}, "Normal"},
		{"embedded, Full", &chatv1alpha1.StorageSpec{Embedded: &chatv1alpha1.EmbeddedStorage{Durability: chatv1alpha1.DurabilityFull}}, "Full"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := samples.Input()
			if err != nil {
				t.Fatal(err)
			}
			in.LiveChat.Spec.Storage = tt.storage
			cfg, _ := config.Compile(in)
			if got := cfg.LiveChat.Storage.Durability; got != tt.want {
				t.Errorf("durability %q, want %q", got, tt.want)
			}
		})
	}
}
