package chat

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Metrics of the engine. Labels are channel types, directions and states: never a
// conversation, contact or operator.
type Metrics struct {
	messages             *prometheus.CounterVec
	conversationsStarted *prometheus.CounterVec
	queueLength          *prometheus.GaugeVec
	queueWait            *prometheus.HistogramVec
	assignments          *prometheus.CounterVec
	acceptTimeouts       *prometheus.CounterVec
	feedback             feedbackMetrics
}

// NewMetrics creates the engine's metrics, registered with reg when it is not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_messages_total",
			Help: "Messages stored, by channel type and direction (in from contacts, out to them).",
		}, []string{"channel_type", "direction"}),
		conversationsStarted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_conversations_started_total",
			Help: "Conversations started, by channel type.",
		}, []string{"channel_type"}),
		queueLength: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_runtime_queue_length",
			Help: "Chats waiting in each queue, as of the last routing pass.",
		}, []string{"queue"}),
		queueWait: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "switchboard_runtime_queue_wait_seconds",
			Help:    "Time chats waited in a queue before being assigned.",
			Buckets: []float64{1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600},
		}, []string{"queue"}),
		assignments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_assignments_total",
			Help: "Chats assigned to operators, by queue and routing rule.",
		}, []string{"queue", "rule"}),
		acceptTimeouts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "switchboard_runtime_accept_timeouts_total",
			Help: "Assigned chats whose operator did not accept them in time, by queue.",
		}, []string{"queue"}),
	}
	m.feedback = newFeedbackMetrics()
	if reg != nil {
		reg.MustRegister(m.messages, m.conversationsStarted, m.queueLength, m.queueWait, m.assignments, m.acceptTimeouts)
		reg.MustRegister(m.feedback.collectors()...)
	}
	return m
}

// ConversationsCollector reports conversations by state from the store at scrape time,
// so every replica reports the same truth.
type ConversationsCollector struct {
	Store store.Store
}

var conversationsDesc = prometheus.NewDesc("switchboard_runtime_conversations",
	"Conversations by state.", []string{"state"}, nil)

// Describe implements prometheus.Collector.
func (c ConversationsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- conversationsDesc }

// Collect implements prometheus.Collector.
func (c ConversationsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	counts, err := c.Store.CountByState(ctx)
	if err != nil {
		return
	}
	for _, s := range []store.State{store.StateBot, store.StateQueued, store.StateAssigned, store.StateActive, store.StateClosed, store.StateMissed} {
		ch <- prometheus.MustNewConstMetric(conversationsDesc, prometheus.GaugeValue, float64(counts[s]), string(s))
	}
}

// OperatorsCollector reports operators by presence, and the load of the operators of
// this configuration as a histogram: how many hold 0, 1, 2, ... chats. No metric has a
// per-operator label.
type OperatorsCollector struct {
	Engine *Engine
}

var (
	operatorsDesc = prometheus.NewDesc("switchboard_runtime_operators",
		"Operators of this LiveChat by presence (online, away, offline) and whether they are active.", []string{"presence", "active"}, nil)
	loadDesc = prometheus.NewDesc("switchboard_runtime_operator_load",
		"Chats held per operator of this LiveChat, as a histogram over operators.", nil, nil)
)

// Describe implements prometheus.Collector.
func (c OperatorsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- operatorsDesc
	ch <- loadDesc
}

// Collect implements prometheus.Collector.
func (c OperatorsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	v := c.Engine.view.Load()
	ops, err := c.Engine.store.Operators(ctx)
	if err != nil {
		return
	}
	loads, err := c.Engine.store.Loads(ctx)
	if err != nil {
		return
	}
	state := map[string]store.Operator{}
	for _, o := range ops {
		state[o.Name] = o
	}
	counts := map[[2]string]int{}
	buckets := []float64{0, 1, 2, 3, 5, 10, 20, 50}
	cumulative := make(map[float64]uint64, len(buckets))
	var n uint64
	var sum float64
	for name := range v.opQueues {
		o, known := state[name]
		presence, active := string(store.PresenceOffline), "true"
		if known {
			presence = string(o.Presence)
			if !o.Active {
				active = "false"
			}
		}
		counts[[2]string{presence, active}]++
		load := float64(loads[name])
		n++
		sum += load
		for _, b := range buckets {
			if load <= b {
				cumulative[b]++
			}
		}
	}
	for _, p := range []string{"online", "away", "offline"} {
		for _, a := range []string{"true", "false"} {
			ch <- prometheus.MustNewConstMetric(operatorsDesc, prometheus.GaugeValue, float64(counts[[2]string{p, a}]), p, a)
		}
	}
	ch <- prometheus.MustNewConstHistogram(loadDesc, n, sum, cumulative)
}
