package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// TestPostgresCanCommit: replicas sharing a database each commit their readiness
// heartbeat, the first creating its table.
func TestPostgresCanCommit(t *testing.T) {
	uri := pgtest.Database(t, pg)
	ctx := context.Background()
	var replicas []*sqlstore.DB
	for range 2 {
		s, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replicas = append(replicas, s)
	}
	for round := range 2 {
		for i, s := range replicas {
			if err := s.CanCommit(ctx); err != nil {
				t.Errorf("round %d, replica %d: %v", round, i, err)
			}
		}
		time.Sleep(1100 * time.Millisecond) // past the kept outcome: commit again
	}
}
