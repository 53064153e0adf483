package controllers_test

import (
	"context"
	"fmt"
	"testing"

	dto "github.com/prometheus/client_model/go"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// metricValue reads one sample of the operator's registry; labels must all match.
func metricValue(t *testing.T, name string, labels map[string]string) (float64, bool) {
	t.Helper()
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	metrics:
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue metrics
				}
			}
			return value(m), true
		}
	}
	return 0, false
}

func value(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return 0
}

func TestOperatorMetricsAndEvents(t *testing.T) {
	ns := env.Namespace(t)
	var twilio client.Object
	var objs []client.Object
	for _, o := range samples(t, ns) {
		if s, ok := o.(*corev1.Secret); ok && s.Name == "twilio" {
			twilio = s
			continue
		}
		objs = append(objs, o)
	}
	rendered, _ := metricValue(t, "switchboard_operator_config_revisions_rendered_total", nil)
	create(t, objs...)
	lcLabels := map[string]string{"namespace": ns, "livechat": "support"}
	eventually(t, settle, func() (bool, string) {
		v, ok := metricValue(t, "switchboard_operator_compile_problems", lcLabels)
		return ok && v == 1, "compile_problems is not 1"
	})
	create(t, twilio)
	allReady(t, objs, settle)
	eventually(t, settle, func() (bool, string) {
		v, _ := metricValue(t, "switchboard_operator_compile_problems", lcLabels)
		return v == 0, "compile_problems did not drop to 0"
	})
	if v, _ := metricValue(t, "switchboard_operator_config_revisions_rendered_total", nil); v <= rendered {
		t.Errorf("config_revisions_rendered_total did not grow (%v -> %v)", rendered, v)
	}
	for _, kind := range []string{"LiveChat", "ChatQueue", "Channel", "OperatorGroup", "NotificationPolicy"} {
		if v, ok := metricValue(t, "switchboard_operator_resources", map[string]string{"kind": kind, "ready": "True"}); !ok || v < 1 {
			t.Errorf("switchboard_operator_resources{kind=%q,ready=\"True\"} = %v", kind, v)
		}
	}
	// The metric reads the operator's cache, which may lag the API server a moment.
	eventually(t, settle, func() (bool, string) {
		var lc chatv1alpha1.LiveChat
		if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "support"}, &lc); err != nil {
			return false, err.Error()
		}
		revLabels := map[string]string{"namespace": ns, "livechat": "support", "revision": lc.Status.ConfigRevision}
		v, ok := metricValue(t, "switchboard_operator_config_revision_info", revLabels)
		return ok && v == 1 && lc.Status.ConfigRevision != "",
			fmt.Sprintf("switchboard_operator_config_revision_info%v = %v, %v; want 1 for the LiveChat's status.configRevision", revLabels, v, ok)
	})
	if v, ok := metricValue(t, "switchboard_operator_compile_duration_seconds", nil); !ok || v == 0 {
		t.Error("no compile durations observed")
	}

	// Events: the problem, its fix, the rendered configuration, readiness; no repeats.
	eventually(t, settle, func() (bool, string) {
		var list eventsv1.EventList
		if err := env.Client.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
			return false, err.Error()
		}
		reasons := map[string]int{}
		for _, e := range list.Items {
			if e.Regarding.Kind == "LiveChat" {
				reasons[e.Reason] += max(1, int(e.DeprecatedCount))
			}
		}
		ok := reasons["CompileFailed"] >= 1 && reasons["ProblemsResolved"] == 1 && reasons["ConfigRendered"] >= 2 && reasons["Ready"] == 1
		return ok, "events by reason: " + mapString(reasons)
	})
}

func mapString(m map[string]int) string { return fmt.Sprint(m) }
