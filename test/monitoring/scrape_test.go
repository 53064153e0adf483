package monitoring

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
	"github.com/switchboard-chat/switchboard/runtime/server"
	"github.com/switchboard-chat/switchboard/runtime/source"
)

// promtool finds the promtool `make promtool` builds into bin/. CI builds it before the
// tests; elsewhere a test that needs it says loudly that it did not run.
func promtool(t *testing.T) string {
	t.Helper()
	found, _ := filepath.Glob(root("bin", "promtool-*"))
	if len(found) > 0 {
		return found[len(found)-1]
	}
	if os.Getenv("CI") != "" {
		t.Fatal("bin/promtool-* is missing: CI builds it with `make promtool` before the tests")
	}
	t.Skip("SKIPPED: no bin/promtool-*; run `make promtool` (a long build, done once) to check the scrapes")
	return ""
}

// checkMetrics runs `promtool check metrics` on a scrape: names, help, types and units
// as Prometheus's conventions want them.
func checkMetrics(t *testing.T, tool, what string, scrape []byte) {
	t.Helper()
	if !bytes.Contains(scrape, []byte("switchboard_")) {
		t.Fatalf("the %s scrape holds no switchboard metric:\n%.500s", what, scrape)
	}
	cmd := exec.Command(tool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(scrape)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics on the %s scrape: %v\n%s", what, err, out)
	}
}

// A scrape of a running runtime (the samples, standalone) passes promtool.
func TestRuntimeScrapePassesPromtool(t *testing.T) {
	tool := promtool(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	go func() {
		done <- server.Run(ctx, server.Options{HTTPAddress: "127.0.0.1:0", MetricsAddress: "127.0.0.1:0", DataDir: t.TempDir(),
			Source: &source.Files{Dir: samples.Dir(), Log: log}, Log: log,
			Providers: map[config.ChannelType]channels.Provider{}, Ready: func(_, m string) { ready <- m }})
	}()
	defer func() { cancel(); <-done }()
	var metricsAddr string
	select {
	case metricsAddr = <-ready:
	case err := <-done:
		t.Fatalf("the runtime stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("the runtime did not start")
	}
	resp, err := http.Get("http://" + metricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	scrape, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	checkMetrics(t, tool, "runtime", scrape)
}

// A scrape of the operator, running against a real API server with the samples
// applied, passes promtool.
func TestOperatorScrapePassesPromtool(t *testing.T) {
	tool := promtool(t)
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	op, err := env.StartOperator(controllers.RuntimeOptions{Image: "registry.example.com/switchboard:test"})
	if err != nil {
		t.Fatal(err)
	}
	defer op.Stop()
	ns := env.Namespace(t)
	set, err := manifests.ReadPaths(samples.Dir())
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range set.Objects {
		o.SetNamespace(ns)
		if err := env.Client.Create(context.Background(), o.Object.(client.Object)); err != nil {
			t.Fatal(err)
		}
	}
	// Reconciles happened, so controller-runtime's and the operator's series exist.
	var scrape []byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		families, err := ctrlmetrics.Registry.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := expfmt.NewEncoder(&buf, expfmt.NewFormat(expfmt.TypeTextPlain))
		for _, f := range families {
			if err := enc.Encode(f); err != nil {
				t.Fatal(err)
			}
		}
		scrape = buf.Bytes()
		if bytes.Contains(scrape, []byte("switchboard_operator_config_revision_info{")) || time.Now().After(deadline) {
			break
		}
	}
	checkMetrics(t, tool, "operator", scrape)
}
