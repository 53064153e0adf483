package dispatch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestDeliveryMetrics sends a webhook that fails twice before it goes through, and one
// that never does: the counters show each delivery once with its result, every
// attempt that is tried again as a retry, and the latency of what was sent.
func TestDeliveryMetrics(t *testing.T) {
	r := newRig(t, func(cfg *config.Config) {
		cfg.Policies[0].Retry = config.Retry{Attempts: 3, Delay: config.Duration{Duration: 10 * time.Millisecond}, Backoff: "Fixed"}
	})
	ctx := context.Background()
	conv := r.chat(t, store.StateQueued, "")
	r.rec.failFirst["team-webhook"] = 2
	if err := r.st.AppendEvents(ctx, store.Event{Type: "ChatStarted", ConversationID: conv.ID}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1)
	r.rec.mu.Lock()
	r.rec.failing["team-webhook"] = true
	r.rec.mu.Unlock()
	if err := r.st.AppendEvents(ctx, store.Event{Type: "ChatStarted", ConversationID: conv.ID}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 2) // the supervisor's email about the failure

	tests := []struct {
		metric string
		labels []string
		want   float64
	}{
		{"switchboard_runtime_notification_deliveries_total", []string{"webhook", dispatch.ResultSent}, 1},
		{"switchboard_runtime_notification_deliveries_total", []string{"webhook", dispatch.ResultFailed}, 1},
		{"switchboard_runtime_notification_deliveries_total", []string{"smtp", dispatch.ResultSent}, 1},
		// Two retries before the first went through; the second failed on its first
		// two attempts and gave up on the third.
		{"switchboard_runtime_notification_retries_total", []string{"webhook"}, 4},
		{"switchboard_runtime_notification_retries_total", []string{"smtp"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.metric+"{"+strings.Join(tt.labels, ",")+"}", func(t *testing.T) {
			var got float64
			for range 100 { // the failure is counted as the outbox reports it
				if got = counter(t, r.reg, tt.metric, tt.labels); got == tt.want {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if got != tt.want {
				t.Errorf("%s%v = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	if n := testutil.CollectAndCount(r.reg, "switchboard_runtime_notification_delivery_latency_seconds"); n != 2 {
		t.Errorf("latency histograms for %d provider types, want 2 (webhook and smtp)", n)
	}
}

// counter reads one series of a counter vector.
func counter(t *testing.T, reg *prometheus.Registry, name string, labels []string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	next:
		for _, m := range f.GetMetric() {
			for i, l := range m.GetLabel() {
				if l.GetValue() != labels[i] {
					continue next
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}

// TestBacklogIsTheStores: the backlog gauges count the deliveries pending in the
// store, per policy, and the age of the oldest.
func TestBacklogIsTheStores(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	enqueued := time.Now()
	if _, err := r.st.Enqueue(ctx,
		store.Job{Kind: dispatch.KindDeliver, Key: "a", IdempotencyKey: "a", RunAt: enqueued.Add(time.Hour), Tally: dispatch.TallyPrefix + "support-notifications"},
		store.Job{Kind: dispatch.KindDeliver, Key: "b", IdempotencyKey: "b", RunAt: enqueued.Add(time.Hour), Tally: dispatch.TallyPrefix + "support-notifications"},
		store.Job{Kind: dispatch.KindDeliver, Key: "c", IdempotencyKey: "c", RunAt: enqueued.Add(time.Hour), Tally: dispatch.TallyPrefix + "escalations"},
	); err != nil {
		t.Fatal(err)
	}
	c := dispatch.BacklogCollector{Store: r.st, Now: func() time.Time { return enqueued.Add(90 * time.Second) }}
	want := `
# HELP switchboard_runtime_notification_backlog Notification deliveries waiting or being sent, by policy (the whole database's).
# TYPE switchboard_runtime_notification_backlog gauge
switchboard_runtime_notification_backlog{policy="escalations"} 1
switchboard_runtime_notification_backlog{policy="support-notifications"} 2
`
	if err := testutil.CollectAndCompare(c, strings.NewReader(want), "switchboard_runtime_notification_backlog"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(c, "switchboard_runtime_notification_oldest_pending_age_seconds"); n != 2 {
		t.Errorf("%d oldest-age series, want one per policy", n)
	}
	age := testutil.ToFloat64(prometheus.CollectorFunc(func(ch chan<- prometheus.Metric) {
		m := make(chan prometheus.Metric, 10)
		c.Collect(m)
		close(m)
		for x := range m {
			if strings.Contains(x.Desc().String(), "oldest") && strings.Contains(x.Desc().String(), "policy") {
				ch <- x
				return
			}
		}
	}))
	if age < 89 || age > 91 {
		t.Errorf("oldest pending age %v s, want about 90", age)
	}
}
