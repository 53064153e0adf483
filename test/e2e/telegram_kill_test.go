package e2e

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
)

// TestTelegramRepliesSurviveKill9 kills the runtime with sends in flight: after the
// restart every accepted reply reaches Telegram, in order per chat. Sends are at least
// once: a send the provider took just before the kill, whose outcome was not yet
// stored, is made again, at most one per chat (each chat has one send in flight).
func TestTelegramRepliesSurviveKill9(t *testing.T) {
	dir := manifestsDir(t)
	fake := telegramSetup(t, dir)
	fake.SetDelay(40 * time.Millisecond)
	dataDir, addr := t.TempDir(), freeAddr(t)
	cmd, rt := runtimeProcess(t, dir, dataDir, addr)
	c := console(t, rt, sam)

	operators := []string{alice, alice, bob, bob, bob, carol, carol}
	convs := make([]string, len(operators))
	for i, op := range operators {
		user := telegramfake.User{ID: int64(9000 + i), FirstName: fmt.Sprint("User ", i)}
		fake.Queue(fake.TextUpdate(user, fmt.Sprintf("hello %d", i)))
		convs[i] = conversationOfMessage(t, c, fmt.Sprintf("hello %d", i))
		if code := call(t, "POST", rt.base+"/api/v1/conversations/"+convs[i]+"/take", op, nil, nil); code != http.StatusOK {
			t.Fatalf("take: %d", code)
		}
	}
	const perChat = 6
	for n := range perChat {
		for i, op := range operators {
			text := fmt.Sprintf("chat %d reply %d", i, n)
			if code := call(t, "POST", rt.base+"/api/v1/conversations/"+convs[i]+"/messages", op, map[string]string{"text": text}, nil); code != http.StatusCreated {
				t.Fatalf("reply: %d", code)
			}
		}
	}
	for deadline := time.Now().Add(15 * time.Second); len(fake.Sent()) < 8; time.Sleep(2 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no sends began")
		}
	}
	_ = cmd.Process.Kill()
	_, _ = cmd.Process.Wait()
	before := len(fake.Sent())
	_, rt = runtimeProcess(t, dir, dataDir, addr)

	total := perChat * len(operators)
	unique := func() map[string]int {
		seen := map[string]int{}
		for _, s := range fake.Sent() {
			seen[s.Text]++
		}
		return seen
	}
	for deadline := time.Now().Add(30 * time.Second); len(unique()) < total; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after the restart %d of %d replies reached Telegram", len(unique()), total)
		}
	}
	time.Sleep(300 * time.Millisecond)
	sent := fake.Sent()
	duplicates := len(sent) - total
	t.Logf("killed with %d of %d replies sent; after the restart all %d arrived, %d of them twice", before, total, total, duplicates)
	if duplicates > len(operators) {
		t.Fatalf("%d replies sent twice: more than one per chat", duplicates)
	}
	next := map[int64]int{}
	for _, s := range sent {
		want := fmt.Sprintf("chat %d reply %d", s.ChatID-9000, next[s.ChatID])
		switch s.Text {
		case want:
			next[s.ChatID]++
		case fmt.Sprintf("chat %d reply %d", s.ChatID-9000, next[s.ChatID]-1): // the repeat of the one before
		default:
			t.Fatalf("chat %d got %q, want %q: out of order", s.ChatID, s.Text, want)
		}
	}
	for i, conv := range convs {
		waitDelivery(t, rt, operators[i], conv, fmt.Sprintf("chat %d reply %d", i, perChat-1), "sent")
	}
}
