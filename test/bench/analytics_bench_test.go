package bench

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

const (
	// analyticsConversations are spread evenly over analyticsDays up to now.
	analyticsConversations = 1_000_000
	analyticsDays          = 365
	// analyticsLoads are the page loads timed per request kind.
	analyticsLoads  = 100
	supervisorToken = "bench-token-sam-0123456789"
)

// seedConversations stores n conversations of the samples' queues, one every
// 365 days / n up to now, in one statement: each row's queue, operator, wait,
// handling time and rating derive from its number. One in twenty was never accepted
// (a missed chat); three in ten were rated with stars, one in ten with thumbs. The
// rows are what the analytics read (the conversation row, not its messages or
// activity).
func seedConversations(ctx context.Context, db *sql.DB, dollar bool, now time.Time) error {
	start := now.Add(-analyticsDays * 24 * time.Hour).UnixMilli()
	step := analyticsDays * 24 * time.Hour.Milliseconds() / analyticsConversations
	q := fmt.Sprintf(`WITH RECURSIVE s(i) AS (SELECT CAST(0 AS BIGINT) UNION ALL SELECT i + 1 FROM s WHERE i < %d),
	r AS (SELECT i, %d + i * %d AS created, (i * 7919) %% 1000 AS h FROM s)
	INSERT INTO conversations (id, channel, queue, contact_id, state, operator, last_operator, offered, bot_answered,
		queued_at, created_at, updated_at, closed_at, seq, version, lapsed,
		rating_scale, rating, rated_at, offline, accepted_at, finished_at)
	SELECT 'b' || i, 'website',
		CASE WHEN i %% 5 = 0 THEN 'accounting' ELSE 'first-line' END,
		'k' || (i %% 10000), 'Closed', '',
		CASE WHEN h < 50 THEN ''
			WHEN i %% 5 = 0 THEN CASE WHEN i %% 2 = 0 THEN 'dave' ELSE 'erin' END
			ELSE CASE i %% 3 WHEN 0 THEN 'alice' WHEN 1 THEN 'bob' ELSE 'carol' END END,
		'', 0, created, created, created + 1500000, created + 1500000, 4, 5, '',
		CASE WHEN h < 50 THEN '' WHEN h %% 10 < 3 THEN 'Stars' WHEN h %% 10 = 3 THEN 'Thumbs' ELSE '' END,
		CASE WHEN h < 50 OR h %% 10 > 3 THEN NULL WHEN h %% 10 = 3 THEN h %% 2 ELSE 1 + h %% 5 END,
		CASE WHEN h < 50 OR h %% 10 > 3 THEN NULL ELSE created + 1500000 END,
		0,
		CASE WHEN h < 50 THEN NULL ELSE created + (h %% 300) * 1000 END,
		CASE WHEN h < 50 THEN NULL ELSE created + (h %% 300) * 1000 + (60 + (h * 31) %% 1140) * 1000 END
	FROM r`, analyticsConversations-1, start, step)
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer func() { _ = tx.Rollback() }()
	if dollar {
		if _, err := tx.ExecContext(ctx, `SET LOCAL synchronous_commit = off`); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 9999)
		INSERT INTO contacts (id, channel, external_id, created_at) SELECT 'k' || i, 'website', 'k' || i, 0 FROM s`); err != nil {
		return fmt.Errorf("seeding contacts: %w", err)
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return fmt.Errorf("seeding conversations: %w", err)
	}
	return tx.Commit()
}

// countConversations counts the stored conversations.
func countConversations(ctx context.Context, db *sql.DB) (int, error) {
	var n int
	err := db.QueryRowContext(ctx, `SELECT count(*) FROM conversations`).Scan(&n)
	return n, err
}

// analyticsLoadsOf times page loads of the supervisors' analytics through the API
// with the samples' configuration: 30 days of all queues, and of one.
func analyticsLoadsOf(b *testing.B, name string, st *sqlstore.DB, now time.Time) {
	cfg, err := samples.Config()
	if err != nil {
		b.Fatal(err)
	}
	cfg.LiveChat.TimeZone = "Europe/Berlin"
	e := chat.New(st, hub.New(), cfg, chat.Options{})
	defer e.Close()
	srv := httptest.NewServer(api.New(api.Options{Engine: e, Verifier: auth.NewTokens(map[string][]byte{"sam": []byte(supervisorToken)})}))
	defer srv.Close()
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		b.Fatal(err)
	}
	to := now.In(berlin)
	from := to.AddDate(0, 0, -29)
	days := "from=" + from.Format(time.DateOnly) + "&to=" + to.Format(time.DateOnly)
	for _, page := range []struct{ name, query string }{
		{"30 days, all queues", days},
		{"30 days, queue first-line", days + "&queue=first-line"},
		{"30 days, queue accounting", days + "&queue=accounting"},
	} {
		load := func() (int, time.Duration) {
			req, err := http.NewRequest(http.MethodGet, srv.URL+"/api/v1/analytics?"+page.query, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+supervisorToken)
			t0 := time.Now()
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			var n int
			buf := make([]byte, 32<<10)
			for {
				k, err := res.Body.Read(buf)
				n += k
				if err != nil {
					break
				}
			}
			d := time.Since(t0)
			_ = res.Body.Close()
			if res.StatusCode != http.StatusOK {
				b.Fatalf("%s: status %d", page.name, res.StatusCode)
			}
			return n, d
		}
		size, cold := load() // the first reads every day from the store; the rest only the days that changed
		lat := make([]time.Duration, 0, analyticsLoads)
		for range analyticsLoads {
			_, d := load()
			lat = append(lat, d)
		}
		fmt.Printf("  %s, %s: first load %.0f ms, then p50 %.1f ms, p99 %.1f ms over %d page loads (%d KiB each)\n", name, page.name,
			ms(cold), ms(percentileDur(lat, .5)), ms(percentileDur(lat, .99)), analyticsLoads, size>>10)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkAnalytics measures the supervisors' analytics page over 1,000,000 stored
// conversations on SQLite and PostgreSQL. The seeded SQLite database is kept in the
// system's temp directory and reused by later runs; PostgreSQL is seeded afresh.
func BenchmarkAnalytics(b *testing.B) {
	ctx := context.Background()
	now := time.Now()
	b.Run("SQLite", func(b *testing.B) {
		dir := filepath.Join(os.TempDir(), "switchboard-bench-analytics")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			b.Fatal(err)
		}
		st, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		raw, err := sql.Open("sqlite", sqliteDSN(filepath.Join(dir, "switchboard.db")))
		if err != nil {
			b.Fatal(err)
		}
		defer raw.Close()
		raw.SetMaxOpenConns(1)
		if n, err := countConversations(ctx, raw); err != nil || n != analyticsConversations {
			if n != 0 {
				b.Fatalf("%s holds %d conversations (%v): delete the directory to seed it again", dir, n, err)
			}
			t0 := time.Now()
			if err := seedConversations(ctx, raw, false, now); err != nil {
				b.Fatal(err)
			}
			if _, err := raw.ExecContext(ctx, `ANALYZE`); err != nil {
				b.Fatal(err)
			}
			fmt.Printf("  SQLite: seeded %d conversations in %v (kept in %s)\n", analyticsConversations, time.Since(t0).Round(time.Second), dir)
		} else {
			fmt.Printf("  SQLite: %d conversations seeded before, in %s; the newest are as old as that run\n", n, dir)
			var newest int64
			if err := raw.QueryRowContext(ctx, `SELECT max(created_at) FROM conversations`).Scan(&newest); err != nil {
				b.Fatal(err)
			}
			now = time.UnixMilli(newest)
		}
		analyticsLoadsOf(b, "SQLite", st, now)
	})
	b.Run("Postgres", func(b *testing.B) {
		pg, uri, err := pgtest.StartWithDatabase()
		if err != nil {
			b.Fatal(err)
		}
		defer pg.Stop()
		st, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		raw, err := sql.Open("pgx", uri)
		if err != nil {
			b.Fatal(err)
		}
		defer raw.Close()
		t0 := time.Now()
		if err := seedConversations(ctx, raw, true, now); err != nil {
			b.Fatal(err)
		}
		if _, err := raw.ExecContext(ctx, `VACUUM ANALYZE conversations`); err != nil {
			b.Fatal(err)
		}
		fmt.Printf("  PostgreSQL: seeded %d conversations in %v\n", analyticsConversations, time.Since(t0).Round(time.Second))
		analyticsLoadsOf(b, "PostgreSQL", st, now)
	})
}
