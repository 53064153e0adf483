package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// backend opens one kind of store, again and again on the same database.
type backend struct {
	name string
	// driver and dsn reach the same database with database/sql, for tests that set
	// it up by hand.
	driver string
	open   func(t *testing.T) (store.Store, error)
	dsn    string
}

// backends returns SQLite and PostgreSQL, each on a fresh database.
func backends(t *testing.T) []backend {
	dir := t.TempDir()
	uri := pgtest.Database(t, pg)
	return []backend{
		{name: "SQLite", driver: "sqlite", dsn: "file:" + dir + "/switchboard.db",
			open: func(*testing.T) (store.Store, error) {
				return sqlstore.OpenSQLite(context.Background(), dir, sqlstore.Options{})
			}},
		{name: "PostgreSQL", driver: "pgx", dsn: uri,
			open: func(*testing.T) (store.Store, error) {
				return sqlstore.OpenPostgres(context.Background(), uri, sqlstore.Options{})
			}},
	}
}

// seedConversation stores contact c1 on the website channel with one conversation,
// "conv", in state.
func seedConversation(t *testing.T, s store.Store, state store.State) store.Conversation {
	t.Helper()
	ctx := context.Background()
	contact, err := s.UpsertContact(ctx, store.Contact{ID: "c1", Channel: "website", ExternalID: "c1"})
	if err != nil {
		t.Fatal(err)
	}
	conv, err := s.CreateConversation(ctx, store.Conversation{ID: "conv", Channel: "website", Queue: "support",
		ContactID: contact.ID, State: state}, store.Activity{Type: "ChatStarted"})
	if err != nil {
		t.Fatal(err)
	}
	return conv
}

func mustOpen(t *testing.T, b backend) store.Store {
	t.Helper()
	s, err := b.open(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// TestOneOpenConversationPerContact races twenty opens for one contact: exactly one
// conversation starts, and the others are told one is open already.
func TestOneOpenConversationPerContact(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			contact, err := s.UpsertContact(ctx, store.Contact{ID: "c1", Channel: "website", ExternalID: "c1"})
			if err != nil {
				t.Fatal(err)
			}
			const opens = 20
			var wg sync.WaitGroup
			errs := make([]error, opens)
			for i := range opens {
				wg.Go(func() {
					now := time.Now()
					_, errs[i] = s.CreateConversation(ctx, store.Conversation{ID: fmt.Sprintf("conv-%d", i), Channel: "website",
						Queue: "support", ContactID: contact.ID, State: store.StateQueued, QueuedAt: &now},
						store.Activity{Type: "ChatStarted"})
				})
			}
			wg.Wait()
			created := 0
			for i, err := range errs {
				switch {
				case err == nil:
					created++
				case !errors.Is(err, store.ErrOpenExists):
					t.Errorf("open %d: %v, want ErrOpenExists or success", i, err)
				}
			}
			open, err := s.Conversations(ctx, store.ConversationFilter{ContactID: contact.ID})
			if err != nil {
				t.Fatal(err)
			}
			if created != 1 || len(open) != 1 {
				t.Fatalf("%d opens succeeded and %d conversations are stored, want 1 and 1", created, len(open))
			}

			// Once it is closed, the contact may start the next one.
			if _, err := s.Transition(ctx, store.Transition{ID: open[0].ID, Version: open[0].Version,
				Change: func(c *store.Conversation) { c.State = store.StateClosed }}); err != nil {
				t.Fatal(err)
			}
			if _, err := s.CreateConversation(ctx, store.Conversation{ID: "next", Channel: "website", Queue: "support",
				ContactID: contact.ID, State: store.StateQueued}, store.Activity{Type: "ChatStarted"}); err != nil {
				t.Fatalf("a new conversation after the last one closed: %v", err)
			}
		})
	}
}

// TestWritesRacingCloseFailCleanly closes a store under a stream of writes: each write
// either commits or returns an error, and none panics or hangs.
func TestWritesRacingCloseFailCleanly(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s, err := b.open(t)
			if err != nil {
				t.Fatal(err)
			}
			conv := seedConversation(t, s, store.StateQueued)
			var wg sync.WaitGroup
			panics := make(chan any, 8)
			stored := make([]int, 8)
			for w := range 8 {
				wg.Go(func() {
					defer func() {
						if p := recover(); p != nil {
							panics <- p
						}
					}()
					for n := 0; ; n++ {
						_, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID,
							Direction: store.DirectionIn, AuthorKind: "contact", Text: fmt.Sprintf("%d-%d", w, n)})
						if err != nil {
							return
						}
						stored[w]++
					}
				})
			}
			time.Sleep(100 * time.Millisecond)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(10 * time.Second):
				t.Fatal("writers still blocked 10s after the store closed")
			}
			close(panics)
			for p := range panics {
				t.Errorf("a write racing Close panicked: %v", p)
			}
			total := 0
			for _, n := range stored {
				total += n
			}
			if total == 0 {
				t.Fatal("no write committed before Close: the race was not exercised")
			}
			if _, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn,
				AuthorKind: "contact", Text: "late"}); err == nil {
				t.Fatal("a write after Close succeeded")
			}
		})
	}
}

// TestMigratesADatabaseFromBeforeGoose opens a database that the earlier migration
// runner set up (a schema_migrations table) holding two open conversations of one
// contact: the history is adopted, the later migrations apply, and only the older
// conversation stays open.
func TestMigratesADatabaseFromBeforeGoose(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			old, err := sql.Open(b.driver, b.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer old.Close()
			dialect := map[string]string{"sqlite": "sqlite", "pgx": "postgres"}[b.driver]
			mustExec(t, old, `CREATE TABLE schema_migrations (version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`)
			for _, version := range []string{"0001_init", "0002_routing"} {
				body, err := os.ReadFile("migrations/" + dialect + "/" + version + ".sql")
				if err != nil {
					t.Fatal(err)
				}
				for _, stmt := range strings.Split(string(body), ";\n") {
					if strings.TrimSpace(stmt) != "" {
						mustExec(t, old, stmt)
					}
				}
				mustExec(t, old, `INSERT INTO schema_migrations (version, applied_at) VALUES ('`+version+`', 0)`)
			}
			mustExec(t, old, `INSERT INTO contacts (id, channel, external_id, created_at) VALUES ('c1', 'website', 'c1', 0)`)
			for i, id := range []string{"first", "second"} {
				mustExec(t, old, fmt.Sprintf(`INSERT INTO conversations (id, channel, queue, contact_id, state, created_at, updated_at)
					VALUES ('%s', 'website', 'support', 'c1', 'Queued', %d, %d)`, id, i, i))
			}

			s := mustOpen(t, b)
			first, err := s.Conversation(ctx, "first")
			if err != nil {
				t.Fatal(err)
			}
			second, err := s.Conversation(ctx, "second")
			if err != nil {
				t.Fatal(err)
			}
			if first.State != store.StateQueued || second.State != store.StateClosed {
				t.Fatalf("after migrating: first %s, second %s; want the older open and the duplicate closed", first.State, second.State)
			}
			var applied int
			if err := old.QueryRowContext(ctx, `SELECT count(*) FROM goose_db_version WHERE version_id > 0`).Scan(&applied); err != nil {
				t.Fatal(err)
			}
			// Two adopted, every later one applied.
			files, err := filepath.Glob("migrations/" + dialect + "/*.sql")
			if err != nil {
				t.Fatal(err)
			}
			if applied != len(files) {
				t.Fatalf("goose records %d migrations, want %d (two adopted, the rest applied)", applied, len(files))
			}
		})
	}
}

func mustExec(t *testing.T, db *sql.DB, stmt string) {
	t.Helper()
	if _, err := db.Exec(stmt); err != nil {
		t.Fatalf("%s: %v", stmt, err)
	}
}
