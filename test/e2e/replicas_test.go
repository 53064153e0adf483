package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
)

// postgresManifests are the samples switched to PostgreSQL storage with two replicas.
func postgresManifests(t *testing.T) string {
	t.Helper()
	uri := pgtest.Database(t, pg)
	dir := manifestsDir(t)
	edit(t, dir, "livechat.yaml", "  runtime:\n    replicas: 1\n  storage:\n    embedded:\n      size: 1Gi",
		"  runtime:\n    replicas: 2\n  storage:\n    postgres:\n      uriSecretRef:\n        name: chat-db\n        key: uri")
	secret := fmt.Sprintf("apiVersion: v1\nkind: Secret\nmetadata:\n  name: chat-db\nstringData:\n  uri: %q\n", uri)
	if err := os.WriteFile(filepath.Join(dir, "db-secret.yaml"), []byte(secret), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestTwoReplicasOnPostgres: two runtime processes share one database; a visitor on one
// and an operator on the other see each other's messages live, in order.
func TestTwoReplicasOnPostgres(t *testing.T) {
	dir := postgresManifests(t)
	_, a := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	_, b := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))

	opOnB := console(t, b, alice)
	opOnB.waitEvent(t, "snapshot", func(ev map[string]any) bool { return ev["type"] == "snapshot" })
	online(t, b, alice)
	v := newVisitor(t, a, "hello from replica A")
	opOnB.waitEvent(t, "the chat started on A, assigned to alice, on B's console", isConversationState(v.conversation, "Assigned"))
	vw := v.connect(t, 0)
	vw.waitEvent(t, "history", func(ev map[string]any) bool { return ev["type"] == "history" })

	if code := call(t, "POST", b.base+"/api/v1/conversations/"+v.conversation+"/take", alice, nil, nil); code != 200 {
		t.Fatalf("take on B: %d", code)
	}
	vw.waitEvent(t, "B's take, on A's widget", isConversationState(v.conversation, "Active"))
	for i := range 10 {
		call(t, "POST", b.base+"/api/v1/conversations/"+v.conversation+"/messages", alice, map[string]string{"text": fmt.Sprintf("op %d", i)}, nil)
		vw.waitEvent(t, "the operator's message on A", isMessage(fmt.Sprintf("op %d", i)))
		v.send(t, vw, fmt.Sprintf("visitor %d", i))
		opOnB.waitEvent(t, "the visitor's message on B", isMessage(fmt.Sprintf("visitor %d", i)))
	}
	// In order: the widget received the messages by ascending seq, with no gap.
	vw.mu.Lock()
	var seqs []float64
	for _, ev := range vw.events {
		if ev["type"] == "message" {
			seqs = append(seqs, field(ev, "message", "seq").(float64))
		}
	}
	vw.mu.Unlock()
	for i := 1; i < len(seqs); i++ {
		if seqs[i] <= seqs[i-1] {
			t.Fatalf("the widget got messages out of order: %v", seqs)
		}
	}
	if len(seqs) != 20 {
		t.Errorf("the widget got %d live messages, want 20", len(seqs))
	}
	// And the take is exclusive across replicas.
	if code := call(t, "POST", a.base+"/api/v1/conversations/"+v.conversation+"/take", bob, nil, nil); code != 409 {
		t.Errorf("bob taking alice's chat on the other replica: %d, want 409", code)
	}
}
