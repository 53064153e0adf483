package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Under a steady write load with readers always busy, the write-ahead log stays near
// its bound: the checkpointer restarts it, where SQLite's own checkpoints, run by the
// writer, never found a moment without readers and let it grow without end.
func TestWriteAheadLogStaysBoundedUnderLoad(t *testing.T) {
	defer func(p int) { walRestartPages = p }(walRestartPages)
	walRestartPages = 256 // 1 MiB
	dir := t.TempDir()
	ctx := context.Background()
	db, err := OpenSQLite(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 4 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				// Reads as the runtime makes them: by key.
				if _, err := db.Job(ctx, "0-0"); err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Error(err)
					return
				}
			}
		})
	}
	payload := `"` + strings.Repeat("x", 2000) + `"`
	wal := filepath.Join(dir, "switchboard.db-wal")
	var largest int64
	const rounds, perRound = 100, 64 // about 13 MiB of pages written
	for r := range rounds {
		var writes sync.WaitGroup
		for i := range perRound {
			writes.Go(func() {
				k := fmt.Sprintf("%d-%d", r, i)
				if _, err := db.Enqueue(ctx, store.Job{Kind: "load", Key: k, IdempotencyKey: k, Payload: []byte(payload)}); err != nil {
					t.Error(err)
				}
			})
		}
		writes.Wait()
		if fi, err := os.Stat(wal); err == nil && fi.Size() > largest {
			largest = fi.Size()
		}
	}
	close(stop)
	readers.Wait()
	db.ckpt.checkpoint() // the last round's, without waiting for the ticker
	st := db.ckpt.snapshot()
	t.Logf("log at most %d KiB; %d checkpoints, %d restarts", largest>>10, st.Checkpoints, st.Restarts)
	if st.Restarts == 0 {
		t.Error("the log was never restarted")
	}
	if bound := int64(16 * walRestartPages * 4096); largest > bound {
		t.Errorf("the write-ahead log grew to %d KiB, want at most %d KiB", largest>>10, bound>>10)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(wal); err == nil && fi.Size() != 0 {
		t.Errorf("the log is %d bytes after close, want it checkpointed and truncated", fi.Size())
	}
}

// Full durability syncs the log at every commit; normal durability at checkpoints.
func TestDurabilitySetsSynchronous(t *testing.T) {
	for _, tc := range []struct {
		full bool
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{{false, 1}, {true, 2}} {
		db, err := OpenSQLite(context.Background(), t.TempDir(), Options{FullDurability: tc.full})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := db.write.QueryRow("PRAGMA synchronous").Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("full durability %v: synchronous = %d, want %d", tc.full, got, tc.want)
		}
		_ = db.Close()
	}
}
