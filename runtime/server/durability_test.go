package server

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A durability changed in a running runtime's LiveChat takes effect at the next start,
// and /status says a restart is needed until then; changed back, it says nothing.
func TestDurabilityChangeAsksForARestart(t *testing.T) {
	dir, _, metricsAddr := runDir(t)
	if st := runtimeStatus(t, metricsAddr); st.RestartNeeded != "" {
		t.Fatalf("a fresh runtime needs a restart: %s", st.RestartNeeded)
	}
	path := filepath.Join(dir, "livechat.yaml")
	original, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	write := func(data []byte) {
		t.Helper()
		if err := os.WriteFile(path+".tmp", data, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".tmp", path); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(what string, ok func(Status) bool) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			if ok(runtimeStatus(t, metricsAddr)) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("/status never said %s", what)
			}
		}
	}
	write(bytes.Replace(original, []byte("      size: 1Gi"), []byte("      size: 1Gi\n      durability: Full"), 1))
	waitFor("a restart is needed", func(st Status) bool { return strings.Contains(st.RestartNeeded, "durability changed to Full") })
	write(original)
	waitFor("no restart is needed", func(st Status) bool { return st.RestartNeeded == "" })
}
