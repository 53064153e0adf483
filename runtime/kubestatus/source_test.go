package kubestatus

import (
	"testing"

	"k8s.io/client-go/rest"

	"github.com/switchboard-chat/switchboard/runtime/source"
)

func TestForSource(t *testing.T) {
	tests := []struct {
		name       string
		src        source.Source
		wantWriter bool
	}{
		{"in a cluster", &source.Kube{Config: &rest.Config{Host: "https://kubernetes.default.svc"}, Namespace: "support"}, true},
		{"standalone, from manifests", &source.Files{Dir: "manifests"}, false},
		{"no source", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, err := ForSource(tt.src, nil)
			if err != nil || (w != nil) != tt.wantWriter {
				t.Errorf("ForSource = %v, %v; want a writer: %v", w, err, tt.wantWriter)
			}
			w.Set(st("telegram", "Connected")) // a nil writer takes it too
		})
	}
}
