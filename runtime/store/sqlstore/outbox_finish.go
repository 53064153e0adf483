package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// ceilMs rounds up to the millisecond a time column holds, so a job is never due
// before the time asked (a provider's Retry-After).
func ceilMs(t time.Time) int64 {
	return (t.UnixNano() + int64(time.Millisecond) - 1) / int64(time.Millisecond)
}

// finishRow is a result as the row records it.
type finishRow struct {
	id         int64
	state      store.JobState
	head       int64 // 0 for a final state: the key passes on
	runAt      int64 // -1 keeps the row's
	given      int64 // 1 gives the claim's attempt back
	err        string
	finishedAt int64 // 0 while pending
	key, owner string
}

// FinishJobs implements store.Jobs. A job that is done or failed hands its key to the
// next pending job of the key.
func (db *DB) FinishJobs(ctx context.Context, results []store.JobResult) (applied []bool, err error) {
	defer db.timed("finish_jobs")(&err)
	now := db.now()
	rows := make([]finishRow, len(results))
	var finalKeys []string
	for i, r := range results {
		row := finishRow{id: r.ID, state: r.State, head: 1, runAt: ms(now), err: r.Error, key: r.Key, owner: db.instance + "/" + r.Owner}
		switch {
		case r.State != store.JobPending:
			row.head, row.runAt, row.finishedAt = 0, -1, ms(now)
			finalKeys = append(finalKeys, r.Key)
		case !r.RunAt.IsZero():
			row.runAt = ceilMs(r.RunAt)
		}
		if r.Unattempted {
			row.given = 1
		}
		rows[i] = row
	}
	if err := db.prepare(ctx, finishJobQuery, promoteJobQuery, addTallyQuery); err != nil {
		return nil, err
	}
	var changes []store.Change
	err = db.tx(ctx, func(tx *sql.Tx) error {
		changes = changes[:0]
		if db.d.dollar {
			if err := db.lockKeys(ctx, tx, finalKeys); err != nil {
				return err
			}
			var tallies []string
			if applied, tallies, err = db.finishPostgres(ctx, tx, rows); err != nil {
				return err
			}
			if err := db.addToTallies(ctx, tx, rows, applied, tallies, now); err != nil {
				return err
			}
			return db.finishDeliveries(ctx, tx, results, applied, &changes)
		}
		applied = make([]bool, len(rows))
		tallies := make([]string, len(rows))
		update, promote := db.stmt(ctx, tx, finishJobQuery), db.stmt(ctx, tx, promoteJobQuery)
		for i, r := range rows {
			err := update.queryRow(ctx, r.state, r.head, r.runAt, r.runAt, r.given, r.err, nullInt(r.finishedAt), r.id, r.key, r.owner).
				Scan(&tallies[i])
			if errors.Is(err, sql.ErrNoRows) {
				continue // another worker holds the job now
			}
			if err != nil {
				return err
			}
			applied[i] = true
			if r.head == 0 {
				if _, err := promote.exec(ctx, r.key); err != nil {
					return err
				}
			}
		}
		if err := db.addToTallies(ctx, tx, rows, applied, tallies, now); err != nil {
			return err
		}
		return db.finishDeliveries(ctx, tx, results, applied, &changes)
	}, &changes)
	return applied, err
}

// finishDeliveries records the delivery news that came with the jobs recorded done
// or failed for good.
func (db *DB) finishDeliveries(ctx context.Context, tx *sql.Tx, results []store.JobResult, applied []bool, changes *[]store.Change) error {
	for i, r := range results {
		if r.Delivery == nil || !applied[i] || r.State == store.JobPending {
			continue
		}
		_, ch, err := db.updateDelivery(ctx, tx, *r.Delivery)
		if err != nil {
			return err
		}
		*changes = append(*changes, ch...)
	}
	return nil
}

func nullInt(v int64) any {
	if v == 0 {
		return nil
	}
	return v
}

// finishPostgres records a batch in two statements rather than two per job: the
// round trips, not the work, are what costs on PostgreSQL.
func (db *DB) finishPostgres(ctx context.Context, tx *sql.Tx, rows []finishRow) ([]bool, []string, error) {
	n := len(rows)
	ids, heads, runAts, given, finished := make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n), make([]int64, n)
	states, errs, keys, owners := make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	for i, r := range rows {
		ids[i], heads[i], runAts[i], given[i], finished[i] = r.id, r.head, r.runAt, r.given, r.finishedAt
		states[i], errs[i], keys[i], owners[i] = string(r.state), r.err, r.key, r.owner
	}
	res, err := db.stmt(ctx, tx, `UPDATE outbox_jobs j SET state = r.state, head = r.head,
			run_at = CASE WHEN r.run_at < 0 THEN j.run_at ELSE r.run_at END, attempts = j.attempts - r.given,
			last_error = COALESCE(NULLIF(r.error, ''), j.last_error), lease_owner = NULL, finished_at = NULLIF(r.finished, 0)
		FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::bigint[], $8::text[], $9::text[])
			AS r(id, state, head, run_at, given, error, finished, key, owner)
		WHERE j.id = r.id AND j.order_key = r.key AND j.lease_owner = r.owner AND j.state = 'pending'
		RETURNING j.id, j.tally`).query(ctx, ids, states, heads, runAts, given, errs, finished, keys, owners)
	if err != nil {
		return nil, nil, err
	}
	done := map[int64]string{}
	for res.Next() {
		var id int64
		var tally string
		if err := res.Scan(&id, &tally); err != nil {
			res.Close()
			return nil, nil, err
		}
		done[id] = tally
	}
	if err := res.Close(); err != nil {
		return nil, nil, err
	}
	applied := make([]bool, n)
	tallies := make([]string, n)
	var passOn []string
	for i, r := range rows {
		tallies[i], applied[i] = done[r.id]
		if applied[i] && r.head == 0 {
			passOn = append(passOn, r.key)
		}
	}
	if len(passOn) > 0 {
		if _, err := db.stmt(ctx, tx, `UPDATE outbox_jobs SET head = 1 WHERE id IN (
			SELECT min(id) FROM outbox_jobs WHERE state = 'pending' AND order_key = ANY($1::text[]) GROUP BY order_key)`).exec(ctx, passOn); err != nil {
			return nil, nil, err
		}
	}
	return applied, tallies, nil
}
