package e2e

import (
	"math/rand/v2"
	"syscall"
	"testing"
)

// TestKilledMidConversationLosesNothing runs `switchboard runtime` as a process under
// load and kills it with SIGKILL at a random moment, several rounds over, each round
// restarting it on the same data, on SQLite and on PostgreSQL. The load is many at
// once: visitors writing over HTTP and over their WebSockets, operators taking,
// answering and closing chats (see killload_test.go). After every restart, everything
// the killed process acknowledged must be there: each message at the sequence number
// it was acknowledged with, each take and close in the conversation's activity, and
// no conversation behind the version a transition returned. Acknowledged means
// committed, so the visitors also read each message back as soon as it is answered:
// an answer given before the commit shows there even when no kill lands between the
// two.
func TestKilledMidConversationLosesNothing(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) {
		killRounds(t, killManifests(t, manifestsDir(t)))
	})
	t.Run("PostgreSQL", func(t *testing.T) {
		killRounds(t, killManifests(t, postgresManifests(t)))
	})
}

const (
	killRoundCount = 6
	killVisitors   = 12 // over HTTP
	killWebSocket  = 6  // over their WebSockets
)

// killManifests raises the operators' limits to the most a LiveChat allows, so that
// taking a chat fails only when someone else took it first.
func killManifests(t *testing.T, dir string) string {
	t.Helper()
	edit(t, dir, "livechat.yaml", "simultaneousChats: 2", "simultaneousChats: 100")
	edit(t, dir, "operatorgroups.yaml", "maxChats: 3", "maxChats: 100")
	return dir
}

func killRounds(t *testing.T, dir string) {
	seed := rand.Uint64()
	rng := rand.New(rand.NewPCG(seed, seed))
	t.Logf("seed %d", seed)
	data := t.TempDir()
	var all []*roundLedger
	cmd, rt := runtimeProcess(t, dir, data, freeAddr(t))
	for round := 1; round <= killRoundCount; round++ {
		// A random moment, counted in acknowledgements rather than time, so that a
		// slow machine makes a round longer, not emptier.
		killAt := 40 + rng.IntN(260)
		l := runLoad(t, rt, round, killAt, func() { _ = cmd.Process.Signal(syscall.SIGKILL) })
		_, _ = cmd.Process.Wait()
		all = append(all, l)
		cmd, rt = runtimeProcess(t, dir, data, freeAddr(t))
		checked := verifyLedger(t, rt, l)
		t.Logf("round %d: killed after %d acknowledgements; %s; %d conversations checked", round, killAt, l.summary(), checked)
	}
	var total roundLedger
	for _, l := range all {
		total.add(l)
	}
	// Not a timing assertion: a load that acknowledged nothing of a kind tested
	// nothing of it.
	for what, n := range map[string]int{
		"visitor messages over HTTP": total.n.http, "visitor messages over WebSockets": total.n.ws,
		"operator replies": total.n.reply, "takes": total.n.take, "closes": total.n.close,
	} {
		if n == 0 {
			t.Errorf("no %s were acknowledged in %d rounds: the test did not exercise them", what, killRoundCount)
		}
	}
}
