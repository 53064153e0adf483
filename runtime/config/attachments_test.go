package config_test

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/api/resource"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

func TestAttachmentsCompile(t *testing.T) {
	quantity := func(s string) *resource.Quantity { q := resource.MustParse(s); return &q }
	tests := []struct {
		name string
		spec chatv1alpha1.AttachmentsSpec
		want config.Attachments
	}{
		{"defaults", chatv1alpha1.AttachmentsSpec{},
			config.Attachments{MaxSize: 20 << 20, AllowedContentTypes: config.DefaultAttachmentContentTypes}},
		{"a smaller limit and a family", chatv1alpha1.AttachmentsSpec{MaxSize: quantity("512Ki"),
			AllowedContentTypes: []string{"image/*", "application/pdf", "image/*"}},
			config.Attachments{MaxSize: 512 << 10, AllowedContentTypes: []string{"application/pdf", "image/*"}}},
		{"a limit in plain bytes", chatv1alpha1.AttachmentsSpec{MaxSize: quantity("1500000")},
			config.Attachments{MaxSize: 1500000, AllowedContentTypes: config.DefaultAttachmentContentTypes}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := samples.Input()
			if err != nil {
				t.Fatal(err)
			}
			in.LiveChat.Spec.Attachments = tt.spec
			cfg, _ := config.Compile(in)
			got := cfg.LiveChat.Attachments
			if got == nil || got.MaxSize != tt.want.MaxSize || !slices.Equal(got.AllowedContentTypes, tt.want.AllowedContentTypes) {
				t.Fatalf("compiled to %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestAttachmentsResolvedAndAllows(t *testing.T) {
	// A configuration compiled before attachments existed keeps files as a new one would.
	var old *config.Attachments
	if got := old.Resolved(); got.MaxSize != config.DefaultAttachmentMaxSize || !slices.Equal(got.AllowedContentTypes, config.DefaultAttachmentContentTypes) {
		t.Fatalf("Resolved of none = %+v, want the defaults", got)
	}
	custom := config.Attachments{MaxSize: 1024, AllowedContentTypes: []string{"application/pdf", "image/*"}}
	for _, tt := range []struct {
		contentType string
		allowed     bool
	}{
		{"image/png", true},
		{"image/svg+xml", true}, // the family allows it; serving neutralizes it
		{"application/pdf", true},
		{"application/pdf; name=x.pdf", true},
		{"text/plain", false},
		{"application/pdfx", false},
		{"image", false},
		{"", false},
	} {
		if got := custom.Allows(tt.contentType); got != tt.allowed {
			t.Errorf("Allows(%q) = %v, want %v", tt.contentType, got, tt.allowed)
		}
	}
	if (config.Attachments{AllowedContentTypes: config.DefaultAttachmentContentTypes}).Allows("text/html") {
		t.Error("the defaults allow HTML")
	}
}
