package source

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/samples"
)

func TestFilesLeaveOutWhatTheAPIServerWouldRefuse(t *testing.T) {
	dir := t.TempDir()
	entries, err := os.ReadDir(samples.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(samples.Dir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if e.Name() == "chatqueues.yaml" {
			data = bytes.Replace(data, []byte("rule: AllAgents"), []byte("rule: RoundRobin"), 1)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := (&Files{Dir: dir}).Load()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range snap.Problems {
		if p.Kind == "ChatQueue" && p.Name == "accounting" && p.Field == "spec.routing.rule" && p.Reason == "RefusedBySchema" {
			found = true
		}
	}
	if !found {
		t.Errorf("no problem for the refused queue: %v", snap.Problems)
	}
	for _, q := range snap.Config.Queues {
		if q.Name == "accounting" {
			t.Error("the refused queue is served")
		}
	}
	if len(snap.Config.Queues) != 1 {
		t.Errorf("queues served: %d, want the one valid queue", len(snap.Config.Queues))
	}
}
