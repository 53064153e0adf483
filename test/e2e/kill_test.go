package e2e

import (
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"
)

// TestKilledMidConversationLosesNothing runs `switchboard runtime` as a process, kills
// it with SIGKILL while a visitor is writing, restarts it on the same data, and finds
// every message that was acknowledged.
func TestKilledMidConversationLosesNothing(t *testing.T) {
	dir, data, addr := manifestsDir(t), t.TempDir(), freeAddr(t)
	cmd, rt := runtimeProcess(t, dir, data, addr)
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
	runtimeProcess(t, dir, data, addr)
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
