package e2e

import (
	"context"
	"database/sql"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite" // to hold the runtime's database from outside
)

// lockDatabase takes SQLite's write lock on the runtime's database, as another
// process could; the runtime's writes wait behind it. unlock releases it.
func lockDatabase(t *testing.T, dataDir string) (unlock func()) {
	t.Helper()
	// The runtime writes now and then (its readiness probe, the outbox): wait for
	// the lock as another process would, instead of failing at once.
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dataDir, "switchboard.db")+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := db.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(context.Background(), "BEGIN IMMEDIATE"); err != nil {
		t.Fatal(err)
	}
	return func() {
		_, _ = conn.ExecContext(context.Background(), "ROLLBACK")
		conn.Close()
		db.Close()
	}
}

// waitReadyz polls /readyz until it answers want.
func waitReadyz(t *testing.T, rt *runtime, want int) {
	t.Helper()
	got := 0
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if got = call(t, "GET", rt.base+"/readyz", "", nil, nil); got == want {
			return
		}
	}
	t.Fatalf("/readyz answered %d, want %d", got, want)
}

// TestReadyzFailsWhileTheStoreCannotCommit: a runtime whose database refuses its
// writes is not ready, and is again once it commits. (Started on a database that
// refuses writes, the runtime stops at its migrations, which take the write lock.)
func TestReadyzFailsWhileTheStoreCannotCommit(t *testing.T) {
	dir, dataDir := manifestsDir(t), t.TempDir()
	rt := standalone(t, dir, dataDir)
	waitReadyz(t, rt, http.StatusOK)

	unlock := lockDatabase(t, dataDir)
	waitReadyz(t, rt, http.StatusServiceUnavailable)
	if code := call(t, "GET", rt.base+"/healthz", "", nil, nil); code != http.StatusOK {
		t.Errorf("/healthz: %d; a runtime waiting for its store is alive", code)
	}
	unlock()
	waitReadyz(t, rt, http.StatusOK)
}
