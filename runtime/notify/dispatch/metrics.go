package dispatch

import (
	"context"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/promreg"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TallyPrefix starts the store tally of every policy's deliveries: the tally of
// policy p is TallyPrefix + p.
const TallyPrefix = "notify/"

// Results of a delivery, the result label of deliveries_total.
const (
	ResultSent   = "sent"
	ResultFailed = "failed"
)

// metrics are the deliverer's counters: what this replica sent. The backlog is the
// store's, reported by BacklogCollector.
type metrics struct {
	deliveries *prometheus.CounterVec
	retries    *prometheus.CounterVec
	latency    *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_notification_deliveries_total",
			Help: "Notification deliveries finished by this replica, by provider type and result: sent, or failed for good.",
		}, []string{"provider", "result"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_notification_retries_total",
			Help: "Failed notification delivery attempts that will be tried again, by provider type.",
		}, []string{"provider"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_runtime_notification_delivery_latency_seconds",
			Help:    "Time from an event to the delivery of a notification about it, by provider type (digests include their window).",
			Buckets: []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600},
		}, []string{"provider"}),
	}
	if reg != nil {
		m.deliveries = promreg.MustRegister(reg, m.deliveries)
		m.retries = promreg.MustRegister(reg, m.retries)
		m.latency = promreg.MustRegister(reg, m.latency)
	}
	return m
}

// providerType names a provider's service for metric labels: a small fixed set,
// unlike the names policies give their providers.
func providerType(cfg *config.Config, policyName, provider string) string {
	pol := policy(cfg, policyName)
	if pol == nil {
		return "unknown"
	}
	for _, p := range pol.Providers {
		if p.Name != provider {
			continue
		}
		switch {
		case p.SMTP != nil:
			return "smtp"
		case p.Twilio != nil:
			return "twilio"
		case p.PusherBeams != nil:
			return "pusherBeams"
		case p.OneSignal != nil:
			return "oneSignal"
		case p.Webhook != nil:
			return "webhook"
		case p.Messenger != nil:
			return "messenger"
		}
	}
	return "unknown"
}

// Tallies reads every policy's delivery tally from the store, by policy name.
func Tallies(ctx context.Context, st store.Jobs) (map[string]store.Tally, error) {
	all, err := st.Tallies(ctx, TallyPrefix)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Tally, len(all))
	for _, t := range all {
		out[strings.TrimPrefix(t.Name, TallyPrefix)] = t
	}
	return out, nil
}

// BacklogCollector reports the deliveries waiting in the outbox, per policy, from the
// store at scrape time, so every replica reports the same.
type BacklogCollector struct {
	Store store.Jobs
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

var (
	backlogDesc = prometheus.NewDesc("switchboard_runtime_notification_backlog",
		"Notification deliveries waiting or being sent, by policy (the whole database's).", []string{"policy"}, nil)
	oldestDesc = prometheus.NewDesc("switchboard_runtime_notification_oldest_pending_age_seconds",
		"Age of the oldest notification delivery waiting or being sent, by policy; 0 when none is.", []string{"policy"}, nil)
)

// Describe implements prometheus.Collector.
func (c BacklogCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- backlogDesc
	ch <- oldestDesc
}

// Collect implements prometheus.Collector.
func (c BacklogCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	tallies, err := Tallies(ctx, c.Store)
	if err != nil {
		return
	}
	now := time.Now()
	if c.Now != nil {
		now = c.Now()
	}
	for name, t := range tallies {
		age := 0.0
		if t.Pending > 0 {
			age = max(now.Sub(t.OldestPending).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(backlogDesc, prometheus.GaugeValue, float64(t.Pending), name)
		ch <- prometheus.MustNewConstMetric(oldestDesc, prometheus.GaugeValue, age, name)
	}
}
