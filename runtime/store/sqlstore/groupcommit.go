package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// maxGroup bounds how many writes share one transaction.
const maxGroup = 256

// groupCommit runs the writes of many callers in one SQLite transaction: SQLite has one
// writer, and a commit costs far more than a small write, so writes that arrive while
// another transaction commits are batched into the next one. Each write runs inside its
// own savepoint, so a write that fails is rolled back alone and only its caller sees
// the error; the others commit together.
type groupCommit struct {
	db    *DB
	queue chan *groupWrite
	done  chan struct{}
	// between takes work that must run while no write is in progress (between two
	// transactions): the log restart of the checkpointer.
	between chan func()
	// mu guards closed against a submit racing close: writes are queued under the read
	// lock, and close takes the write lock before closing the queue.
	mu     sync.RWMutex
	closed bool
}

type groupWrite struct {
	ctx     context.Context
	fn      func(*sql.Tx) error
	changes *[]store.Change
	err     error
	done    chan struct{}
}

func newGroupCommit(db *DB) *groupCommit {
	return &groupCommit{db: db, queue: make(chan *groupWrite, 4*maxGroup), done: make(chan struct{}), between: make(chan func())}
}

func (g *groupCommit) submit(ctx context.Context, fn func(*sql.Tx) error, changes *[]store.Change) error {
	w := &groupWrite{ctx: ctx, fn: fn, changes: changes, done: make(chan struct{})}
	g.mu.RLock()
	if g.closed {
		g.mu.RUnlock()
		return store.ErrStoreClosed
	}
	select {
	case g.queue <- w:
		g.mu.RUnlock()
	case <-ctx.Done():
		g.mu.RUnlock()
		return ctx.Err()
	}
	<-w.done
	return w.err
}

// close commits the writes already queued and refuses later ones with ErrStoreClosed.
func (g *groupCommit) close() {
	g.mu.Lock()
	g.closed = true
	close(g.queue)
	g.mu.Unlock()
	<-g.done
}

// exclusive runs fn while no write is in progress, and returns when it ran.
func (g *groupCommit) exclusive(fn func()) {
	ran := make(chan struct{})
	select {
	case g.between <- func() { fn(); close(ran) }:
		<-ran
	case <-g.done:
		fn() // closed: nothing writes any more
	}
}

// A batch smaller than lingerBelow waits up to lingerFor for more writes when the
// batch before it held several: one commit for many writes instead of one for each.
const (
	lingerBelow = 16
	lingerFor   = 250 * time.Microsecond
)

func (g *groupCommit) run() {
	defer close(g.done)
	batch := make([]*groupWrite, 0, maxGroup)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	last := 0 // the size of the batch before
	for {
		var w *groupWrite
		select {
		case fn := <-g.between:
			fn()
			continue
		case next, ok := <-g.queue:
			if !ok {
				return
			}
			w = next
		}
		batch = append(batch[:0], w)
	fill:
		for len(batch) < maxGroup {
			select {
			case more, ok := <-g.queue:
				if !ok {
					break fill
				}
				batch = append(batch, more)
			default:
				break fill
			}
		}
		if len(batch) < lingerBelow && last > 1 {
			// Under concurrent load (the last batch held several writes) the next writes
			// are on their way: a moment's wait for them costs less than a commit.
			linger.Reset(lingerFor)
		wait:
			for len(batch) < maxGroup {
				select {
				case more, ok := <-g.queue:
					if !ok {
						break wait
					}
					batch = append(batch, more)
				case <-linger.C:
					break wait
				}
			}
			linger.Stop()
		}
		last = len(batch)
		g.commit(batch)
		for _, w := range batch {
			close(w.done)
		}
		g.db.prepareWanted(context.Background())
	}
}

func (g *groupCommit) commit(batch []*groupWrite) {
	db := g.db
	tx, err := db.write.BeginTx(context.Background(), nil)
	if err != nil {
		for _, w := range batch {
			w.err = err
		}
		return
	}
	// Jobs the outbox took as they were inserted go to it once committed, and are
	// given back when their write or the transaction fails (outbox_claim.go).
	committed := false
	defer func() {
		if committed {
			db.handClaims()
		} else {
			db.dropClaims(0)
		}
	}()
	ctx := context.Background()
	// One savepoint name for every write: they nest nothing, so the three statements
	// are the same each time and stay prepared.
	savepoint, rollback, release := db.stmt(ctx, tx, "SAVEPOINT w"), db.stmt(ctx, tx, "ROLLBACK TO w"), db.stmt(ctx, tx, "RELEASE w")
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.err = err
			continue
		}
		if _, err := savepoint.exec(ctx); err != nil {
			w.err = err
			continue
		}
		mark := db.claimMark()
		if err := w.fn(tx); err != nil {
			w.err = err
			db.dropClaims(mark)
			if _, rerr := rollback.exec(ctx); rerr != nil {
				// The transaction is unusable: fail everyone.
				_ = tx.Rollback()
				for _, o := range batch {
					if o.err == nil {
						o.err = rerr
					}
				}
				return
			}
		}
		if _, err := release.exec(ctx); err != nil {
			// Unreleased, the savepoint's work would still commit with the others, but
			// the transaction's state is unknown now: fail everyone.
			_ = tx.Rollback()
			for _, o := range batch {
				if o.err == nil {
					o.err = fmt.Errorf("releasing a savepoint: %w", err)
				}
			}
			return
		}
	}
	if err := tx.Commit(); err != nil {
		for _, w := range batch {
			if w.err == nil {
				w.err = err
			}
		}
		return
	}
	committed = true
	if db.ckpt != nil {
		db.ckpt.committed()
	}
	for _, w := range batch {
		if w.err == nil && w.changes != nil {
			for _, c := range *w.changes {
				db.feed.push(c)
			}
		}
	}
}
