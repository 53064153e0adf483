package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// A job enqueued on SQLite is usually run by the outbox of this very process a moment
// later, after a claim: a write of its own that the one writer everybody waits for
// must make. The outbox can instead take the job as it is enqueued: the insert leases
// it to the outbox already, and the outbox gets it right after the commit. Only jobs
// the outbox has room for, that are due and first of their key, are taken so; the
// others wait for a claim as before. A lease taken so is an ordinary lease: if the
// process dies, the next one frees it like any other.

// enqueueClaim is the outbox that takes jobs as they are enqueued.
type enqueueClaim struct {
	owner string
	kinds map[string]bool
	lease time.Duration
	// admit reserves room for one job; release gives back rooms not used after all.
	admit   func() bool
	release func(n int)
	// take gets the jobs taken, after their commit.
	take func([]store.Job)
}

// insertClaimedJobQuery inserts a job leased to owner when it is its key's head, and
// as insertJobQuery does otherwise.
const insertClaimedJobQuery = `INSERT INTO outbox_jobs (kind, order_key, limiter, idempotency_key, payload, message_id,
		max_attempts, state, head, run_at, created_at, tally, lease_owner, attempts)
	SELECT ?, ?, ?, ?, ?, ?, ?, 'pending', h, CASE WHEN h = 1 THEN ? ELSE ? END, ?, ?, CASE WHEN h = 1 THEN ? END, h
	FROM (SELECT CASE WHEN EXISTS (SELECT 1 FROM outbox_jobs WHERE order_key = ? AND state = 'pending') THEN 0 ELSE 1 END AS h)
	WHERE true
	ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, head`

// ClaimOnEnqueue lets an outbox take the jobs of its kinds as they are enqueued (see
// above); it returns the function that stops it. PostgreSQL, whose writes are not
// grouped in this process, ignores it: its outbox claims as before.
func (db *DB) ClaimOnEnqueue(owner string, kinds []string, lease time.Duration,
	admit func() bool, release func(int), take func([]store.Job)) (stop func()) {
	if db.group == nil {
		return func() {}
	}
	c := &enqueueClaim{owner: owner, kinds: map[string]bool{}, lease: lease, admit: admit, release: release, take: take}
	for _, k := range kinds {
		c.kinds[k] = true
	}
	db.claimer.Store(c)
	return func() { db.claimer.CompareAndSwap(c, nil) }
}

// insertClaimed inserts j leased to c's outbox if it is its key's head, recording it
// for c, and reports whether j was new and whether it was taken.
func (db *DB) insertClaimed(ctx context.Context, tx *sql.Tx, c *enqueueClaim, j store.Job, msgID any, now time.Time) (added, taken bool, err error) {
	leaseEnd := now.Add(c.lease)
	var id, head int64
	err = db.stmt(ctx, tx, insertClaimedJobQuery).queryRow(ctx, j.Kind, j.Key, j.Limiter, j.IdempotencyKey, string(j.Payload),
		msgID, j.MaxAttempts, ms(leaseEnd), ms(j.RunAt), ms(now), j.Tally, db.instance+"/"+c.owner, j.Key).Scan(&id, &head)
	switch {
	case errors.Is(err, sql.ErrNoRows): // a duplicate
		c.release(1)
		return false, false, nil
	case err != nil:
		c.release(1)
		return false, false, err
	case head == 0: // waits for the jobs of its key before it
		c.release(1)
		return true, false, nil
	}
	j.ID, j.State, j.Attempts, j.Owner = id, store.JobPending, 1, c.owner
	j.RunAt, j.CreatedAt = fromMs(ms(leaseEnd)), fromMs(ms(now))
	if m, ok := msgID.(int64); ok {
		j.MessageID = m
	}
	db.claimed = append(db.claimed, claimedJob{claim: c, job: j})
	return true, true, nil
}

// claimedJob is a job taken at its insert, until its transaction ends.
type claimedJob struct {
	claim *enqueueClaim
	job   store.Job
}

// The group commit's hooks: the jobs taken by one write are dropped with its
// savepoint, and the rest handed over after the commit or dropped with it.

// claimMark is where the next write's jobs start.
func (db *DB) claimMark() int { return len(db.claimed) }

// dropClaims gives back the rooms of the jobs taken since mark.
func (db *DB) dropClaims(mark int) {
	for _, cj := range db.claimed[mark:] {
		cj.claim.release(1)
	}
	clear(db.claimed[mark:])
	db.claimed = db.claimed[:mark]
}

// handClaims gives the committed jobs to their outbox.
func (db *DB) handClaims() {
	if len(db.claimed) == 0 {
		return
	}
	byClaim := map[*enqueueClaim][]store.Job{}
	for _, cj := range db.claimed {
		byClaim[cj.claim] = append(byClaim[cj.claim], cj.job)
	}
	for c, jobs := range byClaim {
		c.take(jobs)
	}
	clear(db.claimed)
	db.claimed = db.claimed[:0]
}
