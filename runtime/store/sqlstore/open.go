package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// OpenSQLite opens (creating it if needed) the SQLite database in dir/switchboard.db,
// in WAL mode, and applies migrations.
func OpenSQLite(ctx context.Context, dir string, opts Options) (*DB, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating the data directory: %w", err)
	}
	path := filepath.Join(dir, "switchboard.db")
	// Checkpoints are the checkpointer's (checkpoint.go), not the committing writer's.
	// synchronous(NORMAL) in WAL mode syncs at checkpoints: a commit survives a crash of
	// the process. FULL syncs the log at every commit (one per group commit), so it
	// survives a power loss too.
	synchronous := "NORMAL"
	if opts.FullDurability {
		synchronous = "FULL"
	}
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(" + synchronous + ")&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)" +
		"&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit(" + strconv.Itoa(walRestartPages*4096) + ")"
	write, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)
	ckpt, err := sql.Open("sqlite", dsn)
	if err != nil {
		_ = write.Close()
		return nil, err
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetConnMaxIdleTime(0)
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		_ = write.Close()
		_ = ckpt.Close()
		return nil, err
	}
	read.SetMaxOpenConns(8)
	// Keep them open: database/sql keeps two idle by default, and each new SQLite
	// connection reads the schema and prepares its statements again.
	read.SetMaxIdleConns(8)
	read.SetConnMaxIdleTime(0)
	db := newDB(dialect{name: "sqlite"}, write, read, opts)
	db.group = newGroupCommit(db)
	db.ckpt = newCheckpointer(ckpt, walRestartPages, db.group.exclusive, db.log.Warn)
	go db.group.run()
	if err := db.migrate(ctx, goose.DialectSQLite3); err != nil {
		_ = db.Close()
		return nil, plainStoreError(err, dir) // "disk I/O error" alone says nothing of a full disk
	}
	return db, nil
}

// notifyChannel is the PostgreSQL channel every replica listens on.
const notifyChannel = "switchboard_changes"

// OpenPostgres connects to PostgreSQL, applies migrations (one replica at a time, under
// an advisory lock) and starts listening for the changes every replica commits.
func OpenPostgres(ctx context.Context, uri string, opts Options) (*DB, error) {
	pool, err := sql.Open("pgx", uri)
	if err != nil {
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", redact(err, uri))
	}
	pool.SetMaxOpenConns(16)
	// Keep them: database/sql keeps two idle connections by default, so under load
	// every query beyond two opened a new PostgreSQL backend (a process fork) and
	// closed it after.
	pool.SetMaxIdleConns(16)
	if err := pool.PingContext(ctx); err != nil {
		_ = pool.Close()
		return nil, fmt.Errorf("connecting to PostgreSQL: %w", redact(err, uri))
	}
	db := newDB(dialect{name: "postgres", dollar: true}, pool, pool, opts)
	db.notify = func(ctx context.Context, tx *sql.Tx, payload []byte) error {
		_, err := tx.ExecContext(ctx, `SELECT pg_notify($1, $2)`, notifyChannel, string(payload))
		return err
	}
	// Replicas starting together migrate one at a time.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockID(7412093))
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if err := db.migrate(ctx, goose.DialectPostgres, goose.WithSessionLocker(locker)); err != nil {
		_ = db.Close()
		return nil, err
	}
	listenCtx, cancel := context.WithCancel(context.Background())
	ready := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		db.listen(listenCtx, uri, ready)
	}()
	if err := <-ready; err != nil {
		cancel()
		<-done
		_ = db.Close() // stops the change feed's goroutine and closes the pool
		return nil, err
	}
	db.closer = func() error { cancel(); <-done; return nil }
	return db, nil
}

// listen holds one connection in LISTEN and feeds every notification to the change
// feed, reconnecting after a lost connection. What was notified while it was away is
// gone, so after a reconnect the feed carries a ChangeResync for subscribers to read
// afresh what they keep.
func (db *DB) listen(ctx context.Context, uri string, ready chan<- error) {
	first, lost := true, false
	for ctx.Err() == nil {
		conn, err := pgx.Connect(ctx, uri)
		if err == nil {
			if _, err = conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
				_ = conn.Close(context.Background())
			}
		}
		if first {
			ready <- redact(err, uri)
			first = false
			if err != nil {
				return
			}
		}
		if err != nil {
			if ctx.Err() == nil {
				db.log.Error("reconnecting the change feed to PostgreSQL", "error", redact(err, uri))
			}
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		if lost {
			db.log.Info("change feed reconnected; subscribers resynchronise")
			db.feed.push(store.Change{Kind: store.ChangeResync})
			lost = false
		}
		for {
			n, err := conn.WaitForNotification(ctx)
			if err != nil {
				if ctx.Err() == nil {
					db.log.Error("the change feed lost its PostgreSQL connection", "error", redact(err, uri))
					lost = true
				}
				break
			}
			c, err := db.received(ctx, n.Payload)
			if err != nil {
				db.log.Error("dropping a change notification", "error", err)
				continue
			}
			db.feed.push(c)
		}
		_ = conn.Close(context.Background())
	}
}

// redact keeps the connection URI, which holds the password, out of error messages.
func redact(err error, uri string) error {
	if err == nil {
		return nil
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return fmt.Errorf("%s (SQLSTATE %s)", pgErr.Message, pgErr.Code)
	}
	msg := err.Error()
	if u, perr := url.Parse(uri); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "***")
		}
	}
	return errors.New(msg)
}
