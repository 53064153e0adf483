package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// statements keeps SQLite's statements prepared: the driver parses a query every time
// it runs one, and for the short statements of the hot paths parsing costs more than
// running. Writes run in transactions on the one writer connection, where a statement
// cannot be prepared (the writer would wait for itself): a query first seen in a
// transaction runs unprepared and is prepared between transactions, by the group
// commit. Reads are prepared on the reader pool when first used. On PostgreSQL pgx
// keeps prepared statements per connection itself, and none of this is used.
type statements struct {
	mu     sync.Mutex
	write  map[string]*sql.Stmt
	wanted map[string]bool
	read   map[string]*sql.Stmt
}

// maxStatements bounds each cache; queries are a fixed set, so this is never reached
// unless one is built with varying text.
const maxStatements = 256

// txStmt is a statement in a transaction: prepared, or run as text.
type txStmt struct {
	tx   *sql.Tx
	st   *sql.Stmt // nil: run unprepared
	text string
}

// stmt returns query (written with ? placeholders) for tx.
func (db *DB) stmt(ctx context.Context, tx *sql.Tx, query string) txStmt {
	query = db.q(query)
	if db.d.dollar {
		return txStmt{tx: tx, text: query}
	}
	db.stmts.mu.Lock()
	st := db.stmts.write[query]
	if st == nil && len(db.stmts.wanted) < maxStatements {
		if db.stmts.wanted == nil {
			db.stmts.wanted = map[string]bool{}
		}
		db.stmts.wanted[query] = true
	}
	db.stmts.mu.Unlock()
	if st != nil {
		st = tx.StmtContext(ctx, st)
	}
	return txStmt{tx: tx, st: st, text: query}
}

func (s txStmt) exec(ctx context.Context, args ...any) (sql.Result, error) {
	if s.st != nil {
		return s.st.ExecContext(ctx, args...)
	}
	return s.tx.ExecContext(ctx, s.text, args...)
}

func (s txStmt) queryRow(ctx context.Context, args ...any) *sql.Row {
	if s.st != nil {
		return s.st.QueryRowContext(ctx, args...)
	}
	return s.tx.QueryRowContext(ctx, s.text, args...)
}

func (s txStmt) query(ctx context.Context, args ...any) (*sql.Rows, error) {
	if s.st != nil {
		return s.st.QueryContext(ctx, args...)
	}
	return s.tx.QueryContext(ctx, s.text, args...)
}

// prepare prepares queries (written with ? placeholders) on the writer, outside any
// transaction, for the transactions after.
func (db *DB) prepare(ctx context.Context, queries ...string) error {
	if db.d.dollar {
		return nil
	}
	for _, q := range queries {
		q = db.q(q)
		db.stmts.mu.Lock()
		_, ok := db.stmts.write[q]
		full := len(db.stmts.write) >= maxStatements
		db.stmts.mu.Unlock()
		if ok || full {
			continue
		}
		st, err := db.write.PrepareContext(ctx, q) // waits for the writer: no lock held
		if err != nil {
			return err
		}
		db.stmts.mu.Lock()
		if db.stmts.write == nil {
			db.stmts.write = map[string]*sql.Stmt{}
		}
		if _, ok := db.stmts.write[q]; ok {
			_ = st.Close()
		} else {
			db.stmts.write[q] = st
		}
		delete(db.stmts.wanted, q)
		db.stmts.mu.Unlock()
	}
	return nil
}

// prepareWanted prepares the queries transactions ran unprepared; the group commit
// calls it between transactions.
func (db *DB) prepareWanted(ctx context.Context) {
	db.stmts.mu.Lock()
	if len(db.stmts.wanted) == 0 {
		db.stmts.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(db.stmts.wanted))
	for q := range db.stmts.wanted {
		queries = append(queries, q)
	}
	db.stmts.wanted = nil
	db.stmts.mu.Unlock()
	for _, q := range queries {
		if err := db.prepare(ctx, q); err != nil {
			db.log.Warn("preparing a statement", "error", err)
		}
	}
}

// readStmt returns query prepared on the reader pool, or nil to run it as text.
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	if db.d.dollar {
		return nil
	}
	db.stmts.mu.Lock()
	st, ok := db.stmts.read[query]
	full := len(db.stmts.read) >= maxStatements
	db.stmts.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	if prev, ok := db.stmts.read[query]; ok {
		_ = st.Close()
		return prev
	}
	if db.stmts.read == nil {
		db.stmts.read = map[string]*sql.Stmt{}
	}
	db.stmts.read[query] = st
	return st
}

// readQueryRow runs a read (written with ? placeholders) on the reader pool.
func (db *DB) readQueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	query = db.q(query)
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.read.QueryRowContext(ctx, query, args...)
}

// readQuery is readQueryRow for many rows.
func (db *DB) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = db.q(query)
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.read.QueryContext(ctx, query, args...)
}

// closeStatements closes every prepared statement, before the pools close.
func (db *DB) closeStatements() {
	db.stmts.mu.Lock()
	defer db.stmts.mu.Unlock()
	for _, st := range db.stmts.write {
		_ = st.Close()
	}
	for _, st := range db.stmts.read {
		_ = st.Close()
	}
	db.stmts.write, db.stmts.read = nil, nil
}
