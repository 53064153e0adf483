package sqlstore_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
	"github.com/switchboard-chat/switchboard/runtime/store/storetest"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dir := t.TempDir()
		return func(t *testing.T) store.Store {
			s, err := sqlstore.OpenSQLite(context.Background(), dir, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
	}, storetest.Capabilities{})
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		uri := pgtest.Database(t, pg)
		return func(t *testing.T) store.Store {
			s, err := sqlstore.OpenPostgres(context.Background(), uri, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		}
	}, storetest.Capabilities{SharedChanges: true})
}

func TestPostgresErrorsHideThePassword(t *testing.T) {
	_, err := sqlstore.OpenPostgres(context.Background(), "postgres://app:s3cret-pw@127.0.0.1:1/chat?sslmode=disable&connect_timeout=1", sqlstore.Options{})
	if err == nil {
		t.Fatal("connected to nothing")
	}
	if strings.Contains(err.Error(), "s3cret-pw") {
		t.Fatalf("the password leaked into the error: %v", err)
	}
}

func TestPostgresFeedResynchronisesAfterALostConnection(t *testing.T) {
	uri := pgtest.Database(t, pg)
	ctx := context.Background()
	s, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var mu sync.Mutex
	var kinds []store.ChangeKind
	defer s.Subscribe(func(c store.Change) {
		mu.Lock()
		kinds = append(kinds, c.Kind)
		mu.Unlock()
	})()
	seen := func(k store.ChangeKind) bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.Contains(kinds, k)
	}

	admin, err := sql.Open("pgx", uri)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	res, err := admin.ExecContext(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := res.RowsAffected(); n != 1 {
		t.Fatalf("terminated %d listening connections, want 1", n)
	}
	eventually(t, func() bool { return seen(store.ChangeResync) }, "no resync after the listening connection was lost")
	// The feed carries on after the reconnect.
	if _, err := s.SetPresence(ctx, "after-reconnect", store.PresenceOnline, nil); err != nil {
		t.Fatal(err)
	}
	eventually(t, func() bool { return seen(store.ChangeOperator) }, "no change announced after the reconnect")
}

func eventually(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal(msg)
		}
	}
}
