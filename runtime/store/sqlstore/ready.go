package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

const (
	// probeFresh is how long a probe's outcome stands: readiness probes, however
	// frequent, cost at most one small commit a second.
	probeFresh = time.Second
	// probeWait is how long CanCommit waits for a probe; a writer stuck longer is as
	// good as unable to commit. The probe carries on and the next call reads it.
	probeWait = 2 * time.Second
)

// commitProbe remembers the last readiness probe.
type commitProbe struct {
	mu      sync.Mutex
	checked time.Time
	err     error
	running chan struct{} // closed when the probe in progress ends; nil when none is
	table   bool          // readiness_probe exists
}

// CanCommit reports whether the store can commit a write now: it commits a heartbeat
// row through the same writer as every other write (on SQLite, the group commit), so
// an unwritable data directory, a full disk, a read-only PostgreSQL standby or a
// writer stuck on a lock all fail it. The outcome is kept for a second.
func (db *DB) CanCommit(ctx context.Context) error {
	p := &db.probe
	p.mu.Lock()
	if p.running == nil && !p.checked.IsZero() && time.Since(p.checked) < probeFresh {
		err := p.err
		p.mu.Unlock()
		return err
	}
	if p.running == nil {
		p.running = make(chan struct{})
		go db.runProbe(p.running)
	}
	running := p.running
	p.mu.Unlock()
	timer := time.NewTimer(probeWait)
	defer timer.Stop()
	select {
	case <-running:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.err
	case <-timer.C:
		return fmt.Errorf("the store did not commit within %s: its writer is stuck or the disk is too slow", probeWait)
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (db *DB) runProbe(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err := db.heartbeat(ctx)
	p := &db.probe
	p.mu.Lock()
	p.err, p.checked, p.running = db.plainError(err), time.Now(), nil
	if err == nil {
		p.table = true
	}
	p.mu.Unlock()
	close(done)
}

// heartbeat writes one row, creating its table the first time: a migration would do
// no better, and this way the probe needs none.
func (db *DB) heartbeat(ctx context.Context) error {
	db.probe.mu.Lock()
	table := db.probe.table
	db.probe.mu.Unlock()
	return db.tx(ctx, func(tx *sql.Tx) error {
		if !table {
			if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS readiness_probe (id INTEGER PRIMARY KEY, checked_at TEXT NOT NULL)`); err != nil {
				return err
			}
		}
		_, err := tx.ExecContext(ctx, db.q(`INSERT INTO readiness_probe (id, checked_at) VALUES (1, ?)
			ON CONFLICT (id) DO UPDATE SET checked_at = excluded.checked_at`), time.Now().UTC().Format(time.RFC3339Nano))
		return err
	}, nil)
}

// SQLite's primary result codes that say the storage itself refuses writes.
const (
	sqlitePerm     = 3
	sqliteReadOnly = 8
	sqliteIOErr    = 10
	sqliteFull     = 13
	sqliteCantOpen = 14
)

// diskFullError says the disk is full in words, and still matches syscall.ENOSPC and
// the error it stands for.
type diskFullError struct {
	where string
	err   error
}

func (e *diskFullError) Error() string {
	return fmt.Sprintf("the disk holding %s is full: free space or grow the volume (%v)", e.where, e.err)
}

func (e *diskFullError) Unwrap() []error { return []error{e.err, syscall.ENOSPC} }

// freeBytes is the space left to unprivileged writers on the file system holding
// dir; a variable so tests can fill the disk.
var freeBytes = func(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// lowSpace is little enough free space to take an I/O error for a full disk: SQLite
// reports a full disk as SQLITE_IOERR when it fails to grow the WAL or its index.
const lowSpace = 1 << 20

// plainStoreError turns the storage's refusals into plain words: a full disk (SQLITE_FULL,
// ENOSPC, or an I/O error with the disk nearly full) and storage that is read-only.
// dir is where the database lives, "" for PostgreSQL; other errors pass unchanged.
func plainStoreError(err error, dir string) error {
	if err == nil {
		return nil
	}
	var de *diskFullError
	if errors.As(err, &de) {
		return err
	}
	code := -1
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		code = coded.Code() & 0xff // the primary code of an extended one
	}
	var pgErr *pgconn.PgError
	pg := errors.As(err, &pgErr)
	where := dir
	if where == "" {
		where = "the database"
	}
	switch {
	case code == sqliteFull, errors.Is(err, syscall.ENOSPC), pg && pgErr.Code == "53100":
		return &diskFullError{where: where, err: err}
	case code == sqliteIOErr && dir != "":
		if free, ferr := freeBytes(dir); ferr == nil && free < lowSpace {
			return &diskFullError{where: where, err: err}
		}
	case code == sqliteReadOnly, code == sqlitePerm, code == sqliteCantOpen, errors.Is(err, syscall.EROFS), errors.Is(err, syscall.EACCES):
		return fmt.Errorf("the data directory %s is not writable: %w", where, err)
	case pg && pgErr.Code == "25006":
		return fmt.Errorf("the PostgreSQL server is read-only (a standby?): %w", err)
	}
	return err
}

// plainError is plainStoreError for this database.
func (db *DB) plainError(err error) error {
	if err == nil {
		return nil
	}
	return plainStoreError(err, db.dataDir())
}

// dataDir is the directory of an SQLite database, read once from SQLite itself.
func (db *DB) dataDir() string {
	if db.d.name != "sqlite" {
		return ""
	}
	db.dirOnce.Do(func() {
		var file string
		if err := db.read.QueryRow(`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file); err == nil && file != "" {
			db.dir = filepath.Dir(file)
		}
	})
	return db.dir
}
