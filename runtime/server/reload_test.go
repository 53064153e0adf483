package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

// runDir runs a standalone runtime on a copy of the samples and returns the copy's
// directory and the HTTP and metrics addresses.
func runDir(t *testing.T, change ...func(*Options)) (dir, httpAddr, metricsAddr string) {
	t.Helper()
	dir = t.TempDir()
	entries, err := os.ReadDir(samples.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(samples.Dir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan [2]string, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	o := Options{HTTPAddress: "127.0.0.1:0", MetricsAddress: "127.0.0.1:0", DataDir: t.TempDir(),
		Source: &source.Files{Dir: dir, Log: log}, Log: log,
		Providers: map[config.ChannelType]channels.Provider{}, Ready: func(h, m string) { ready <- [2]string{h, m} }}
	for _, c := range change {
		c(&o)
	}
	go func() { done <- Run(ctx, o) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-ready:
		return dir, a[0], a[1]
	case err := <-done:
		t.Fatalf("the runtime stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the runtime did not start")
	}
	return "", "", ""
}

func httpStatus(t *testing.T, url, token string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func runtimeStatus(t *testing.T, metricsAddr string) Status {
	t.Helper()
	resp, err := http.Get("http://" + metricsAddr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// A refused edit of one queue, made with sed as a user would, leaves the queue, its
// channel and its operators serving as before; /status says what was refused and why.
func TestARefusedEditKeepsServingTheLastGoodVersion(t *testing.T) {
	dir, httpAddr, metricsAddr := runDir(t)
	website, me := "http://"+httpAddr+"/api/v1/channels/website", "http://"+httpAddr+"/api/v1/me"
	if code := httpStatus(t, website, ""); code != http.StatusOK {
		t.Fatalf("GET website: %d before the edit", code)
	}
	if code := httpStatus(t, me, "sample-token-alice"); code != http.StatusOK {
		t.Fatalf("GET me as alice: %d before the edit", code)
	}
	before := runtimeStatus(t, metricsAddr)
	if before.LastRefused != nil || len(before.HeldBack) != 0 {
		t.Fatalf("a clean start reports a refusal: %+v", before.ReloadReport)
	}

	path := filepath.Join(dir, "chatqueues.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path+".tmp", bytes.Replace(data, []byte("rule: AvailableAgent"), []byte("rule: Bogus"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	var st Status
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if st = runtimeStatus(t, metricsAddr); st.LastRefused != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("/status never reported the refused reload")
		}
	}
	r := st.LastRefused
	if r.At.IsZero() || len(r.Objects) != 1 || r.Objects[0].Kind != "ChatQueue" || r.Objects[0].Name != "first-line" ||
		r.Objects[0].File != "chatqueues.yaml" || !r.Objects[0].ServingLastGood ||
		!strings.Contains(strings.Join(r.Objects[0].Problems, ";"), `"Bogus"`) {
		t.Errorf("refused reload %+v, want ChatQueue first-line in chatqueues.yaml, served in its last good version, with why", r)
	}
	if len(st.HeldBack) != 1 || st.HeldBack[0].Name != "first-line" {
		t.Errorf("held back %+v, want first-line", st.HeldBack)
	}
	if st.ConfigRevision != before.ConfigRevision {
		t.Errorf("revision %s, want %s still served", st.ConfigRevision, before.ConfigRevision)
	}
	if code := httpStatus(t, website, ""); code != http.StatusOK {
		t.Errorf("GET website: %d after the refused edit, want 200", code)
	}
	if code := httpStatus(t, me, "sample-token-alice"); code != http.StatusOK {
		t.Errorf("GET me as alice: %d after the refused edit, want 200", code)
	}
}
