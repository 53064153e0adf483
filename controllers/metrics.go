package controllers

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/promreg"
)

// operatorMetrics are the operator's own metrics, beside controller-runtime's.
type operatorMetrics struct {
	compileProblems   *prometheus.GaugeVec
	compileDuration   prometheus.Histogram
	revisionsRendered prometheus.Counter
}

func newOperatorMetrics(reader client.Reader, reg prometheus.Registerer) *operatorMetrics {
	m := &operatorMetrics{
		compileProblems: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "switchboard_operator_compile_problems",
			Help: "Problems found when compiling each LiveChat's runtime configuration.",
		}, []string{"namespace", "livechat"}),
		compileDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "switchboard_operator_compile_duration_seconds",
			Help:    "Time to compile one LiveChat's runtime configuration.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 8),
		}),
		revisionsRendered: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "switchboard_operator_config_revisions_rendered_total",
			Help: "Runtime configuration revisions rendered into ConfigMaps.",
		}),
	}
	m.compileProblems = promreg.MustRegister(reg, m.compileProblems)
	m.compileDuration = promreg.MustRegister(reg, m.compileDuration)
	m.revisionsRendered = promreg.MustRegister(reg, m.revisionsRendered)
	// A manager started again in the same process (tests do) reads through the new
	// cache: the collector registered first is kept, and pointed at it.
	rc := promreg.MustRegister(reg, &resourceCollector{})
	rc.reader.Store(&reader)
	return m
}

func (m *operatorMetrics) compiled(lc *chatv1alpha1.LiveChat, problems int, took time.Duration) {
	m.compileProblems.WithLabelValues(lc.Namespace, lc.Name).Set(float64(problems))
	m.compileDuration.Observe(took.Seconds())
}

func (m *operatorMetrics) forget(namespace, name string) {
	m.compileProblems.DeleteLabelValues(namespace, name)
}

// resourceCollector counts switchboard objects by kind and readiness at scrape time,
// from the cache, so the numbers can never drift from what the API says.
type resourceCollector struct {
	reader atomic.Pointer[client.Reader]
}

var resourcesDesc = prometheus.NewDesc("switchboard_operator_resources",
	"switchboard objects by kind and by the status of their Ready condition (True, False or Unknown).",
	[]string{"kind", "ready"}, nil)

// revisionDesc lets an alert compare what each runtime serves
// (switchboard_runtime_config_info) with what the operator rendered.
var revisionDesc = prometheus.NewDesc("switchboard_operator_config_revision_info",
	"The configuration revision the operator last rendered for each LiveChat (value 1).",
	[]string{"namespace", "livechat", "revision"}, nil)

func (c *resourceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- resourcesDesc
	ch <- revisionDesc
}

func (c *resourceCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	count := func(kind string, conds [][]metav1.Condition) {
		by := map[string]int{"True": 0, "False": 0, "Unknown": 0}
		for _, cs := range conds {
			status := "Unknown"
			if c := meta.FindStatusCondition(cs, chatv1alpha1.ConditionReady); c != nil {
				status = string(c.Status)
			}
			by[status]++
		}
		for status, n := range by {
			ch <- prometheus.MustNewConstMetric(resourcesDesc, prometheus.GaugeValue, float64(n), kind, status)
		}
	}
	reader := c.reader.Load()
	if reader == nil {
		return
	}
	list := func(l client.ObjectList) bool {
		return (*reader).List(ctx, l, client.UnsafeDisableDeepCopy) == nil
	}
	var lcs chatv1alpha1.LiveChatList
	var qs chatv1alpha1.ChatQueueList
	var chs chatv1alpha1.ChannelList
	var gs chatv1alpha1.OperatorGroupList
	var ps chatv1alpha1.NotificationPolicyList
	if list(&lcs) {
		count("LiveChat", conditionsOf(lcs.Items, func(o chatv1alpha1.LiveChat) []metav1.Condition { return o.Status.Conditions }))
		for _, lc := range lcs.Items {
			if rev := lc.Status.ConfigRevision; rev != "" {
				ch <- prometheus.MustNewConstMetric(revisionDesc, prometheus.GaugeValue, 1, lc.Namespace, lc.Name, rev)
			}
		}
	}
	if list(&qs) {
		count("ChatQueue", conditionsOf(qs.Items, func(o chatv1alpha1.ChatQueue) []metav1.Condition { return o.Status.Conditions }))
	}
	if list(&chs) {
		count("Channel", conditionsOf(chs.Items, func(o chatv1alpha1.Channel) []metav1.Condition { return o.Status.Conditions }))
	}
	if list(&gs) {
		count("OperatorGroup", conditionsOf(gs.Items, func(o chatv1alpha1.OperatorGroup) []metav1.Condition { return o.Status.Conditions }))
	}
	if list(&ps) {
		count("NotificationPolicy", conditionsOf(ps.Items, func(o chatv1alpha1.NotificationPolicy) []metav1.Condition { return o.Status.Conditions }))
	}
}

func conditionsOf[T any](items []T, get func(T) []metav1.Condition) [][]metav1.Condition {
	out := make([][]metav1.Condition, len(items))
	for i, it := range items {
		out[i] = get(it)
	}
	return out
}
