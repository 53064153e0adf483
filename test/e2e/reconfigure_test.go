package e2e

import (
	"testing"
	"time"
)

// closedWith waits for the server to close w and returns the close code.
func (w *ws) closedWith(t *testing.T, what string) int {
	t.Helper()
	select {
	case <-w.closed:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the connection is still open", what)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.code
}

func TestOpenConsolesFollowTokenAndQueueChanges(t *testing.T) {
	dir := manifestsDir(t)
	rt := standalone(t, dir, t.TempDir())
	snapshot := func(ev map[string]any) bool { return ev["type"] == "snapshot" }
	aliceWS, daveWS, bobWS := console(t, rt, alice), console(t, rt, dave), console(t, rt, bob)
	for _, w := range []*ws{aliceWS, daveWS, bobWS} {
		w.waitEvent(t, "snapshot", snapshot)
	}

	// A rotated token in the Secret manifest applies without a restart, and the console
	// opened with the old one is closed: the old token no longer signs alice in.
	edit(t, dir, "secrets.yaml", "alice: sample-token-alice", "alice: rotated-token-alice")
	if code := aliceWS.closedWith(t, "alice's console after her token was rotated"); code != 4001 {
		t.Errorf("alice's console closed with %d, want 4001 (signed out)", code)
	}
	if code := call(t, "GET", rt.base+"/api/v1/me", "rotated-token-alice", nil, nil); code != 200 {
		t.Errorf("the rotated token signs in: %d", code)
	}
	if code := call(t, "GET", rt.base+"/api/v1/me", alice, nil, nil); code != 401 {
		t.Errorf("the old token still signs in: %d", code)
	}

	// dave joins first-line: his console reconnects to follow the new queue.
	edit(t, dir, "operatorgroups.yaml", "    skills: [en, zh]\n", "    skills: [en, zh]\n  - name: dave\n")
	if code := daveWS.closedWith(t, "dave's console after he joined a queue"); code != 4009 {
		t.Errorf("dave's console closed with %d, want 4009 (reconfigured)", code)
	}
	var me struct{ Queues []string }
	call(t, "GET", rt.base+"/api/v1/me", dave, nil, &me)
	if len(me.Queues) != 2 {
		t.Errorf("dave's queues after the change: %v", me.Queues)
	}

	// bob's console is untouched by both changes and still carries events.
	online(t, rt, bob)
	bobWS.waitEvent(t, "bob's own presence change", func(ev map[string]any) bool {
		return ev["type"] == "operator" && field(ev, "operator", "name") == "bob"
	})
	select {
	case <-bobWS.closed:
		t.Errorf("bob's console was closed (code %d)", bobWS.code)
	default:
	}
}
