package e2e

import (
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

var (
	buildOnce sync.Once
	binary    string
	buildErr  error
)

// switchboardBinary builds the switchboard command once per test run, for tests that
// run it as real processes.
func switchboardBinary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		binary = filepath.Join(testenv.RepoRoot(), "bin", "switchboard-e2e")
		build := exec.Command("go", "build", "-o", binary, ".")
		build.Dir = testenv.RepoRoot()
		if out, err := build.CombinedOutput(); err != nil {
			buildErr = err
			binary = string(out)
		}
	})
	if buildErr != nil {
		t.Fatalf("building switchboard: %v\n%s", buildErr, binary)
	}
	return binary
}

// freeAddr returns a loopback address nothing listens on right now.
func freeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runtimeProcess starts `switchboard runtime` on the manifests in dir as its own
// process, on httpAddr, and waits until it serves; the process is killed when the
// test ends.
func runtimeProcess(t testing.TB, dir, dataDir, httpAddr string) (*exec.Cmd, *runtime) {
	t.Helper()
	return runtimeProcessLogging(t, dir, dataDir, httpAddr, os.Stderr)
}

// runtimeProcessLogging is runtimeProcess with the process's standard error (its
// error log, and a panic's trace) going to stderr.
func runtimeProcessLogging(t testing.TB, dir, dataDir, httpAddr string, stderr io.Writer) (*exec.Cmd, *runtime) {
	t.Helper()
	metricsAddr := freeAddr(t)
	cmd := exec.Command(switchboardBinary(t), "runtime", "--manifests", dir, "--data-dir", dataDir,
		"--http-address", httpAddr, "--metrics-address", metricsAddr, "--log-level", "error",
		"--message-rate", "1000", "--message-burst", "1000", "--conversation-rate", "-1", "--websocket-rate", "-1")
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
	for deadline := time.Now().Add(30 * time.Second); ; {
		if res, err := http.Get("http://" + httpAddr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatal("the runtime process did not start")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return cmd, &runtime{base: "http://" + httpAddr, metrics: "http://" + metricsAddr}
}
