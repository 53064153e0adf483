package sqlstore

import (
	"context"
	"database/sql"
	"io/fs"
	"path/filepath"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestRatingsMigrationBackfillsSteps: conversations stored before migration 0011 get
// their steps (handover, first acceptance, first finish, offline message) from their
// activity, so the analytics of days before the upgrade count them.
func TestRatingsMigrationBackfillsSteps(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	raw, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "switchboard.db")+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	sub, err := fs.Sub(migrations, "migrations/sqlite")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, raw, sub, goose.WithDisableGlobalRegistry(true), goose.WithTableName(versionTable))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2030, 5, 6, 12, 0, 0, 0, time.UTC)
	for _, q := range []string{
		`INSERT INTO contacts (id, channel, external_id, created_at) VALUES ('k', 'website', 'k', 0)`,
		`INSERT INTO conversations (id, channel, queue, contact_id, state, last_operator, created_at, updated_at) VALUES ('c', 'website', 'q', 'k', 'Closed', 'alice', ?, ?)`,
	} {
		if _, err := raw.ExecContext(ctx, q, ms(at), ms(at)); err != nil {
			t.Fatal(err)
		}
	}
	for _, a := range []struct {
		typ   string
		after time.Duration
	}{{"ChatStarted", 0}, {"OfflineMessage", 0}, {"BotHandedOver", time.Second}, {"ChatAccepted", time.Minute},
		{"ChatAccepted", 2 * time.Minute}, {"ChatFinished", 5 * time.Minute}} {
		if _, err := raw.ExecContext(ctx, `INSERT INTO activity (conversation_id, type, created_at) VALUES ('c', ?, ?)`, a.typ, ms(at.Add(a.after))); err != nil {
			t.Fatal(err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}
	st, err := OpenSQLite(ctx, dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got, err := st.ChatFacts(ctx, at, at.Add(time.Hour), "")
	if err != nil {
		t.Fatal(err)
	}
	want := store.ChatFacts{CreatedAt: at, Queue: "q", Operator: "alice", State: store.StateClosed, Offline: true,
		HandedOverAt: at.Add(time.Second), AcceptedAt: at.Add(time.Minute), FinishedAt: at.Add(5 * time.Minute)}
	if len(got) != 1 || got[0] != want {
		t.Errorf("after the migration\n got %+v\nwant [%+v]", got, want)
	}
}
