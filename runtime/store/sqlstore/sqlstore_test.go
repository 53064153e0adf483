package sqlstore_test

import (
	"context"
	"strings"
	"testing"

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
