package outbox

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/promreg"
)

// Attempt results, the result label of attempts_total.
const (
	resultOK        = "ok"
	resultTemporary = "temporary"
	resultPermanent = "permanent"
)

type metrics struct {
	pending  *prometheus.GaugeVec
	oldest   *prometheus.GaugeVec
	attempts *prometheus.CounterVec
	failed   *prometheus.CounterVec
	latency  *prometheus.HistogramVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		pending: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_runtime_outbox_pending_jobs",
			Help: "Jobs waiting in the outbox or being sent, by kind (the whole database's, as this replica last read it).",
		}, []string{"kind"}),
		oldest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_runtime_outbox_oldest_pending_age_seconds",
			Help: "Age of the oldest pending outbox job, by kind; 0 when none is pending.",
		}, []string{"kind"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_outbox_attempts_total",
			Help: "Send attempts by kind and result: ok, temporary (tried again later) or permanent.",
		}, []string{"kind", "result"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_outbox_failed_jobs_total",
			Help: "Jobs given up on: a permanent error, or every attempt failed.",
		}, []string{"kind"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_runtime_outbox_latency_seconds",
			Help:    "Time from enqueueing a job to its successful send, by kind.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 1800},
		}, []string{"kind"}),
	}
	if reg != nil {
		m.pending = promreg.MustRegister(reg, m.pending)
		m.oldest = promreg.MustRegister(reg, m.oldest)
		m.attempts = promreg.MustRegister(reg, m.attempts)
		m.failed = promreg.MustRegister(reg, m.failed)
		m.latency = promreg.MustRegister(reg, m.latency)
	}
	return m
}
