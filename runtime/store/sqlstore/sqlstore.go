// Package sqlstore implements store.Store on SQLite (modernc.org/sqlite, WAL, one
// writer) and on PostgreSQL (pgx), with plain SQL shared between the two and the
// differences kept in a dialect: placeholders, migrations, and how committed changes are
// announced (in-process after commit for SQLite, NOTIFY inside the transaction for
// PostgreSQL so every replica hears them in commit order).
package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/promreg"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

//go:embed migrations
var migrations embed.FS

type dialect struct {
	name string
	// dollar placeholders ($1) instead of ?
	dollar bool
}

// DB is a store.Store on a SQL database.
type DB struct {
	d     dialect
	write *sql.DB // SQLite: one connection, so writers queue here instead of on SQLITE_BUSY
	read  *sql.DB
	now   func() time.Time
	log   *slog.Logger
	opDur *prometheus.HistogramVec
	// group batches SQLite's writes into shared transactions, in order; nil on PostgreSQL.
	group *groupCommit
	// ckpt checkpoints the write-ahead log (SQLite).
	ckpt *checkpointer
	// claimer is the outbox that takes jobs as they are enqueued (SQLite); claimed
	// holds the jobs it took in the transaction being written, touched only by the
	// group commit's goroutine (outbox_claim.go).
	claimer   atomic.Pointer[enqueueClaim]
	claimed   []claimedJob
	closeOnce sync.Once

	subsMu sync.Mutex
	subs   map[int]func(store.Change)
	nextID int
	feed   *changeFeed
	// notify publishes changes inside a transaction (PostgreSQL).
	notify func(ctx context.Context, tx *sql.Tx, payload []byte) error
	closer func() error
	// instance names this opening of the database in outbox leases; outbox keeps
	// the outbox's statements prepared (outbox.go).
	instance string
	outbox   outboxState
	stmts    statements
	// probe is the last readiness probe (ready.go); dir the SQLite database's directory.
	probe   commitProbe
	dirOnce sync.Once
	dir     string
}

var _ store.Store = (*DB)(nil)

// Options of a store.
type Options struct {
	// Now is the clock; time.Now when nil. Tests inject their own.
	Now func() time.Time
	// Metrics, when set, receives switchboard_runtime_store_operation_duration_seconds.
	Metrics prometheus.Registerer
	// Log receives what the store does on its own, such as reconnecting the change
	// feed; discarded when nil.
	Log *slog.Logger
	// FullDurability (SQLite) syncs the log to disk at every commit, so a commit
	// survives a power loss; without it, a commit survives a crash of the process, and
	// the log is synced at checkpoints.
	FullDurability bool
}

func newDB(d dialect, write, read *sql.DB, opts Options) *DB {
	db := &DB{d: d, write: write, read: read, now: opts.Now, subs: map[int]func(store.Change){}, instance: newInstance()}
	if db.now == nil {
		db.now = time.Now
	}
	db.log = opts.Log
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.opDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "switchboard_runtime_store_operation_duration_seconds",
		Help:    "Duration of store operations, by operation and outcome.",
		Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
	}, []string{"operation", "outcome"})
	if opts.Metrics != nil {
		db.opDur = promreg.MustRegister(opts.Metrics, db.opDur)
	}
	db.feed = newChangeFeed(db.dispatch)
	return db
}

// timed starts timing an operation; call the result with the operation's error:
// defer db.timed("op")(&err).
func (db *DB) timed(op string) func(*error) {
	start := time.Now()
	return func(err *error) { db.observe(op, start, *err) }
}

// observe records the duration of one operation.
func (db *DB) observe(op string, start time.Time, err error) {
	outcome := "ok"
	switch {
	case err == nil:
	case errors.Is(err, store.ErrNotFound):
		outcome = "not_found"
	case errors.Is(err, store.ErrConflict):
		outcome = "conflict"
	default:
		outcome = "error"
	}
	db.opDur.WithLabelValues(op, outcome).Observe(time.Since(start).Seconds())
}

// q rewrites ? placeholders for the dialect.
func (db *DB) q(query string) string {
	if !db.d.dollar {
		return query
	}
	var b strings.Builder
	n := 0
	for _, r := range query {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// tx runs fn in a write transaction. The changes fn reports are announced after the
// commit (SQLite, where writes share group commits) or inside the transaction
// (PostgreSQL), in commit order either way.
func (db *DB) tx(ctx context.Context, fn func(*sql.Tx) error, changes *[]store.Change) (err error) {
	defer func() { err = db.plainError(err) }() // a full disk says so
	if db.group != nil {
		return db.group.submit(ctx, fn, changes)
	}
	tx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if changes != nil && db.notify != nil {
		for _, c := range *changes {
			payload, err := notification(c)
			if err != nil {
				_ = tx.Rollback()
				return err
			}
			if err := db.notify(ctx, tx, payload); err != nil {
				_ = tx.Rollback()
				return err
			}
		}
	}
	return tx.Commit()
}

// Subscribe implements store.Store.
func (db *DB) Subscribe(fn func(store.Change)) func() {
	db.subsMu.Lock()
	defer db.subsMu.Unlock()
	id := db.nextID
	db.nextID++
	db.subs[id] = fn
	return func() {
		db.subsMu.Lock()
		delete(db.subs, id)
		db.subsMu.Unlock()
	}
}

func (db *DB) dispatch(c store.Change) {
	db.subsMu.Lock()
	fns := make([]func(store.Change), 0, len(db.subs))
	for _, fn := range db.subs {
		fns = append(fns, fn)
	}
	db.subsMu.Unlock()
	for _, fn := range fns {
		fn(c)
	}
}

// Close implements store.Store.
func (db *DB) Close() error {
	var err error
	db.closeOnce.Do(func() { err = db.close() })
	return err
}

func (db *DB) close() error {
	if db.group != nil {
		db.group.close()
	}
	if db.ckpt != nil {
		db.ckpt.close()
	}
	var err error
	if db.closer != nil {
		err = db.closer() // the LISTEN connection, which feeds the change feed
	}
	db.feed.close()
	db.closeStatements()
	if db.read != db.write {
		_ = db.read.Close()
	}
	if e := db.write.Close(); err == nil {
		err = e
	}
	return err
}

// maxFeedQueue bounds the changes waiting for subscribers (twice as many may be in
// memory: the batch being delivered and the queue behind it). A writer that finds the
// queue full waits: the subscribers (the engine publishing to the hub, which bounds
// every connection's queue itself) fall behind only under a burst, and slowing the
// writers then loses nothing, where dropping changes would.
const maxFeedQueue = 4096

// changeFeed delivers changes to subscribers from one goroutine, in the order pushed.
type changeFeed struct {
	mu      sync.Mutex
	cond    *sync.Cond
	queue   []store.Change
	max     int
	closed  bool
	deliver func(store.Change)
	done    chan struct{}
}

func newChangeFeed(deliver func(store.Change)) *changeFeed {
	f := &changeFeed{deliver: deliver, max: maxFeedQueue, done: make(chan struct{})}
	f.cond = sync.NewCond(&f.mu)
	go f.run()
	return f
}

// push queues a change, waiting while the queue is full. After close it drops the
// change: nobody is left to hear it.
func (f *changeFeed) push(c store.Change) {
	f.mu.Lock()
	for len(f.queue) >= f.max && !f.closed {
		f.cond.Wait()
	}
	if !f.closed {
		f.queue = append(f.queue, c)
	}
	f.mu.Unlock()
	f.cond.Broadcast()
}

func (f *changeFeed) run() {
	defer close(f.done)
	for {
		f.mu.Lock()
		for len(f.queue) == 0 && !f.closed {
			f.cond.Wait()
		}
		if len(f.queue) == 0 && f.closed {
			f.mu.Unlock()
			return
		}
		batch := f.queue
		f.queue = nil
		f.mu.Unlock()
		f.cond.Broadcast() // room for waiting writers
		for _, c := range batch {
			f.deliver(c)
		}
	}
}

// close delivers what is queued and stops; pushes after it are dropped.
func (f *changeFeed) close() {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	f.cond.Broadcast()
	<-f.done
}

// Time columns hold Unix milliseconds.
func ms(t time.Time) int64 { return t.UnixMilli() }

func msPtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UnixMilli()
}

func fromMs(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMs(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMs(v.Int64)
	return &t
}
