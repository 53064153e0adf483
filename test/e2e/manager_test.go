package e2e

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// TestManagerCommand runs `switchboard manager` as installed: its own process, flags,
// probes, metrics and leader election against a real API server, reconciling the
// samples to Ready, and leaving promptly on SIGTERM.
func TestManagerCommand(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	kubeconfig, err := env.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if _, err := testenv.StartDeploymentController(ctx, env.Config); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(switchboardBinary(t), "manager", "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", probeAddr, "--leader-elect", "--leader-election-namespace", ns,
		"--runtime-image", "registry.example.com/switchboard:e2e")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+path)
	var logs strings.Builder
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	}()
	get := func(u string) (int, string) {
		res, err := http.Get(u)
		if err != nil {
			return 0, err.Error()
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if code, _ := get("http://" + probeAddr + "/readyz"); code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the manager is not ready; its log:\n%s", logs.String())
		}
	}
	if code, _ := get("http://" + probeAddr + "/healthz"); code != http.StatusOK {
		t.Errorf("healthz: %d", code)
	}

	createSamples(t, env, ns)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		var lc chatv1alpha1.LiveChat
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "support"}, &lc); err == nil &&
			meta.IsStatusConditionTrue(lc.Status.Conditions, chatv1alpha1.ConditionReady) && lc.Status.Channels == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the LiveChat did not become Ready; the manager's log:\n%s", logs.String())
		}
	}
	code, body := get("http://" + metricsAddr + "/metrics")
	if code != http.StatusOK || !strings.Contains(body, "switchboard_operator_") || !strings.Contains(body, "controller_runtime_reconcile_total") {
		t.Errorf("metrics: %d, switchboard_operator_ and controller-runtime families expected", code)
	}

	// SIGTERM: the manager releases its lease and exits cleanly.
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("the manager exited with %v after SIGTERM; log:\n%s", err, logs.String())
		}
		t.Logf("the manager stopped %v after SIGTERM", time.Since(start).Round(time.Millisecond))
	case <-time.After(30 * time.Second):
		t.Fatal("the manager did not stop within 30s of SIGTERM")
	}
	// It gave the lease up, so a successor takes over without waiting for it to expire.
	var lease coordinationv1.Lease
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: "switchboard-manager.chat.switchboard.dev"}, &lease); err != nil {
		t.Fatalf("the leader election lease: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the lease is still held by %q after the manager stopped", *h)
	}
}
