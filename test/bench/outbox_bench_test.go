package bench

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // the "sqlite" driver, for River's connections

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// outboxConversations share the benchmark's replies: each is an order key, so a
// conversation's replies go out one at a time, in order.
const outboxConversations = 1000

// BenchmarkOutbox measures the outbox: jobs enqueued by 32 concurrent callers, either
// as operators' replies (each message stored with its send job in one transaction) or
// alone, sent in order per conversation by the worker pool to a local fake provider
// over HTTP. It prints sends/s as fast as possible, and the latency from the call
// that enqueues to the fake receiving the job at 1,000/s.
func BenchmarkOutbox(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) {
		s, err := sqlstore.OpenSQLite(context.Background(), b.TempDir(), sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		runOutbox(b, s)
	})
	b.Run("Postgres", func(b *testing.B) {
		pg, uri, err := pgtest.StartWithDatabase()
		if err != nil {
			b.Fatal(err)
		}
		defer pg.Stop()
		s, err := sqlstore.OpenPostgres(context.Background(), uri, sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		runOutbox(b, s)
	})
}

func runOutbox(b *testing.B, s *sqlstore.DB) {
	ctx := context.Background()
	convs := make([]string, outboxConversations)
	for i := range convs {
		id := fmt.Sprintf("conv-%04d", i)
		c, err := s.UpsertContact(ctx, store.Contact{ID: "contact-" + id, Channel: "telegram", ExternalID: id})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.CreateConversation(ctx, store.Conversation{ID: id, Channel: "telegram", Queue: "support",
			ContactID: c.ID, State: store.StateActive}, store.Activity{Type: "ChatStarted"}); err != nil {
			b.Fatal(err)
		}
		convs[i] = id
	}
	f := newFakeProvider(b)
	o := outbox.New(s, outbox.Options{})
	if err := o.Handle("channel.send", outbox.Kind{Handle: func(ctx context.Context, j store.Job) error {
		return f.send(ctx, j.Payload)
	}}); err != nil {
		b.Fatal(err)
	}
	o.Start()
	defer func() { _ = o.Close(ctx) }()
	// A reply: the message and its send job in one transaction.
	reply := func(ctx context.Context, seq int64, payload []byte) error {
		_, _, err := s.AppendMessage(ctx, "telegram", store.Message{ConversationID: convs[seq%outboxConversations],
			Direction: store.DirectionOut, AuthorKind: "operator", Author: "ann", Text: "reply",
			Jobs: []store.Job{{Kind: "channel.send", Limiter: "telegram:bot", Payload: payload}}})
		return err
	}
	// A job alone, as a notification delivery is enqueued.
	run := 0
	send := func(ctx context.Context, seq int64, payload []byte) error {
		_, err := s.Enqueue(ctx, store.Job{Kind: "channel.send", Key: convs[seq%outboxConversations], Limiter: "telegram:bot",
			IdempotencyKey: fmt.Sprintf("bench-%d-%d", run, seq), Payload: payload})
		return err
	}
	b.ResetTimer()
	for range b.N {
		for _, m := range []struct {
			name    string
			enqueue func(context.Context, int64, []byte) error
		}{{"replies (AppendMessage with a job)", reply}, {"jobs alone (Enqueue)", send}} {
			run++
			b.Logf("%s, as fast as possible: %s", m.name, f.drive(b, outboxJobs, 0, m.enqueue))
			run++
			b.Logf("%s, paced at %d/s: %s", m.name, outboxPacedRate, f.drive(b, outboxPacedJobs, outboxPacedRate, m.enqueue))
		}
	}
	b.StopTimer()
	deadline := time.Now().Add(10 * time.Second)
	for {
		stats, err := s.JobStats(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if len(stats) == 0 {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("jobs still pending after the runs: %+v", stats)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// BenchmarkOutboxRiver measures River (github.com/riverqueue/river), the queue the
// outbox was measured against, on the same harness as BenchmarkOutbox: transactional
// inserts (on SQLite batched like the store's group commit; on PostgreSQL one
// transaction per job as the store commits, and batched for comparison), 64 workers
// posting to the local fake. River has no ordering per key, so these runs order
// nothing; ours do.
func BenchmarkOutboxRiver(b *testing.B) {
	b.Run("SQLite", func(b *testing.B) {
		for _, v := range []struct {
			name string
			// own: River works through its own connection to the file instead of the
			// store's single writer connection.
			own      bool
			cooldown time.Duration
		}{
			{"shared-writer/defaults", false, 0},
			{"shared-writer/cooldown-1ms", false, time.Millisecond},
			{"own-connection/cooldown-1ms", true, time.Millisecond},
		} {
			b.Run(v.name, func(b *testing.B) {
				dsn := sqliteDSN(filepath.Join(b.TempDir(), "river.db"))
				write := openSQLite(b, dsn)
				work := write
				if v.own {
					work = openSQLite(b, dsn)
				}
				runRiver(b, riversqlite.New(work), riversqlite.New(write), write, v.cooldown, true)
			})
		}
	})
	b.Run("Postgres", func(b *testing.B) {
		pg, uri, err := pgtest.StartWithDatabase()
		if err != nil {
			b.Fatal(err)
		}
		defer pg.Stop()
		db, err := sql.Open("pgx", uri)
		if err != nil {
			b.Fatal(err)
		}
		db.SetMaxOpenConns(16)
		defer db.Close()
		listen, err := pgxpool.New(context.Background(), uri)
		if err != nil {
			b.Fatal(err)
		}
		defer listen.Close()
		d := riverdatabasesql.NewWithPgxListener(db, listen)
		for _, batched := range []bool{false, true} {
			b.Run(map[bool]string{false: "one-tx-per-job", true: "batched"}[batched], func(b *testing.B) {
				runRiver(b, d, d, db, time.Millisecond, batched)
			})
		}
	})
}

func sqliteDSN(path string) string {
	return "file:" + (&url.URL{Path: path}).EscapedPath() +
		"?_txlock=immediate&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
}

// openSQLite opens a pool of one connection, as the store's writer is.
func openSQLite(b *testing.B, dsn string) *sql.DB {
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		b.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	b.Cleanup(func() { _ = db.Close() })
	return db
}

type riverSend struct {
	Job json.RawMessage `json:"job"`
}

func (riverSend) Kind() string { return "channel.send" }

type riverWorker struct {
	river.WorkerDefaults[riverSend]
	f *fakeProvider
}

func (w *riverWorker) Work(ctx context.Context, j *river.Job[riverSend]) error {
	return w.f.send(ctx, j.Args.Job)
}

func runRiver[TTx any](b *testing.B, work, insert riverdriver.Driver[TTx], write *sql.DB, cooldown time.Duration, batched bool) {
	ctx := context.Background()
	migrator, err := rivermigrate.New(insert, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil); err != nil {
		b.Fatal(err)
	}
	f := newFakeProvider(b)
	workers := river.NewWorkers()
	river.AddWorker(workers, &riverWorker{f: f})
	client, err := river.NewClient(work, &river.Config{
		Queues:        map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: 64}},
		Workers:       workers,
		FetchCooldown: cooldown,
	})
	if err != nil {
		b.Fatal(err)
	}
	inserter, err := river.NewClient(insert, &river.Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = client.Stop(ctx) }()
	g := newGroupInsert(func(ctx context.Context, payloads [][]byte) error {
		tx, err := write.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		params := make([]river.InsertManyParams, len(payloads))
		for i, p := range payloads {
			params[i] = river.InsertManyParams{Args: riverSend{Job: p}}
		}
		if _, err := inserter.InsertManyTx(ctx, any(tx).(TTx), params); err != nil {
			return err
		}
		return tx.Commit()
	})
	defer g.close()
	enqueue := g.enqueue
	if !batched {
		enqueue = func(ctx context.Context, _ int64, payload []byte) error {
			tx, err := write.BeginTx(ctx, nil)
			if err != nil {
				return err
			}
			defer tx.Rollback()
			if _, err := inserter.InsertTx(ctx, any(tx).(TTx), riverSend{Job: payload}, nil); err != nil {
				return err
			}
			return tx.Commit()
		}
	}
	b.ResetTimer()
	for range b.N {
		b.Logf("as fast as possible: %s", f.drive(b, outboxJobs, 0, enqueue))
		b.Logf("paced at %d/s: %s", outboxPacedRate, f.drive(b, outboxPacedJobs, outboxPacedRate, enqueue))
	}
}

// The outbox benchmarks (ours and River) share one shape: enqueuers put send jobs into
// the queue, each carrying its sequence number and enqueue time; workers post them to
// a local fake provider over HTTP; the fake records the latency from enqueue to
// arrival and counts duplicates.

const (
	outboxJobs       = 30000 // as fast as possible
	outboxPacedRate  = 1000  // jobs/s for the latency run
	outboxPacedJobs  = 10000
	outboxEnqueuers  = 32 // concurrent request handlers enqueueing replies
	outboxRunTimeout = 5 * time.Minute
)

// sendJob is the payload of a benchmark job.
type sendJob struct {
	Seq        int64 `json:"seq"`
	EnqueuedAt int64 `json:"enqueuedAt"` // Unix nanoseconds
}

// fakeProvider stands in for a messenger's send API.
type fakeProvider struct {
	srv    *httptest.Server
	client *http.Client
	mu     sync.Mutex
	seen   map[int64]int
	lat    []time.Duration
	want   int
	full   chan struct{}
	got    atomic.Int64
}

func newFakeProvider(b *testing.B) *fakeProvider {
	f := &fakeProvider{seen: map[int64]int{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var j sendJob
		if err := json.NewDecoder(r.Body).Decode(&j); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		lat := time.Since(time.Unix(0, j.EnqueuedAt))
		f.mu.Lock()
		f.seen[j.Seq]++
		if f.seen[j.Seq] == 1 {
			f.lat = append(f.lat, lat)
			if len(f.lat) == f.want {
				close(f.full)
			}
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	f.client = &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	b.Cleanup(f.srv.Close)
	return f
}

// expect resets the fake for a run of n jobs.
func (f *fakeProvider) expect(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seen, f.lat, f.want, f.full = map[int64]int{}, nil, n, make(chan struct{})
}

// send is what every worker does with a job: post it to the fake.
func (f *fakeProvider) send(ctx context.Context, payload []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.srv.URL+"/send", bytes.NewReader(payload))
	if err != nil {
		return err
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fake provider: %s", resp.Status)
	}
	return nil
}

// result of a run.
type outboxResult struct {
	jobs       int
	elapsed    time.Duration
	p50, p99   time.Duration
	max        time.Duration
	duplicates int
	// cpu is the process's CPU time during the run: the machine is shared, so this
	// says how much of it the run had.
	cpu time.Duration
}

func (r outboxResult) String() string {
	return fmt.Sprintf("%d jobs in %.2fs = %.0f/s; enqueue→provider p50 %s p99 %s max %s; duplicates %d; process CPU %.2f cores, %s per job",
		r.jobs, r.elapsed.Seconds(), float64(r.jobs)/r.elapsed.Seconds(),
		r.p50.Round(100*time.Microsecond), r.p99.Round(100*time.Microsecond), r.max.Round(100*time.Microsecond), r.duplicates,
		r.cpu.Seconds()/r.elapsed.Seconds(), (r.cpu / time.Duration(r.jobs)).Round(time.Microsecond))
}

func processCPU() time.Duration {
	var u syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// drive enqueues n jobs, paced at rate per second (0: as fast as outboxEnqueuers
// goroutines go), and waits until the fake has received every one.
func (f *fakeProvider) drive(b *testing.B, n, rate int, enqueue func(ctx context.Context, seq int64, payload []byte) error) outboxResult {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), outboxRunTimeout)
	defer cancel()
	f.expect(n)
	start, cpu := time.Now(), processCPU()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, outboxEnqueuers)
	for range outboxEnqueuers {
		wg.Go(func() {
			for {
				seq := next.Add(1) - 1
				if seq >= int64(n) {
					return
				}
				if rate > 0 { // the seq-th job is due at start + seq/rate
					time.Sleep(time.Until(start.Add(time.Duration(seq) * time.Second / time.Duration(rate))))
				}
				payload, _ := json.Marshal(sendJob{Seq: seq, EnqueuedAt: time.Now().UnixNano()})
				if err := enqueue(ctx, seq, payload); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatalf("enqueueing: %v", err)
	default:
	}
	select {
	case <-f.full:
	case <-ctx.Done():
		b.Fatalf("the fake provider received %d of %d jobs in %s", f.received(), n, outboxRunTimeout)
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu
	time.Sleep(200 * time.Millisecond) // late duplicates
	f.mu.Lock()
	defer f.mu.Unlock()
	lat := slices.Clone(f.lat)
	slices.Sort(lat)
	dups := 0
	for _, c := range f.seen {
		dups += c - 1
	}
	return outboxResult{jobs: n, elapsed: elapsed, p50: lat[len(lat)/2], p99: lat[len(lat)*99/100], max: lat[len(lat)-1],
		duplicates: dups, cpu: cpu}
}

func (f *fakeProvider) received() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.lat)
}

// groupInsert batches concurrent enqueues into shared transactions, the way the
// store's SQLite group commit batches writes: insert runs once per batch.
type groupInsert struct {
	queue chan groupItem
}

type groupItem struct {
	payload []byte
	done    chan error
}

func newGroupInsert(insert func(ctx context.Context, payloads [][]byte) error) *groupInsert {
	g := &groupInsert{queue: make(chan groupItem, 1024)}
	go func() {
		for it := range g.queue {
			batch := []groupItem{it}
		fill:
			for len(batch) < 256 {
				select {
				case more := <-g.queue:
					batch = append(batch, more)
				default:
					break fill
				}
			}
			payloads := make([][]byte, len(batch))
			for i, it := range batch {
				payloads[i] = it.payload
			}
			err := insert(context.Background(), payloads)
			for _, it := range batch {
				it.done <- err
			}
		}
	}()
	return g
}

func (g *groupInsert) enqueue(ctx context.Context, _ int64, payload []byte) error {
	it := groupItem{payload: payload, done: make(chan error, 1)}
	g.queue <- it
	return <-it.done
}

func (g *groupInsert) close() { close(g.queue) }
