package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// tallyDelta is what one batch of outcomes adds to a tally.
type tallyDelta struct {
	done, failed int64
	doneAt       int64
	err          string
	errAt        int64
}

// addTallyQuery adds a batch's outcomes to a tally. The latest times win: replicas
// finishing batches at once may commit them in either order.
const addTallyQuery = `INSERT INTO outbox_tallies (name, done, failed, last_done_at, last_error, last_error_at)
	VALUES (?, ?, ?, ?, ?, ?)
	ON CONFLICT (name) DO UPDATE SET done = outbox_tallies.done + excluded.done,
		failed = outbox_tallies.failed + excluded.failed,
		last_done_at = CASE WHEN excluded.last_done_at > outbox_tallies.last_done_at
			THEN excluded.last_done_at ELSE outbox_tallies.last_done_at END,
		last_error = CASE WHEN excluded.last_error <> '' AND excluded.last_error_at >= outbox_tallies.last_error_at
			THEN excluded.last_error ELSE outbox_tallies.last_error END,
		last_error_at = CASE WHEN excluded.last_error <> '' AND excluded.last_error_at >= outbox_tallies.last_error_at
			THEN excluded.last_error_at ELSE outbox_tallies.last_error_at END`

// addToTallies adds the recorded outcomes of jobs that name a tally to it, in the
// transaction that records them: one row per tally and batch, in name order, so two
// transactions never wait for each other's rows.
func (db *DB) addToTallies(ctx context.Context, tx *sql.Tx, rows []finishRow, applied []bool, tallies []string, now time.Time) error {
	deltas := map[string]*tallyDelta{}
	for i, r := range rows {
		if !applied[i] || tallies[i] == "" {
			continue
		}
		d := deltas[tallies[i]]
		if d == nil {
			d = &tallyDelta{}
			deltas[tallies[i]] = d
		}
		switch r.state {
		case store.JobDone:
			d.done++
			d.doneAt = ms(now)
		case store.JobFailed:
			d.failed++
		}
		if r.err != "" && r.given == 0 {
			d.err, d.errAt = r.err, ms(now)
		}
	}
	if len(deltas) == 0 {
		return nil
	}
	names := make([]string, 0, len(deltas))
	for n := range deltas {
		names = append(names, n)
	}
	slices.Sort(names)
	add := db.stmt(ctx, tx, addTallyQuery)
	for _, n := range names {
		d := deltas[n]
		if _, err := add.exec(ctx, n, d.done, d.failed, d.doneAt, d.err, d.errAt); err != nil {
			return err
		}
	}
	return nil
}

// Tallies implements store.Jobs.
func (db *DB) Tallies(ctx context.Context, prefix string) (_ []store.Tally, err error) {
	defer db.timed("tallies")(&err)
	byName := map[string]*store.Tally{}
	counted, err := queryAll(ctx, db, func(row scanner) (store.Tally, error) {
		var t store.Tally
		var doneAt, errAt int64
		err := row.Scan(&t.Name, &t.Done, &t.Failed, &doneAt, &t.LastError, &errAt)
		t.LastDoneAt, t.LastErrorAt = fromNonZeroMs(doneAt), fromNonZeroMs(errAt)
		return t, err
	}, `SELECT name, done, failed, last_done_at, last_error, last_error_at FROM outbox_tallies WHERE substr(name, 1, ?) = ?`,
		len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	for i := range counted {
		byName[counted[i].Name] = &counted[i]
	}
	pending, err := queryAll(ctx, db, func(row scanner) (store.Tally, error) {
		var t store.Tally
		var oldest int64
		err := row.Scan(&t.Name, &t.Pending, &oldest)
		t.OldestPending = fromMs(oldest)
		return t, err
	}, `SELECT tally, count(*), min(created_at) FROM outbox_jobs WHERE state = 'pending' AND tally <> '' AND substr(tally, 1, ?) = ?
		GROUP BY tally`, len(prefix), prefix)
	if err != nil {
		return nil, err
	}
	for _, p := range pending {
		t := byName[p.Name]
		if t == nil {
			t = &store.Tally{Name: p.Name}
			byName[p.Name] = t
		}
		t.Pending, t.OldestPending = p.Pending, p.OldestPending
	}
	out := make([]store.Tally, 0, len(byName))
	for _, t := range byName {
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b store.Tally) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// fromNonZeroMs is a time column where 0 means never.
func fromNonZeroMs(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return fromMs(v)
}
