package e2e

import (
	"context"
	"crypto/tls"
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
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// TestManagerCommand runs `switchboard manager` as installed: its own process, flags,
// probes, metrics and leader election against a real API server, as its own
// ServiceAccount with exactly the roles of config/rbac (the lease in its own namespace),
// reconciling the samples to Ready, serving metrics only to callers allowed to read
// them, and leaving promptly on SIGTERM.
func TestManagerCommand(t *testing.T) {
	env, err := testenv.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const operatorNS = "switchboard-system"
	if err := env.InstallOperatorRBAC(ctx, operatorNS); err != nil {
		t.Fatal(err)
	}
	asOperator, err := env.ServiceAccountConfig(ctx, operatorNS, testenv.OperatorServiceAccount)
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig, err := testenv.KubeConfigOf(asOperator)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := testenv.StartDeploymentController(ctx, env.Config); err != nil {
		t.Fatal(err)
	}
	ns := env.Namespace(t)
	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	cmd := exec.Command(switchboardBinary(t), "manager", "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", probeAddr, "--leader-elect", "--leader-election-namespace", operatorNS,
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
	scrapeMetrics(t, env, "https://"+metricsAddr+"/metrics", logs.String)

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
	if err := env.Client.Get(ctx, client.ObjectKey{Namespace: operatorNS, Name: "switchboard-manager.chat.switchboard.dev"}, &lease); err != nil {
		t.Fatalf("the leader election lease: %v", err)
	}
	if h := lease.Spec.HolderIdentity; h != nil && *h != "" {
		t.Errorf("the lease is still held by %q after the manager stopped", *h)
	}
}

// scrapeMetrics checks who may read the operator's metrics: only a caller whose token
// the API server authenticates and whose roles allow get on /metrics, as the
// switchboard-metrics-reader ClusterRole does. The endpoint serves HTTPS only.
func scrapeMetrics(t *testing.T, env *testenv.Env, url string, logs func() string) {
	t.Helper()
	ctx := context.Background()
	const ns = "monitoring"
	objs := []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "prometheus"}},
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "nosy"}},
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "prometheus-reads-switchboard-metrics"},
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "switchboard-metrics-reader"},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Namespace: ns, Name: "prometheus"}}},
	}
	for _, o := range objs {
		if err := env.Client.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	token := func(sa string) string {
		cfg, err := env.ServiceAccountConfig(ctx, ns, sa)
		if err != nil {
			t.Fatal(err)
		}
		return cfg.BearerToken
	}
	// The endpoint's certificate is self-signed: it encrypts, and the token proves who asks.
	httpc := &http.Client{Timeout: 10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec
	cases := []struct {
		name  string
		token string
		code  int
	}{
		{"a scraper bound to switchboard-metrics-reader", token("prometheus"), http.StatusOK},
		{"a caller without a token", "", http.StatusUnauthorized},
		{"a ServiceAccount without the role", token("nosy"), http.StatusForbidden},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.token != "" {
				req.Header.Set("Authorization", "Bearer "+c.token)
			}
			res, err := httpc.Do(req)
			if err != nil {
				t.Fatalf("scraping over HTTPS: %v", err)
			}
			defer res.Body.Close()
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != c.code {
				t.Fatalf("status %d, want %d: %s\nthe manager's log:\n%s", res.StatusCode, c.code, body, logs())
			}
			if c.code == http.StatusOK && (!strings.Contains(string(body), "switchboard_operator_") ||
				!strings.Contains(string(body), "controller_runtime_reconcile_total")) {
				t.Errorf("switchboard_operator_ and controller-runtime families expected")
			}
		})
	}
}
