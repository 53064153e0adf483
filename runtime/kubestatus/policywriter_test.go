package kubestatus

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// fakePolicies is a store's tallies and a cluster that records writes.
type fakePolicies struct {
	tallies map[string]store.Tally
	writes  []string
	errs    []error // answers of the next writes, nil once they run out
}

func (f *fakePolicies) read(context.Context) (map[string]store.Tally, error) { return f.tallies, nil }

func (f *fakePolicies) write(_ context.Context, name string) (PolicyStatus, error) {
	f.writes = append(f.writes, name)
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		if err != nil {
			return PolicyStatus{}, err
		}
	}
	return policyStatusOf(f.tallies[name]), nil
}

func newFakeWriter(f *fakePolicies, policies ...string) (*PolicyWriter, *time.Time) {
	now := time.Date(2030, 5, 6, 9, 0, 0, 0, time.UTC)
	w := newPolicyWriter(f.write, f.read, func() []string { return policies }, nil)
	w.now = func() time.Time { return now }
	w.minBackoff, w.maxBackoff = time.Second, time.Minute
	return w, &now
}

// TestPolicyWriterWritesOnlyChanges: a policy is written when its counts change,
// once however many changes came in between, and not again while they stay the same
// (until the resync looks at the cluster again).
func TestPolicyWriterWritesOnlyChanges(t *testing.T) {
	f := &fakePolicies{tallies: map[string]store.Tally{}}
	w, now := newFakeWriter(f, "mail", "hooks")
	ctx := context.Background()
	steps := []struct {
		name   string
		change func()
		wait   time.Duration
		want   string // policies written by this sync
	}{
		{"first sight: both written, as nothing is known of them", nil, 0, "mail hooks"},
		{"nothing changed", nil, 0, ""},
		{"still nothing, a few seconds on", nil, 5 * time.Second, ""},
		{"three deliveries of one policy since: one write", func() {
			for range 3 {
				t := f.tallies["mail"]
				t.Done++
				t.LastDoneAt = now.Add(time.Duration(t.Done) * time.Millisecond)
				f.tallies["mail"] = t
			}
		}, 5 * time.Second, "mail"},
		{"a tally of a policy no longer in force is not written", func() { f.tallies["gone"] = store.Tally{Done: 1} }, 5 * time.Second, ""},
		{"the resync reads both again", nil, policyResync, "mail hooks"},
	}
	for _, s := range steps {
		*now = now.Add(s.wait)
		if s.change != nil {
			s.change()
		}
		f.writes = nil
		w.sync(ctx)
		if got := strings.Join(f.writes, " "); got != s.want {
			t.Errorf("%s: wrote %q, want %q", s.name, got, s.want)
		}
	}
}

func TestPolicyWriterRetries(t *testing.T) {
	gr := schema.GroupResource{Group: "chat.switchboard.dev", Resource: "notificationpolicies"}
	unavailable := apierrors.NewServiceUnavailable("etcd is slow")
	forbidden := apierrors.NewForbidden(gr, "mail", errors.New("no rule"))
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: gr.Group, Kind: "NotificationPolicy"}, "mail",
		field.ErrorList{field.Invalid(field.NewPath("status"), "", "bad")})
	tests := []struct {
		name string
		errs []error
		// syncs at these offsets from the first, and whether each writes
		at    []time.Duration
		wants []bool
	}{
		{"written at once", nil, []time.Duration{0, time.Second}, []bool{true, false}},
		{"unavailable: retried after the backoff, not before", []error{unavailable},
			[]time.Duration{0, 500 * time.Millisecond, 1100 * time.Millisecond, 2 * time.Second}, []bool{true, false, true, false}},
		{"refused by RBAC until the Role catches up: backoff doubles", []error{forbidden, forbidden},
			[]time.Duration{0, 1100 * time.Millisecond, 2 * time.Second, 3200 * time.Millisecond}, []bool{true, true, false, true}},
		{"invalid: not again until much later", []error{invalid},
			[]time.Duration{0, 10 * time.Second, 61 * time.Second}, []bool{true, false, true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakePolicies{tallies: map[string]store.Tally{"mail": {Done: 1}}, errs: tt.errs}
			w, now := newFakeWriter(f, "mail")
			start := *now
			for i, at := range tt.at {
				*now = start.Add(at)
				n := len(f.writes)
				w.sync(context.Background())
				if wrote := len(f.writes) > n; wrote != tt.wants[i] {
					t.Errorf("sync at +%s wrote: %v, want %v", at, wrote, tt.wants[i])
				}
			}
		})
	}
}

func TestPolicyStatusOfATally(t *testing.T) {
	at := time.Date(2030, 5, 6, 9, 0, 0, 700_000_000, time.FixedZone("CEST", 2*3600))
	got := policyStatusOf(store.Tally{Done: 4, Failed: 1, Pending: 2, LastDoneAt: at, LastErrorAt: at,
		LastError: "Post \"https://hooks.example.com/T000/B000?token=abc\": 401 Unauthorized\nretry later"})
	want := PolicyStatus{Sent: 4, Failed: 1, Pending: 2, LastDeliveryTime: time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC),
		LastErrorTime: time.Date(2030, 5, 6, 7, 0, 0, 0, time.UTC), LastError: `Post "https://hooks.example.com/T000/B000": 401 Unauthorized retry later`}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if (policyStatusOf(store.Tally{}) != PolicyStatus{}) {
		t.Error("an empty tally gives a status with times or an error")
	}
}

func TestNilPolicyWriterDoesNothing(t *testing.T) {
	var w *PolicyWriter
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w.Run(ctx)
}
