package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// takes records what ClaimOnEnqueue's callbacks were told.
type takes struct {
	mu       sync.Mutex
	room     int
	released int
	taken    []store.Job
}

func (k *takes) admit() bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.room == 0 {
		return false
	}
	k.room--
	return true
}

func (k *takes) release(n int) {
	k.mu.Lock()
	k.room += n
	k.released += n
	k.mu.Unlock()
}

func (k *takes) take(jobs []store.Job) {
	k.mu.Lock()
	k.taken = append(k.taken, jobs...)
	k.mu.Unlock()
}

func (k *takes) takenKeys() []string {
	k.mu.Lock()
	defer k.mu.Unlock()
	var out []string
	for _, j := range k.taken {
		out = append(out, j.IdempotencyKey)
	}
	return out
}

func TestJobsTakenAsTheyAreEnqueued(t *testing.T) {
	ctx := context.Background()
	job := func(key, idem string) store.Job {
		return store.Job{Kind: "send", Key: key, IdempotencyKey: idem, Payload: []byte(`{"n":1}`)}
	}
	tests := []struct {
		name      string
		room      int
		write     func(db *DB) error
		wantTaken []string
		// wantLeased: the jobs leased in the store, taken or not.
		wantLeased   []string
		wantPending  []string
		wantReleased int
	}{
		{
			name: "a due job is leased at its insert and handed over after the commit",
			room: 10,
			write: func(db *DB) error {
				_, err := db.Enqueue(ctx, job("a", "a1"))
				return err
			},
			wantTaken: []string{"a1"}, wantLeased: []string{"a1"}, wantPending: []string{"a1"},
		},
		{
			name: "the next job of a key waits for the one before it",
			room: 10,
			write: func(db *DB) error {
				_, err := db.Enqueue(ctx, job("a", "a1"), job("a", "a2"), job("b", "b1"))
				return err
			},
			wantTaken: []string{"a1", "b1"}, wantLeased: []string{"a1", "b1"}, wantPending: []string{"a1", "a2", "b1"}, wantReleased: 1,
		},
		{
			name: "no room: claimed later like any job",
			room: 1,
			write: func(db *DB) error {
				_, err := db.Enqueue(ctx, job("a", "a1"), job("b", "b1"))
				return err
			},
			wantTaken: []string{"a1"}, wantLeased: []string{"a1"}, wantPending: []string{"a1", "b1"},
		},
		{
			name: "a duplicate takes nothing",
			room: 10,
			write: func(db *DB) error {
				if _, err := db.Enqueue(ctx, job("a", "a1")); err != nil {
					return err
				}
				_, err := db.Enqueue(ctx, job("b", "a1"))
				return err
			},
			wantTaken: []string{"a1"}, wantLeased: []string{"a1"}, wantPending: []string{"a1"}, wantReleased: 1,
		},
		{
			name: "a write that fails gives its jobs back; the others of its group commit go",
			room: 10,
			write: func(db *DB) error {
				var wg sync.WaitGroup
				var failed error
				wg.Go(func() {
					failed = db.tx(ctx, func(tx *sql.Tx) error {
						if _, err := db.enqueue(ctx, tx, []store.Job{job("x", "x1")}); err != nil {
							return err
						}
						return errors.New("refused after the insert")
					}, nil)
				})
				wg.Go(func() {
					if _, err := db.Enqueue(ctx, job("a", "a1")); err != nil {
						t.Error(err)
					}
				})
				wg.Wait()
				if failed == nil {
					return errors.New("the failing write succeeded")
				}
				return nil
			},
			wantTaken: []string{"a1"}, wantLeased: []string{"a1"}, wantPending: []string{"a1"}, wantReleased: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := OpenSQLite(ctx, t.TempDir(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			k := &takes{room: tt.room}
			stop := db.ClaimOnEnqueue("worker", []string{"send"}, time.Minute, k.admit, k.release, k.take)
			defer stop()
			if err := tt.write(db); err != nil {
				t.Fatal(err)
			}
			got := k.takenKeys()
			slices.Sort(got)
			if !slices.Equal(got, tt.wantTaken) {
				t.Errorf("taken %v, want %v", got, tt.wantTaken)
			}
			if k.released != tt.wantReleased {
				t.Errorf("%d rooms released, want %d", k.released, tt.wantReleased)
			}
			var leased, pending []string
			for _, key := range []string{"a1", "a2", "b1", "x1"} {
				j, err := db.Job(ctx, key)
				if errors.Is(err, store.ErrNotFound) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if j.State == store.JobPending {
					pending = append(pending, key)
				}
				if j.Owner != "" {
					leased = append(leased, key)
					if j.Owner != "worker" || j.Attempts != 1 {
						t.Errorf("job %s: owner %q, %d attempts; want worker's first attempt", key, j.Owner, j.Attempts)
					}
				}
			}
			if !slices.Equal(leased, tt.wantLeased) || !slices.Equal(pending, tt.wantPending) {
				t.Errorf("leased %v, pending %v; want %v, %v", leased, pending, tt.wantLeased, tt.wantPending)
			}
			// What was taken is what the store holds, so finishing it works.
			for _, j := range k.taken {
				applied, err := db.FinishJobs(ctx, []store.JobResult{{ID: j.ID, Owner: j.Owner, Key: j.Key, State: store.JobDone}})
				if err != nil || !applied[0] {
					t.Errorf("finishing taken job %s: applied %v, %v", j.IdempotencyKey, applied, err)
				}
			}
			// Taken jobs are not claimed again while leased.
			claimed, err := db.ClaimJobs(ctx, store.JobClaim{Owner: "other", Kinds: []string{"send"}, Limit: 10, Lease: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range claimed {
				if slices.Contains(tt.wantTaken, j.IdempotencyKey) {
					t.Errorf("job %s was claimed again while leased", j.IdempotencyKey)
				}
			}
		})
	}
}
