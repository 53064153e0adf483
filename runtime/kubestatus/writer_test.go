package kubestatus

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// recorder is a write func that records what it is asked to write and answers from a
// script of errors per channel (nil once the script runs out).
type recorder struct {
	mu      sync.Mutex
	writes  []channels.Status
	errs    map[string][]error
	block   map[string]chan struct{} // a write of this channel waits for the channel to close
	started chan string
}

func newRecorder() *recorder {
	return &recorder{errs: map[string][]error{}, block: map[string]chan struct{}{}, started: make(chan string, 100)}
}

func (r *recorder) write(ctx context.Context, s channels.Status) error {
	r.mu.Lock()
	r.writes = append(r.writes, s)
	var err error
	if e := r.errs[s.Channel]; len(e) > 0 {
		err, r.errs[s.Channel] = e[0], e[1:]
	}
	b := r.block[s.Channel]
	delete(r.block, s.Channel)
	r.mu.Unlock()
	r.started <- s.Channel
	if b != nil {
		<-b
	}
	return err
}

func (r *recorder) written() []channels.Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]channels.Status(nil), r.writes...)
}

func startWriter(t *testing.T, r *recorder, minB, maxB time.Duration) *ChannelWriter {
	t.Helper()
	w := newWriter(r.write, nil)
	w.minBackoff, w.maxBackoff = minB, maxB
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { w.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

func waitIdle(t *testing.T, w *ChannelWriter) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for w.Pending() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d statuses still pending", w.Pending())
		}
		time.Sleep(time.Millisecond)
	}
}

func st(channel, reason string) channels.Status {
	return channels.Status{Channel: channel, Reason: reason, Connected: reason == channels.ReasonConnected}
}

func TestSetNeverBlocks(t *testing.T) {
	w := newWriter(newRecorder().write, nil) // not running: nothing drains it
	done := make(chan struct{})
	go func() {
		for i := range 10000 {
			w.Set(st([]string{"a", "b", "c"}[i%3], channels.ReasonProviderError))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Set blocked with no Run draining it")
	}
	if w.Pending() != 3 {
		t.Errorf("%d pending, want one per channel (3)", w.Pending())
	}
}

func TestKeepsOnlyTheNewestStatusPerChannel(t *testing.T) {
	r := newRecorder()
	release := make(chan struct{})
	r.block["a"] = release
	w := startWriter(t, r, time.Millisecond, time.Millisecond)
	w.Set(st("a", channels.ReasonConnected))
	<-r.started // the first write of a is in flight
	for _, reason := range []string{channels.ReasonProviderError, channels.ReasonInvalidCredentials, channels.ReasonPolling} {
		w.Set(st("a", reason))
	}
	close(release)
	waitIdle(t, w)
	var got []string
	for _, s := range r.written() {
		got = append(got, s.Reason)
	}
	if want := []string{channels.ReasonConnected, channels.ReasonPolling}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("wrote %v, want %v: the statuses queued during a write coalesce into the newest", got, want)
	}
}

var gr = schema.GroupResource{Group: "chat.switchboard.dev", Resource: "channels"}

func TestRetries(t *testing.T) {
	forbidden := apierrors.NewForbidden(gr, "telegram", errors.New("no rule"))
	unavailable := apierrors.NewServiceUnavailable("etcd is slow")
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "Channel"}, "telegram", field.ErrorList{field.Invalid(field.NewPath("status"), "", "bad")})
	tests := []struct {
		name       string
		errs       []error
		wantWrites int
	}{
		{"written at once", nil, 1},
		{"refused by RBAC until the Role catches up", []error{forbidden, forbidden}, 3},
		{"the API server unavailable, then back", []error{unavailable, errors.New("connection refused"), unavailable}, 4},
		{"refused as invalid: retrying cannot help", []error{invalid, invalid}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			r.errs["telegram"] = tt.errs
			w := startWriter(t, r, time.Millisecond, 4*time.Millisecond)
			w.Set(st("telegram", channels.ReasonConnected))
			waitIdle(t, w)
			if got := len(r.written()); got != tt.wantWrites {
				t.Errorf("%d writes, want %d", got, tt.wantWrites)
			}
		})
	}
}

func TestANewerStatusIsNotHeldBackByBackoff(t *testing.T) {
	r := newRecorder()
	r.errs["telegram"] = []error{apierrors.NewServiceUnavailable("down")}
	w := startWriter(t, r, time.Hour, time.Hour)
	w.Set(st("telegram", channels.ReasonProviderError))
	<-r.started
	// The failed write waits an hour for its retry; a new status goes out now.
	w.Set(st("telegram", channels.ReasonConnected))
	waitIdle(t, w)
	got := r.written()
	if len(got) != 2 || got[1].Reason != channels.ReasonConnected {
		t.Errorf("wrote %+v, want the failed status, then the newer one at once", got)
	}
}

func TestBackoffDoublesUpToTheCap(t *testing.T) {
	w := newWriter(nil, nil)
	w.minBackoff, w.maxBackoff = time.Second, 30*time.Second
	tests := []struct {
		attempt int
		full    time.Duration // the delay before jitter takes up to a fifth off
	}{
		{1, time.Second}, {2, 2 * time.Second}, {3, 4 * time.Second}, {5, 16 * time.Second}, {6, 30 * time.Second}, {50, 30 * time.Second},
	}
	for _, tt := range tests {
		for range 20 {
			if d := w.backoff(tt.attempt); d > tt.full || d < tt.full*4/5 {
				t.Errorf("backoff(%d) = %s, want within [%s, %s]", tt.attempt, d, tt.full*4/5, tt.full)
			}
		}
	}
}

func TestNilWriterDoesNothing(t *testing.T) {
	var w *ChannelWriter
	w.Set(st("a", channels.ReasonConnected))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.Run(ctx)
	if w.Pending() != 0 {
		t.Error("a nil writer has pending statuses")
	}
}
