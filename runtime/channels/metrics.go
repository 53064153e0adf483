package channels

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/promreg"
)

type metrics struct {
	webhooks  *prometheus.CounterVec
	polls     *prometheus.CounterVec
	sends     *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	connected *prometheus.GaugeVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_channel_webhook_requests_total",
			Help: "Webhook requests from messenger providers by channel type and result: ok, inactive, malformed, forged, stale, too_large, error (not stored; the provider retries), unknown_channel.",
		}, []string{"type", "result"}),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_channel_polls_total",
			Help: "Long polls for updates (Telegram without a public URL) by channel type and result: ok or error.",
		}, []string{"type", "result"}),
		sends: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_channel_sends_total",
			Help: "Messages sent to messenger providers by channel type and result: ok, temporary (tried again) or permanent (failed).",
		}, []string{"type", "result"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_runtime_channel_send_duration_seconds",
			Help:    "Time a messenger provider took to answer a send, by channel type.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"type"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_runtime_channel_connected",
			Help: "1 when a messenger channel's credentials work and it receives messages (its Connected condition), 0 otherwise.",
		}, []string{"channel"}),
	}
	if reg != nil {
		m.webhooks = promreg.MustRegister(reg, m.webhooks)
		m.polls = promreg.MustRegister(reg, m.polls)
		m.sends = promreg.MustRegister(reg, m.sends)
		m.latency = promreg.MustRegister(reg, m.latency)
		m.connected = promreg.MustRegister(reg, m.connected)
	}
	return m
}
