// Package bench holds the benchmarks that need a whole control plane. They print
// figures and assert nothing about time; `make bench` runs them.
package bench

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/testenv"
)

const (
	liveChats        = 100
	queuesPerChat    = 5
	channelsPerChat  = 5
	groupsPerChat    = 2
	membersPerGroup  = 3
	queueUpdates     = 200
	steadyStateSpell = 5 * time.Second
)

// platform returns the objects of one LiveChat of the benchmark.
func platform(ns string, i int) []client.Object {
	lc := fmt.Sprintf("chat-%03d", i)
	tokens := map[string]string{}
	var objs []client.Object
	for g := range groupsPerChat {
		group := &chatv1alpha1.OperatorGroup{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-group-%d", lc, g), Namespace: ns}}
		for m := range membersPerGroup {
			name := fmt.Sprintf("%s-op-%d-%d", lc, g, m)
			tokens[name] = "token-" + name
			group.Spec.Members = append(group.Spec.Members, chatv1alpha1.Member{Name: chatv1alpha1.OperatorName(name)})
		}
		objs = append(objs, group)
	}
	objs = append(objs,
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: lc + "-tokens", Namespace: ns}, StringData: tokens},
		&chatv1alpha1.LiveChat{ObjectMeta: metav1.ObjectMeta{Name: lc, Namespace: ns}, Spec: chatv1alpha1.LiveChatSpec{
			PublicURL:        "https://" + lc + ".example.com",
			SupervisorGroups: []chatv1alpha1.ObjectName{chatv1alpha1.ObjectName(lc + "-group-1")},
			AgentAuth:        chatv1alpha1.AgentAuthSpec{TokensSecretRef: &chatv1alpha1.SecretReference{Name: lc + "-tokens"}},
		}})
	for q := range queuesPerChat {
		objs = append(objs, &chatv1alpha1.ChatQueue{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-queue-%d", lc, q), Namespace: ns},
			Spec: chatv1alpha1.ChatQueueSpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: lc},
				OperatorGroups: []chatv1alpha1.ObjectName{chatv1alpha1.ObjectName(fmt.Sprintf("%s-group-%d", lc, q%groupsPerChat))}}})
	}
	for c := range channelsPerChat {
		objs = append(objs, &chatv1alpha1.Channel{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-widget-%d", lc, c), Namespace: ns},
			Spec: chatv1alpha1.ChannelSpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: lc},
				QueueRef:  chatv1alpha1.LocalObjectReference{Name: fmt.Sprintf("%s-queue-%d", lc, c%queuesPerChat)},
				Type:      chatv1alpha1.ChannelWebWidget,
				WebWidget: &chatv1alpha1.WebWidgetChannel{AllowedOrigins: []string{"https://www.example.com"}}}})
	}
	objs = append(objs, &chatv1alpha1.NotificationPolicy{ObjectMeta: metav1.ObjectMeta{Name: lc + "-notify", Namespace: ns},
		Spec: chatv1alpha1.NotificationPolicySpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: lc},
			Providers: []chatv1alpha1.NotificationProvider{{Name: "hook", Webhook: &chatv1alpha1.WebhookProvider{
				WebhookEndpoint: chatv1alpha1.WebhookEndpoint{URL: "https://hooks.example.com/" + lc}}}},
			Rules: []chatv1alpha1.NotificationRule{{Name: "finished", Events: []chatv1alpha1.EventType{chatv1alpha1.EventChatFinished},
				Recipients: chatv1alpha1.Recipients{Kinds: []chatv1alpha1.RecipientKind{chatv1alpha1.RecipientSupervisors}},
				Send:       []chatv1alpha1.SendSpec{{Provider: "hook"}}}}}})
	return objs
}

func reconcileCount() float64 {
	families, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		return 0
	}
	var n float64
	for _, f := range families {
		if f.GetName() == "controller_runtime_reconcile_total" {
			for _, m := range f.GetMetric() {
				n += m.GetCounter().GetValue()
			}
		}
	}
	return n
}

// peakRSS is this process's high-water resident set: the operator, plus the test's
// own clients (kube-apiserver and etcd run as separate processes).
func peakRSS() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))
		}
	}
	return "unknown"
}

func percentile(d []time.Duration, p float64) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[int(float64(len(d)-1)*p)]
}

// BenchmarkOperatorScale creates 100 LiveChats with 5 queues, 5 channels, 2 groups and
// a policy each, waits until all are Ready, then times 200 queue updates from the
// update to the ConfigMap's new revision, and counts steady-state writes.
func BenchmarkOperatorScale(b *testing.B) {
	env, err := testenv.Start()
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = env.Stop() }()
	op, err := env.StartOperator(controllers.RuntimeOptions{Image: "switchboard:bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = op.Stop() }()
	ctx := context.Background()
	ns := env.Namespace(b)

	var objs []client.Object
	for i := range liveChats {
		objs = append(objs, platform(ns, i)...)
	}
	reconcilesBefore, writesBefore := reconcileCount(), op.Writes.Writes()
	start := time.Now()
	work := make(chan client.Object)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range work {
				if err := env.Client.Create(ctx, o); err != nil {
					b.Error(err)
				}
			}
		}()
	}
	for _, o := range objs {
		work <- o
	}
	close(work)
	wg.Wait()
	created := time.Since(start)

	for {
		var list chatv1alpha1.LiveChatList
		if err := env.Client.List(ctx, &list, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
		ready := 0
		for _, lc := range list.Items {
			if c := meta.FindStatusCondition(lc.Status.Conditions, chatv1alpha1.ConditionReady); c != nil &&
				c.Status == metav1.ConditionTrue && c.ObservedGeneration == lc.Generation {
				ready++
			}
		}
		if ready == liveChats {
			break
		}
		if time.Since(start) > 5*time.Minute {
			b.Fatalf("only %d of %d LiveChats Ready after 5 minutes", ready, liveChats)
		}
		time.Sleep(100 * time.Millisecond)
	}
	allReady := time.Since(start)
	time.Sleep(2 * time.Second) // let trailing status writes land before counting
	reconciles := reconcileCount() - reconcilesBefore
	writes := op.Writes.Writes() - writesBefore

	// Propagation: each update changes a queue's display name, so the revision changes.
	wc, err := client.NewWithWatch(env.Config, client.Options{Scheme: env.Scheme})
	if err != nil {
		b.Fatal(err)
	}
	var cms corev1.ConfigMapList
	if err := wc.List(ctx, &cms, client.InNamespace(ns)); err != nil {
		b.Fatal(err)
	}
	w, err := wc.Watch(ctx, &corev1.ConfigMapList{}, client.InNamespace(ns),
		&client.ListOptions{Raw: &metav1.ListOptions{ResourceVersion: cms.ResourceVersion}})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	latencies := make([]time.Duration, 0, queueUpdates)
	for u := range queueUpdates {
		lc := fmt.Sprintf("chat-%03d", (u*37)%liveChats)
		name := fmt.Sprintf("%s-queue-%d", lc, u%queuesPerChat)
		sent := time.Now()
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			var q chatv1alpha1.ChatQueue
			if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, &q); err != nil {
				return err
			}
			q.Spec.DisplayName = fmt.Sprintf("update %d", u)
			return env.Client.Update(ctx, &q)
		})
		if err != nil {
			b.Fatal(err)
		}
		timeout := time.After(10 * time.Second)
	wait:
		for {
			select {
			case ev := <-w.ResultChan():
				cm, ok := ev.Object.(*corev1.ConfigMap)
				if ok && ev.Type == watch.Modified && cm.Name == controllers.ConfigMapName(lc) &&
					strings.Contains(cm.Data[controllers.ConfigMapKey], fmt.Sprintf("update %d", u)) {
					latencies = append(latencies, time.Since(sent))
					break wait
				}
			case <-timeout:
				b.Fatalf("update %d of %s not in its ConfigMap after 10s", u, name)
			}
		}
	}

	time.Sleep(2 * time.Second)
	steadyBefore := op.Writes.Writes()
	time.Sleep(steadyStateSpell)
	steadyWrites := op.Writes.Writes() - steadyBefore

	n := float64(len(objs))
	fmt.Printf("\noperator scale benchmark: %d LiveChats, %d objects in one namespace\n", liveChats, len(objs))
	fmt.Printf("  created all objects in           %v\n", created.Round(time.Millisecond))
	fmt.Printf("  all LiveChats Ready after        %v\n", allReady.Round(time.Millisecond))
	fmt.Printf("  reconciles per object            %.2f (%.0f in all)\n", reconciles/n, reconciles)
	fmt.Printf("  operator API writes per object   %.2f (%d in all)\n", float64(writes)/n, writes)
	fmt.Printf("  queue update -> ConfigMap        p50 %v  p99 %v  max %v (%d updates)\n",
		percentile(latencies, 0.5).Round(time.Millisecond), percentile(latencies, 0.99).Round(time.Millisecond),
		percentile(latencies, 1).Round(time.Millisecond), len(latencies))
	fmt.Printf("  steady-state writes in %v        %d\n", steadyStateSpell, steadyWrites)
	fmt.Printf("  peak RSS of the test process     %s\n", peakRSS())
	b.ReportMetric(allReady.Seconds(), "s-to-ready")
	b.ReportMetric(float64(writes)/n, "writes/object")
	b.ReportMetric(float64(percentile(latencies, 0.99).Milliseconds()), "p99-ms")
	b.ReportMetric(float64(steadyWrites), "steady-writes")
}
