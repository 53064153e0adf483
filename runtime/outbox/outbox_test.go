package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/pgtest"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var pg *pgtest.Server

func TestMain(m *testing.M) { pgtest.Main(m, &pg) }

var ctx = context.Background()

// opener opens the same database every time it is called; t's cleanup closes it.
type opener func(t *testing.T) *sqlstore.DB

// eachBackend runs fn on a fresh SQLite database and a fresh PostgreSQL database.
func eachBackend(t *testing.T, fn func(t *testing.T, open opener)) {
	t.Run("SQLite", func(t *testing.T) {
		dir := t.TempDir()
		fn(t, func(t *testing.T) *sqlstore.DB {
			s, err := sqlstore.OpenSQLite(ctx, dir, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
	t.Run("Postgres", func(t *testing.T) {
		uri := pgtest.Database(t, pg)
		fn(t, func(t *testing.T) *sqlstore.DB {
			s, err := sqlstore.OpenPostgres(ctx, uri, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = s.Close() })
			return s
		})
	})
}

// start runs an outbox with kinds until the test ends.
func start(t *testing.T, s outbox.Store, opts outbox.Options, kinds map[string]outbox.Kind) *outbox.Outbox {
	t.Helper()
	o := outbox.New(s, opts)
	for name, k := range kinds {
		if err := o.Handle(name, k); err != nil {
			t.Fatal(err)
		}
	}
	o.Start()
	t.Cleanup(func() {
		c, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_ = o.Close(c)
	})
	return o
}

// recorder is a handler that records what it was asked to send.
type recorder struct {
	mu       sync.Mutex
	attempts map[string][]time.Time // by idempotency key
	sent     map[string]int         // successful sends by idempotency key
	order    map[string][]string    // successful sends by key, in order
	active   map[string]int         // sends in progress by key
	overlap  bool                   // two sends of one key were in progress at once
	// fail decides an attempt's error; nil: success.
	fail  func(j store.Job, attempt int) error
	delay time.Duration
}

func newRecorder(fail func(j store.Job, attempt int) error) *recorder {
	return &recorder{attempts: map[string][]time.Time{}, sent: map[string]int{}, order: map[string][]string{},
		active: map[string]int{}, fail: fail}
}

func (r *recorder) handle(ctx context.Context, j store.Job) error {
	r.mu.Lock()
	r.attempts[j.IdempotencyKey] = append(r.attempts[j.IdempotencyKey], time.Now())
	attempt := len(r.attempts[j.IdempotencyKey])
	r.active[j.Key]++
	if r.active[j.Key] > 1 {
		r.overlap = true
	}
	r.mu.Unlock()
	if r.delay > 0 {
		time.Sleep(r.delay)
	}
	var err error
	if r.fail != nil {
		err = r.fail(j, attempt)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.active[j.Key]--
	if err == nil {
		r.sent[j.IdempotencyKey]++
		r.order[j.Key] = append(r.order[j.Key], j.IdempotencyKey)
	}
	return err
}

func (r *recorder) sentCount() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.sent)
}

func eventually(t *testing.T, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	for deadline := time.Now().Add(timeout); !cond(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf(format, args...)
		}
	}
}

// job builds a job of kind "channel.send".
func job(key string, n int) store.Job {
	return store.Job{Kind: "channel.send", Key: key, IdempotencyKey: fmt.Sprintf("%s/%03d", key, n),
		Payload: []byte(fmt.Sprintf(`{"n":%d}`, n))}
}

// seq is the number job gave an idempotency key.
func seq(idempotencyKey string) int {
	n, err := strconv.Atoi(idempotencyKey[strings.LastIndex(idempotencyKey, "/")+1:])
	if err != nil {
		panic(err)
	}
	return n
}

// settled waits until every job is in a final state and returns them.
func settled(t *testing.T, s store.Jobs, keys []string) map[string]store.Job {
	t.Helper()
	out := map[string]store.Job{}
	eventually(t, 30*time.Second, func() bool {
		for _, k := range keys {
			j, err := s.Job(ctx, k)
			if err != nil {
				t.Fatal(err)
			}
			if j.State == store.JobPending {
				return false
			}
			out[k] = j
		}
		return true
	}, "jobs still pending after 30s")
	return out
}

func TestOrderPerKeyUnderRetries(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		// Every third job fails twice before it goes through, some with a provider's
		// Retry-After and some with a backoff; the jobs behind it must wait.
		rec := newRecorder(func(j store.Job, attempt int) error {
			n := seq(j.IdempotencyKey)
			switch {
			case n%3 != 0 || attempt > 2:
				return nil
			case n%2 == 0:
				return outbox.RetryAfter(errors.New("429 too many requests"), 5*time.Millisecond)
			default:
				return errors.New("connection reset")
			}
		})
		start(t, s, outbox.Options{}, map[string]outbox.Kind{"channel.send": {Handle: rec.handle, MinBackoff: 5 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}})
		var keys []string
		want := map[string][]string{}
		for n := range 30 {
			for _, conv := range []string{"conv-a", "conv-b", "conv-c", "conv-d"} {
				j := job(conv, n)
				if _, err := s.Enqueue(ctx, j); err != nil {
					t.Fatal(err)
				}
				keys = append(keys, j.IdempotencyKey)
				want[conv] = append(want[conv], j.IdempotencyKey)
			}
		}
		jobs := settled(t, s, keys)
		rec.mu.Lock()
		defer rec.mu.Unlock()
		for conv, w := range want {
			if !slices.Equal(rec.order[conv], w) {
				t.Errorf("%s sent in the order %v, want %v", conv, rec.order[conv], w)
			}
		}
		if rec.overlap {
			t.Error("two jobs of one key were being sent at once")
		}
		for k, j := range jobs {
			wantAttempts := 1
			if seq(k)%3 == 0 {
				wantAttempts = 3
			}
			if j.State != store.JobDone || j.Attempts != wantAttempts {
				t.Errorf("%s: %s after %d attempts, want done after %d", k, j.State, j.Attempts, wantAttempts)
			}
		}
	})
}

func TestRetryWaits(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		kind outbox.Kind
		// minGap is the least time between the failed attempt and the next.
		minGap time.Duration
	}{
		{"retry-after is honoured", outbox.RetryAfter(errors.New("429 too many requests"), 400*time.Millisecond),
			outbox.Kind{MinBackoff: time.Millisecond, MaxBackoff: time.Millisecond}, 400 * time.Millisecond},
		{"backoff with jitter keeps half its wait", errors.New("503 service unavailable"),
			outbox.Kind{MinBackoff: 400 * time.Millisecond, MaxBackoff: time.Second}, 200 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open opener) {
				s := open(t)
				rec := newRecorder(func(_ store.Job, attempt int) error {
					if attempt == 1 {
						return tc.err
					}
					return nil
				})
				k := tc.kind
				k.Handle = rec.handle
				start(t, s, outbox.Options{}, map[string]outbox.Kind{"channel.send": k})
				j := job("conv", 1)
				if _, err := s.Enqueue(ctx, j); err != nil {
					t.Fatal(err)
				}
				got := settled(t, s, []string{j.IdempotencyKey})[j.IdempotencyKey]
				if got.State != store.JobDone || got.Attempts != 2 || got.LastError != tc.err.Error() {
					t.Errorf("job %s after %d attempts, last error %q; want done after 2, %q", got.State, got.Attempts, got.LastError, tc.err)
				}
				rec.mu.Lock()
				defer rec.mu.Unlock()
				times := rec.attempts[j.IdempotencyKey]
				if gap := times[1].Sub(times[0]); gap < tc.minGap {
					t.Errorf("retried %s after the failure, want at least %s", gap, tc.minGap)
				}
			})
		})
	}
}

func TestGivingUp(t *testing.T) {
	for _, tc := range []struct {
		name         string
		fail         func(attempt int) error
		maxAttempts  int // the job's own; the kind allows 5
		wantAttempts int
		wantError    string
	}{
		{"a permanent error stops at once", func(int) error { return outbox.Permanent(errors.New("403 Forbidden: bot was blocked by the user")) },
			0, 1, "403 Forbidden: bot was blocked by the user"},
		{"temporary errors until the kind's attempts run out", func(int) error { return errors.New("502 bad gateway") },
			0, 5, "gave up after 5 attempts: 502 bad gateway"},
		{"the job's own attempts win", func(int) error { return errors.New("timeout") },
			2, 2, "gave up after 2 attempts: timeout"},
		{"a panicking handler is retried, then given up on", func(int) error { panic("nil map") },
			2, 2, "gave up after 2 attempts: the channel.send handler panicked: nil map"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, open opener) {
				s := open(t)
				rec := newRecorder(func(j store.Job, attempt int) error {
					if seq(j.IdempotencyKey) == 1 {
						return tc.fail(attempt)
					}
					return nil
				})
				var mu sync.Mutex
				var reported []store.Job
				start(t, s, outbox.Options{OnFailed: func(j store.Job) { mu.Lock(); reported = append(reported, j); mu.Unlock() }},
					map[string]outbox.Kind{"channel.send": {Handle: rec.handle, MaxAttempts: 5, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}})
				failing, next := job("conv", 1), job("conv", 2)
				failing.MaxAttempts = tc.maxAttempts
				if _, err := s.Enqueue(ctx, failing, next); err != nil {
					t.Fatal(err)
				}
				jobs := settled(t, s, []string{failing.IdempotencyKey, next.IdempotencyKey})
				if got := jobs[failing.IdempotencyKey]; got.State != store.JobFailed || got.Attempts != tc.wantAttempts || got.LastError != tc.wantError {
					t.Errorf("failing job: %s after %d attempts, error %q; want failed after %d, %q", got.State, got.Attempts, got.LastError, tc.wantAttempts, tc.wantError)
				}
				if got := jobs[next.IdempotencyKey]; got.State != store.JobDone {
					t.Errorf("the job behind a failed one is %s, want done: a failure must not block its key", got.State)
				}
				eventually(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(reported) > 0 }, "the failure was not reported")
				mu.Lock()
				defer mu.Unlock()
				if len(reported) != 1 || reported[0].IdempotencyKey != failing.IdempotencyKey || reported[0].LastError != tc.wantError {
					t.Errorf("reported %+v, want the failing job once with its error", reported)
				}
			})
		})
	}
}

func TestIdempotencyKeyDedupes(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		first := job("conv", 1)
		again := first
		again.Key, again.Payload = "other-conv", []byte(`{"n":2}`)
		for _, tc := range []struct {
			jobs []store.Job
			want int
		}{
			{[]store.Job{first}, 1},
			{[]store.Job{again}, 0},
			{[]store.Job{first, job("conv", 2), again}, 1},
		} {
			if n, err := s.Enqueue(ctx, tc.jobs...); err != nil || n != tc.want {
				t.Fatalf("Enqueue(%d jobs) = %d, %v; want %d new", len(tc.jobs), n, err, tc.want)
			}
		}
		rec := newRecorder(nil)
		start(t, s, outbox.Options{}, map[string]outbox.Kind{"channel.send": {Handle: rec.handle}})
		settled(t, s, []string{first.IdempotencyKey, job("conv", 2).IdempotencyKey})
		rec.mu.Lock()
		defer rec.mu.Unlock()
		if rec.sent[first.IdempotencyKey] != 1 || len(rec.sent) != 2 {
			t.Errorf("sent %v, want each idempotency key once", rec.sent)
		}
	})
}

func TestEnqueueRefusesIncompleteJobs(t *testing.T) {
	eachBackend(t, func(t *testing.T, open opener) {
		s := open(t)
		for _, j := range []store.Job{
			{Key: "k", IdempotencyKey: "i"},
			{Kind: "channel.send", IdempotencyKey: "i"},
			{Kind: "channel.send", Key: "k"},
			{Kind: "channel.send", Key: "k", IdempotencyKey: "i", Payload: []byte("{not json")},
		} {
			if n, err := s.Enqueue(ctx, job("fine", 1), j); err == nil || n != 0 {
				t.Errorf("Enqueue(%+v) = %d, %v; want an error and nothing stored", j, n, err)
			}
		}
		if _, err := s.Job(ctx, job("fine", 1).IdempotencyKey); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("a refused batch stored its valid job: %v", err)
		}
	})
}
