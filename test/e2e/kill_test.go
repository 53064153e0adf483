package e2e

import (
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

// TestKilledMidConversationLosesNothing runs `switchboard runtime` as a process, kills
// it with SIGKILL while a visitor is writing, restarts it on the same data, and finds
// every message that was acknowledged.
func TestKilledMidConversationLosesNothing(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "switchboard")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Dir = testenv.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building: %v\n%s", err, out)
	}
	dir, data := manifestsDir(t), t.TempDir()
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := l.Addr().String()
	l.Close()
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "runtime", "--manifests", dir, "--data-dir", data, "--http-address", addr,
			"--metrics-address", "127.0.0.1:0", "--log-level", "error", "--message-rate", "1000", "--message-burst", "1000")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait() })
		for deadline := time.Now().Add(20 * time.Second); ; {
			if res, err := http.Get("http://" + addr + "/healthz"); err == nil {
				res.Body.Close()
				return cmd
			}
			if time.Now().After(deadline) {
				t.Fatal("the runtime did not start")
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	cmd := start()
	rt := &runtime{base: "http://" + addr}
	v := newVisitor(t, rt, "message 0")
	acknowledged := []string{"message 0"}
	msgs := rt.base + "/api/v1/channels/website/conversations/" + v.conversation + "/messages"
	killed := make(chan struct{})
	go func() {
		time.Sleep(150 * time.Millisecond)
		_ = cmd.Process.Signal(syscall.SIGKILL)
		close(killed)
	}()
	for i := 1; ; i++ {
		text := fmt.Sprintf("message %d", i)
		req, _ := http.NewRequest("POST", msgs, stringsReader(`{"text":"`+text+`"}`))
		req.Header.Set("Authorization", "Bearer "+v.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			break // the runtime is gone
		}
		res.Body.Close()
		if res.StatusCode == http.StatusCreated {
			acknowledged = append(acknowledged, text)
		}
	}
	<-killed
	_, _ = cmd.Process.Wait()
	start()
	var stored struct{ Messages []struct{ Text string } }
	call(t, "GET", msgs, v.token, nil, &stored)
	have := map[string]bool{}
	for _, m := range stored.Messages {
		have[m.Text] = true
	}
	for _, a := range acknowledged {
		if !have[a] {
			t.Errorf("%q was acknowledged before the kill and is gone after it", a)
		}
	}
	t.Logf("%d messages acknowledged before SIGKILL, %d stored after the restart", len(acknowledged), len(stored.Messages))
	if len(acknowledged) < 5 {
		t.Errorf("only %d messages before the kill: the test did not exercise anything", len(acknowledged))
	}
}
