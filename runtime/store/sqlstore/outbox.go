package sqlstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

var _ store.Jobs = (*DB)(nil)

// keyLockClass is the first half of the PostgreSQL advisory locks taken on an order key
// (the second is the key's hash); it keeps them apart from the migration lock.
const keyLockClass = 7412094

const jobColumns = `id, kind, order_key, limiter, idempotency_key, payload, COALESCE(message_id, 0), max_attempts, state,
	attempts, run_at, last_error, created_at, finished_at, COALESCE(lease_owner, ''), tally`

func scanJob(row scanner) (store.Job, error) {
	var j store.Job
	var payload string
	var runAt, created int64
	var finished sql.NullInt64
	err := row.Scan(&j.ID, &j.Kind, &j.Key, &j.Limiter, &j.IdempotencyKey, &payload, &j.MessageID, &j.MaxAttempts, &j.State,
		&j.Attempts, &runAt, &j.LastError, &created, &finished, &j.Owner, &j.Tally)
	if errors.Is(err, sql.ErrNoRows) {
		return j, store.ErrNotFound
	}
	j.Payload = []byte(payload)
	j.RunAt, j.CreatedAt = fromMs(runAt), fromMs(created)
	j.FinishedAt = fromNullMs(finished)
	return j, err
}

// newInstance names this opening of the database in lease owners. SQLite has one
// process, so a lease taken under another instance is a dead process's: the first
// claim frees it.
func newInstance() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// outboxState is what the outbox's store keeps between calls.
type outboxState struct {
	mu sync.Mutex
	// freed: the leases of earlier processes were freed (SQLite).
	freed bool
}

// The outbox's statements that run once per job (finishing: on SQLite).
const (
	// The job is its key's head when nothing of the key is pending before it.
	insertJobQuery = `INSERT INTO outbox_jobs (kind, order_key, limiter, idempotency_key, payload, message_id,
		max_attempts, state, head, run_at, created_at, tally)
		VALUES (?, ?, ?, ?, ?, ?, ?, 'pending',
			CASE WHEN EXISTS (SELECT 1 FROM outbox_jobs WHERE order_key = ? AND state = 'pending') THEN 0 ELSE 1 END, ?, ?, ?)
		ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`
	finishJobQuery = `UPDATE outbox_jobs SET state = ?, head = ?, run_at = CASE WHEN ? < 0 THEN run_at ELSE ? END,
		attempts = attempts - ?, last_error = COALESCE(NULLIF(?, ''), last_error), lease_owner = NULL,
		finished_at = ? WHERE id = ? AND order_key = ? AND lease_owner = ? AND state = 'pending' RETURNING tally`
	promoteJobQuery = `UPDATE outbox_jobs SET head = 1
		WHERE id = (SELECT min(id) FROM outbox_jobs WHERE order_key = ? AND state = 'pending')`
)

// lockKeys serializes, on PostgreSQL, the transactions that enqueue or finish jobs of
// the same keys until they end: a job enqueued while the one before it finishes then
// sees it finished or is seen by it, and ids follow commit order within a key. The
// locks are taken in one order, so two transactions never wait for each other.
func (db *DB) lockKeys(ctx context.Context, tx *sql.Tx, keys []string) error {
	if !db.d.dollar || len(keys) == 0 {
		return nil // SQLite runs one write at a time
	}
	_, err := db.stmt(ctx, tx, `SELECT pg_advisory_xact_lock($1, h)
		FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k ORDER BY h) locks`).exec(ctx, keyLockClass, keys)
	return err
}

// enqueue inserts jobs in tx and returns how many were new.
func (db *DB) enqueue(ctx context.Context, tx *sql.Tx, jobs []store.Job) (int, error) {
	n, _, err := db.enqueueTaking(ctx, tx, jobs)
	return n, err
}

// enqueueTaking is enqueue, also saying how many of the new jobs the outbox took as
// they were inserted (outbox_claim.go): those need no worker to look for them.
func (db *DB) enqueueTaking(ctx context.Context, tx *sql.Tx, jobs []store.Job) (n, taken int, err error) {
	keys := make([]string, 0, len(jobs))
	for _, j := range jobs {
		switch {
		case j.Kind == "" || j.Key == "" || j.IdempotencyKey == "":
			return 0, 0, fmt.Errorf("outbox job %q of kind %q for key %q: kind, key and idempotency key are required", j.IdempotencyKey, j.Kind, j.Key)
		case len(j.Payload) > 0 && !json.Valid(j.Payload):
			return 0, 0, fmt.Errorf("outbox job %q: the payload is not JSON", j.IdempotencyKey)
		}
		keys = append(keys, j.Key)
	}
	if err := db.lockKeys(ctx, tx, keys); err != nil {
		return 0, 0, err
	}
	now := db.now()
	insert := db.stmt(ctx, tx, insertJobQuery)
	claim := db.claimer.Load()
	for _, j := range jobs {
		if j.RunAt.IsZero() {
			j.RunAt = now
		}
		if len(j.Payload) == 0 {
			j.Payload = []byte("null")
		}
		var msgID any
		if j.MessageID != 0 {
			msgID = j.MessageID
		}
		if claim != nil && claim.kinds[j.Kind] && !j.RunAt.After(now) && claim.admit() {
			added, took, err := db.insertClaimed(ctx, tx, claim, j, msgID, now)
			if err != nil {
				return n, taken, err
			}
			if added {
				n++
			}
			if took {
				taken++
			}
			continue
		}
		var id int64
		err := insert.queryRow(ctx, j.Kind, j.Key, j.Limiter, j.IdempotencyKey, string(j.Payload), msgID, j.MaxAttempts, j.Key,
			ms(j.RunAt), ms(now), j.Tally).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows): // a duplicate
		case err != nil:
			return n, taken, err
		default:
			n++
		}
	}
	return n, taken, nil
}

// enqueueForMessage enqueues m.Jobs in the transaction that stored m.
func (db *DB) enqueueForMessage(ctx context.Context, tx *sql.Tx, m *store.Message, changes *[]store.Change) error {
	if len(m.Jobs) == 0 {
		return nil
	}
	m.Jobs = slices.Clone(m.Jobs) // the caller's stay as they were
	for i := range m.Jobs {
		j := &m.Jobs[i]
		j.MessageID = m.ID
		if j.Key == "" {
			j.Key = m.ConversationID
		}
		if j.IdempotencyKey == "" {
			j.IdempotencyKey = fmt.Sprintf("%s/message/%d", j.Kind, m.ID)
		}
	}
	n, taken, err := db.enqueueTaking(ctx, tx, m.Jobs)
	if err == nil && n > taken {
		*changes = append(*changes, store.Change{Kind: store.ChangeJobs}) // workers look for the rest
	}
	return err
}

// Enqueue implements store.Jobs.
func (db *DB) Enqueue(ctx context.Context, jobs ...store.Job) (n int, err error) {
	defer db.timed("enqueue_jobs")(&err)
	if err := db.prepare(ctx, insertJobQuery); err != nil {
		return 0, err
	}
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		var err error
		var taken int
		if n, taken, err = db.enqueueTaking(ctx, tx, jobs); err == nil && n > taken {
			changes = []store.Change{{Kind: store.ChangeJobs}}
		}
		return err
	}, &changes)
	if err != nil {
		n = 0
	}
	return n, err
}

// Job implements store.Jobs.
func (db *DB) Job(ctx context.Context, idempotencyKey string) (_ store.Job, err error) {
	defer db.timed("get_job")(&err)
	j, err := scanJob(db.readQueryRow(ctx, `SELECT `+jobColumns+` FROM outbox_jobs WHERE idempotency_key = ?`, idempotencyKey))
	if db.instance != "" {
		j.Owner = strings.TrimPrefix(j.Owner, db.instance+"/")
	}
	return j, err
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

// ClaimJobs implements store.Jobs. Only heads are claimable, so a key's next job waits
// for the one before it. A claim moves the job's run_at to the end of its lease, so
// the due index passes over jobs in flight, and a dead worker's jobs come due again.
// On PostgreSQL, rows another replica is claiming are skipped.
func (db *DB) ClaimJobs(ctx context.Context, c store.JobClaim) (jobs []store.Job, err error) {
	defer db.timed("claim_jobs")(&err)
	if c.Limit <= 0 || len(c.Kinds) == 0 {
		return nil, nil
	}
	now := ms(db.now())
	args := []any{db.instance + "/" + c.Owner, now + c.Lease.Milliseconds(), now}
	for _, k := range c.Kinds {
		args = append(args, k)
	}
	args = append(args, c.Limit)
	lock := ""
	if db.d.dollar {
		lock = " FOR UPDATE SKIP LOCKED"
	}
	query := `UPDATE outbox_jobs SET lease_owner = ?, run_at = ?, attempts = attempts + 1
		WHERE id IN (SELECT id FROM outbox_jobs WHERE state = 'pending' AND head = 1 AND run_at <= ?
			AND kind IN (` + placeholders(len(c.Kinds)) + `) ORDER BY run_at, id LIMIT ?` + lock + `)
		RETURNING ` + jobColumns
	// The statements of the jobs' lives, prepared ahead of the transactions that use
	// them; the worker claims before anything else.
	if err := db.prepare(ctx, query, insertJobQuery, finishJobQuery, promoteJobQuery); err != nil {
		return nil, err
	}
	db.outbox.mu.Lock()
	free := !db.d.dollar && !db.outbox.freed
	db.outbox.mu.Unlock()
	err = db.tx(ctx, func(tx *sql.Tx) error {
		jobs = jobs[:0]
		if free {
			// SQLite has one process: what an earlier one held, it held when it died.
			if _, err := db.stmt(ctx, tx, `UPDATE outbox_jobs SET lease_owner = NULL, run_at = ?
				WHERE state = 'pending' AND lease_owner IS NOT NULL AND lease_owner NOT LIKE ?`).exec(ctx, now, db.instance+"/%"); err != nil {
				return err
			}
		}
		rows, err := db.stmt(ctx, tx, query).query(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			j, err := scanJob(rows)
			if err != nil {
				return err
			}
			j.Owner = c.Owner
			jobs = append(jobs, j)
		}
		return rows.Err()
	}, nil)
	if err != nil {
		return nil, err
	}
	if free {
		db.outbox.mu.Lock()
		db.outbox.freed = true
		db.outbox.mu.Unlock()
	}
	slices.SortFunc(jobs, func(a, b store.Job) int { return cmp.Compare(a.ID, b.ID) })
	return jobs, nil
}

// NextJobAt implements store.Jobs.
func (db *DB) NextJobAt(ctx context.Context, kinds []string) (_ time.Time, ok bool, err error) {
	defer db.timed("next_job")(&err)
	if len(kinds) == 0 {
		return time.Time{}, false, nil
	}
	args := make([]any, len(kinds))
	for i, k := range kinds {
		args[i] = k
	}
	var at int64
	err = db.readQueryRow(ctx, `SELECT run_at FROM outbox_jobs WHERE state = 'pending' AND head = 1
		AND kind IN (`+placeholders(len(kinds))+`) ORDER BY run_at LIMIT 1`, args...).Scan(&at)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return fromMs(at), true, nil
}

// JobStats implements store.Jobs.
func (db *DB) JobStats(ctx context.Context) (_ []store.JobStats, err error) {
	defer db.timed("job_stats")(&err)
	return queryAll(ctx, db, func(row scanner) (store.JobStats, error) {
		var s store.JobStats
		var oldest int64
		err := row.Scan(&s.Kind, &s.Pending, &oldest)
		s.OldestCreatedAt = fromMs(oldest)
		return s, err
	}, `SELECT kind, count(*), min(created_at) FROM outbox_jobs WHERE state = 'pending' GROUP BY kind ORDER BY kind`)
}

// PruneJobs implements store.Jobs.
func (db *DB) PruneJobs(ctx context.Context, before time.Time, limit int) (n int, err error) {
	defer db.timed("prune_jobs")(&err)
	return db.deleteRows(ctx, `DELETE FROM outbox_jobs WHERE id IN (
		SELECT id FROM outbox_jobs WHERE state <> 'pending' AND finished_at < ? LIMIT ?)`, ms(before), limit)
}
