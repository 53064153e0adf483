package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

func openTestSQLite(t *testing.T) (*DB, string) {
	t.Helper()
	dir := t.TempDir()
	db, err := OpenSQLite(context.Background(), dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, dir
}

// canCommitSoon asks again once the last outcome is stale.
func canCommitSoon(db *DB) error {
	time.Sleep(probeFresh + 50*time.Millisecond)
	return db.CanCommit(context.Background())
}

// TestCanCommit: the probe commits through the writer, so a writer that may not
// write, or one stuck behind another's lock, fails it, and it recovers with them.
func TestCanCommit(t *testing.T) {
	db, dir := openTestSQLite(t)
	ctx := context.Background()
	if err := db.CanCommit(ctx); err != nil {
		t.Fatalf("a fresh database: %v", err)
	}

	// A writer that may not write, as on a read-only volume.
	if _, err := db.write.Exec(`PRAGMA query_only = 1`); err != nil {
		t.Fatal(err)
	}
	if err := canCommitSoon(db); err == nil || !strings.Contains(err.Error(), "is not writable") || !strings.Contains(err.Error(), dir) {
		t.Errorf("a read-only writer: %v, want it to say the data directory is not writable", err)
	}
	if _, err := db.write.Exec(`PRAGMA query_only = 0`); err != nil {
		t.Fatal(err)
	}
	if err := canCommitSoon(db); err != nil {
		t.Errorf("writable again: %v", err)
	}

	// Another process holds the write lock.
	other, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "switchboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.ExecContext(ctx, `BEGIN IMMEDIATE`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(probeFresh + 50*time.Millisecond)
	start := time.Now()
	err = db.CanCommit(ctx)
	if err == nil || !strings.Contains(err.Error(), "did not commit within") {
		t.Errorf("a writer stuck behind a lock: %v", err)
	}
	if waited := time.Since(start); waited > probeWait+time.Second {
		t.Errorf("the probe took %v, want about %v", waited, probeWait)
	}
	if _, err := conn.ExecContext(ctx, `ROLLBACK`); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	deadline := time.Now().Add(15 * time.Second)
	for db.CanCommit(ctx) != nil && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if err := db.CanCommit(ctx); err != nil {
		t.Errorf("the lock released: %v", err)
	}
}

// TestFullDiskSaysSo: a write that finds the disk full fails with an error that says
// so in words and matches ENOSPC, from the readiness probe and from any write.
func TestFullDiskSaysSo(t *testing.T) {
	db, dir := openTestSQLite(t)
	ctx := context.Background()
	// SQLite refuses to grow the database past max_page_count as it would on a full
	// disk: SQLITE_FULL.
	var pages int
	if err := db.write.QueryRow(`PRAGMA page_count`).Scan(&pages); err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages)); err != nil {
		t.Fatal(err)
	}
	probeErr := db.CanCommit(ctx)
	writeErr := db.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `CREATE TABLE filler (b BLOB)`)
		return err
	}, nil)
	for name, err := range map[string]error{"the probe": probeErr, "a write": writeErr} {
		if err == nil || !strings.Contains(err.Error(), "the disk holding "+dir+" is full") || !errors.Is(err, syscall.ENOSPC) {
			t.Errorf("%s on a full disk: %v", name, err)
		}
	}
}

// fakeSQLiteError is an error with a result code, as the driver's.
type fakeSQLiteError int

func (e fakeSQLiteError) Error() string { return "disk I/O error" }
func (e fakeSQLiteError) Code() int     { return int(e) }

func TestPlainStoreError(t *testing.T) {
	saved := freeBytes
	defer func() { freeBytes = saved }()
	const ioErrWrite = sqliteIOErr | 3<<8 // SQLITE_IOERR_WRITE
	tests := []struct {
		name string
		err  error
		free uint64
		dir  string
		want string // in the message; "" when the error passes unchanged
		full bool
	}{
		{"SQLITE_FULL", fakeSQLiteError(sqliteFull), 1 << 30, "/data", "the disk holding /data is full", true},
		{"ENOSPC", &pathError{syscall.ENOSPC}, 1 << 30, "/data", "the disk holding /data is full", true},
		{"an I/O error with the disk full", fakeSQLiteError(ioErrWrite), 4096, "/data", "the disk holding /data is full", true},
		{"an I/O error with room left", fakeSQLiteError(ioErrWrite), 1 << 30, "/data", "", false},
		{"read-only", fakeSQLiteError(sqliteReadOnly), 1 << 30, "/data", "the data directory /data is not writable", false},
		{"cannot open", fakeSQLiteError(sqliteCantOpen), 1 << 30, "/data", "the data directory /data is not writable", false},
		{"PostgreSQL disk full", &pgconn.PgError{Code: "53100", Message: "could not extend file"}, 0, "", "the disk holding the database is full", true},
		{"PostgreSQL standby", &pgconn.PgError{Code: "25006", Message: "cannot execute INSERT in a read-only transaction"}, 0, "", "read-only (a standby?)", false},
		{"anything else", errors.New("constraint failed"), 0, "/data", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			freeBytes = func(string) (uint64, error) { return tt.free, nil }
			got := plainStoreError(tt.err, tt.dir)
			if tt.want == "" && got != tt.err {
				t.Errorf("got %v, want it unchanged", got)
			}
			if tt.want != "" && !strings.Contains(got.Error(), tt.want) {
				t.Errorf("got %q, want it to contain %q", got, tt.want)
			}
			if !errors.Is(got, tt.err) {
				t.Errorf("%v no longer matches %v", got, tt.err)
			}
			if errors.Is(got, syscall.ENOSPC) != tt.full {
				t.Errorf("matches ENOSPC: %v, want %v", !tt.full, tt.full)
			}
		})
	}
}

type pathError struct{ err error }

func (e *pathError) Error() string { return "write /data/switchboard.db-wal: " + e.err.Error() }
func (e *pathError) Unwrap() error { return e.err }
