package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"sync"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and copies the log
// back into the database in a checkpoint. Left to SQLite, the connection that commits
// runs the checkpoint (every 1,000 pages), so the one writer everybody waits for also
// copies pages and syncs the database file; and the log is only restarted from its
// beginning when no reader is using it, which under steady load never happens: the
// log grew to 670 MB beside a 98 MB database. The checkpointer runs checkpoints on a
// connection of its own instead, and restarts the log when it grew past a bound. A
// restart must find no write in progress and no reader on the old log: the group
// commit runs it between two transactions, and it waits at most restartWait (its
// connection's busy timeout) for readers, writers waiting meanwhile, longer the
// further past its bound the log is; when readers were slower it is tried again at the
// next tick.

// checkpointEvery is how often the checkpointer copies the log while writes come in.
const checkpointEvery = 250 * time.Millisecond

// A restart of the log waits restartWait for readers for every time the log is past
// its bound, up to maxRestartWait; writers wait meanwhile.
const (
	restartWait    = 10 * time.Millisecond
	maxRestartWait = 250 * time.Millisecond
)

// walRestartPages is the log size, in pages, past which the checkpointer restarts the
// log from its beginning: 16,384 pages of 4 KiB, 64 MiB. SQLite truncates the file
// back to that size after a restart (journal_size_limit), so it does not stay at its
// largest for good. A variable: tests make it small.
var walRestartPages = 16384

type checkpointer struct {
	conn         *sql.DB
	restartPages int
	// exclusive runs a function while no write is in progress.
	exclusive func(func())
	wrote     chan struct{}
	stop      chan struct{}
	done      chan struct{}
	log       func(msg string, args ...any)
	mu        sync.Mutex
	stats     checkpointStats
}

// checkpointStats is what the checkpointer did, for tests and metrics.
type checkpointStats struct {
	Checkpoints, Restarts int
	// LastLogPages is the log's size at the last checkpoint.
	LastLogPages int
}

func newCheckpointer(conn *sql.DB, restartPages int, exclusive func(func()), log func(string, ...any)) *checkpointer {
	c := &checkpointer{conn: conn, restartPages: restartPages, exclusive: exclusive, wrote: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{}), log: log}
	go c.run()
	return c
}

// committed tells the checkpointer there is something to copy; it never blocks.
func (c *checkpointer) committed() {
	select {
	case c.wrote <- struct{}{}:
	default:
	}
}

func (c *checkpointer) run() {
	defer close(c.done)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		select {
		case <-c.wrote:
		default:
			continue // nothing committed since the last checkpoint
		}
		c.checkpoint()
	}
}

// checkpoint copies what it can of the log without waiting for anyone, and restarts
// the log when it has grown past the bound.
func (c *checkpointer) checkpoint() {
	pages, _, err := c.pragma("PASSIVE")
	if err == nil && pages >= c.restartPages {
		// Waiting longer the further the log is past its bound: a short wait where
		// readers are quick, and a log that stays bounded where they are not.
		wait := min(restartWait*time.Duration(pages/c.restartPages), maxRestartWait)
		var busy bool
		c.exclusive(func() {
			if _, err = c.conn.Exec("PRAGMA busy_timeout = " + strconv.FormatInt(wait.Milliseconds(), 10)); err == nil {
				_, busy, err = c.pragma("RESTART")
			}
		})
		if err == nil && !busy {
			c.mu.Lock()
			c.stats.Restarts++
			c.mu.Unlock()
		}
	}
	if err != nil {
		c.log("checkpointing the SQLite write-ahead log failed; it is tried again", "error", err)
	}
}

// pragma runs one checkpoint and returns the log's size in pages, and whether it
// gave up waiting for the writer or readers.
func (c *checkpointer) pragma(mode string) (pages int, busy bool, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var gaveUp, done int
	if err := c.conn.QueryRowContext(ctx, "PRAGMA wal_checkpoint("+mode+")").Scan(&gaveUp, &pages, &done); err != nil {
		return 0, false, err
	}
	c.mu.Lock()
	c.stats.Checkpoints++
	c.stats.LastLogPages = pages
	c.mu.Unlock()
	return pages, gaveUp != 0, nil
}

// close stops the checkpointer and copies the whole log into the database, leaving
// the log empty for the next start.
func (c *checkpointer) close() {
	close(c.stop)
	<-c.done
	if _, _, err := c.pragma("TRUNCATE"); err != nil {
		c.log("checkpointing the SQLite write-ahead log at close failed; the next start replays it", "error", err)
	}
	_ = c.conn.Close()
}

func (c *checkpointer) snapshot() checkpointStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}
