package kubestatus_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/kubestatus"
)

const hook = "https://chat.example.com/webhooks/telegram"

// TestConnectedCondition sets a channel's status through the writer, as the runtime's
// ServiceAccount, and reads the Channel back: the condition, the printer column, the
// webhook URL, and a lastTransitionTime that moves only when the status flips.
func TestConnectedCondition(t *testing.T) {
	ns, asRuntime := platform(t)
	w := runWriter(t, asRuntime, ns, discard())
	steps := []struct {
		name        string
		set         channels.Status
		wantStatus  metav1.ConditionStatus
		wantReason  string
		wantMessage string
		wantHook    string
		transition  bool // lastTransitionTime moves
	}{
		{"connected, with a webhook",
			channels.Status{Channel: "telegram", Type: "Telegram", Connected: true, Reason: channels.ReasonConnected,
				Message: "the credentials work and the webhook is registered", WebhookURL: hook},
			metav1.ConditionTrue, "Connected", "the credentials work and the webhook is registered", hook, true},
		{"the token is refused",
			channels.Status{Channel: "telegram", Type: "Telegram", Reason: channels.ReasonInvalidCredentials,
				Message: "telegram rejects the bot token (401 Unauthorized): issue a new one with @BotFather and put it in the Secret"},
			metav1.ConditionFalse, "InvalidCredentials", "telegram rejects the bot token (401 Unauthorized)", "", true},
		{"still not connected, for another reason",
			channels.Status{Channel: "telegram", Type: "Telegram", Reason: channels.ReasonProviderError,
				Message: `telegram getMe: Get "https://api.telegram.org/bot<token>/getMe?x=1": connection refused`},
			metav1.ConditionFalse, "ProviderError", `Get "https://api.telegram.org/bot<token>/getMe": connection refused`, "", false},
	}
	var since metav1.Time
	for i, s := range steps {
		if i > 0 {
			time.Sleep(1100 * time.Millisecond) // lastTransitionTime counts seconds
		}
		w.Set(s.set)
		written(t, w)
		ch := channel(t, ns, "telegram")
		c := connected(ch)
		switch {
		case c == nil:
			t.Fatalf("%s: no Connected condition: %+v", s.name, ch.Status.Conditions)
		case c.Status != s.wantStatus || c.Reason != s.wantReason || !strings.Contains(c.Message, s.wantMessage):
			t.Errorf("%s: Connected = %s %s %q, want %s %s containing %q", s.name, c.Status, c.Reason, c.Message,
				s.wantStatus, s.wantReason, s.wantMessage)
		case c.ObservedGeneration != ch.Generation:
			t.Errorf("%s: observedGeneration %d, want the Channel's %d", s.name, c.ObservedGeneration, ch.Generation)
		case s.transition == c.LastTransitionTime.Equal(&since):
			t.Errorf("%s: lastTransitionTime went from %s to %s; want it to move: %v", s.name, since, c.LastTransitionTime, s.transition)
		}
		since = c.LastTransitionTime
		if ch.Status.WebhookURL != s.wantHook {
			t.Errorf("%s: webhookURL %q, want %q", s.name, ch.Status.WebhookURL, s.wantHook)
		}
		if got := printerColumn(t, ns, "telegram", "Connected"); got != string(s.wantStatus) {
			t.Errorf("%s: kubectl get shows Connected %q, want %q", s.name, got, s.wantStatus)
		}
	}
}

// TestOperatorAndRuntimeOwnDisjointConditions has the operator reconcile a new
// generation after the runtime wrote Connected, and the runtime write after the
// operator: neither removes or changes the other's conditions, server-side apply
// records each as the owner of its own, and kstatus sees the same with or without
// the runtime's condition.
func TestOperatorAndRuntimeOwnDisjointConditions(t *testing.T) {
	ns, asRuntime := platform(t)
	w := runWriter(t, asRuntime, ns, discard())
	w.Set(channels.Status{Channel: "telegram", Reason: channels.ReasonInvalidCredentials, Message: "telegram rejects the bot token"})
	written(t, w)
	runtimeCond := *connected(channel(t, ns, "telegram"))

	// A new generation: the operator reconciles and writes its status.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		ch := channel(t, ns, "telegram")
		ch.Spec.DisplayName = "Telegram, renamed"
		return env.Client.Update(context.Background(), ch)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, settle, func() (bool, string) { return ready(t, ns, "telegram") })
	ch := channel(t, ns, "telegram")
	if c := connected(ch); c == nil || *c != runtimeCond {
		t.Fatalf("after the operator's reconcile Connected is %+v, want the runtime's %+v", c, runtimeCond)
	}
	checkKstatus(t, ch)
	operatorConds := ownedBy(ch, chatv1alpha1.ConditionReady, chatv1alpha1.ConditionResolvedRefs)
	if len(operatorConds) != 2 {
		t.Fatalf("the operator's conditions: %+v", ch.Status.Conditions)
	}

	// The runtime writes again: the operator's conditions and observedGeneration stay.
	w.Set(channels.Status{Channel: "telegram", Connected: true, Reason: channels.ReasonConnected, Message: "ok", WebhookURL: hook})
	written(t, w)
	after := channel(t, ns, "telegram")
	if c := connected(after); c == nil || c.Status != metav1.ConditionTrue || c.ObservedGeneration != after.Generation {
		t.Errorf("Connected after the runtime's write: %+v, want True for generation %d", c, after.Generation)
	}
	if got := ownedBy(after, chatv1alpha1.ConditionReady, chatv1alpha1.ConditionResolvedRefs); !slices.Equal(got, operatorConds) {
		t.Errorf("the runtime's write changed the operator's conditions:\n got %+v\nwant %+v", got, operatorConds)
	}
	if after.Status.ObservedGeneration != ch.Status.ObservedGeneration {
		t.Errorf("observedGeneration went from %d to %d", ch.Status.ObservedGeneration, after.Status.ObservedGeneration)
	}
	checkKstatus(t, after)
	checkManagedFields(t, after)
}

// ownedBy returns the conditions of the given types, in that order.
func ownedBy(ch *chatv1alpha1.Channel, types ...string) []metav1.Condition {
	var out []metav1.Condition
	for _, typ := range types {
		for _, c := range ch.Status.Conditions {
			if c.Type == typ {
				out = append(out, c)
			}
		}
	}
	return out
}

// checkKstatus checks that Argo CD and Flux see a Ready channel as Current whatever the
// runtime says of its connection: Connected is information, not health.
func checkKstatus(t *testing.T, ch *chatv1alpha1.Channel) {
	t.Helper()
	without := ch.DeepCopy()
	without.Status.Conditions = slices.DeleteFunc(without.Status.Conditions, func(c metav1.Condition) bool {
		return c.Type == kubestatus.ConditionConnected
	})
	for _, o := range []*chatv1alpha1.Channel{ch, without} {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		res, err := status.Compute(&unstructured.Unstructured{Object: u})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != status.CurrentStatus {
			t.Errorf("kstatus is %s (%s) with conditions %+v, want Current", res.Status, res.Message, o.Status.Conditions)
		}
	}
}

// checkManagedFields checks that the runtime's field manager owns exactly the
// Connected condition and webhookURL, and that no other manager owns any part of them.
func checkManagedFields(t *testing.T, ch *chatv1alpha1.Channel) {
	t.Helper()
	const connectedKey = `k:{"type":"Connected"}`
	var runtimeOwns []string
	for _, mf := range ch.ManagedFields {
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.Raw, &set); err != nil {
			t.Fatal(err)
		}
		st, _ := set["f:status"].(map[string]any)
		conds, _ := st["f:conditions"].(map[string]any)
		if mf.Manager != kubestatus.FieldManager {
			if _, ok := conds[connectedKey]; ok {
				t.Errorf("%s (%s) owns part of the Connected condition", mf.Manager, mf.Operation)
			}
			if _, ok := st["f:webhookURL"]; ok {
				t.Errorf("%s (%s) owns webhookURL", mf.Manager, mf.Operation)
			}
			continue
		}
		if mf.Operation != metav1.ManagedFieldsOperationApply || mf.Subresource != "status" {
			t.Errorf("the runtime's entry is %s on %q, want Apply on status", mf.Operation, mf.Subresource)
		}
		for k := range set {
			runtimeOwns = append(runtimeOwns, k)
		}
		for k := range st {
			runtimeOwns = append(runtimeOwns, "status."+k)
		}
		for k := range conds {
			runtimeOwns = append(runtimeOwns, "status.conditions."+k)
		}
	}
	slices.Sort(runtimeOwns)
	want := []string{"f:status", "status.f:conditions", "status.f:webhookURL", "status.conditions." + connectedKey}
	slices.Sort(want)
	if !slices.Equal(runtimeOwns, want) {
		t.Errorf("%s owns %v, want exactly %v", kubestatus.FieldManager, runtimeOwns, want)
	}
}

// TestReplicasWriteOnce runs two writers, as two runtime replicas do, and has both
// report the same statuses: each change of status changes the Channel once.
func TestReplicasWriteOnce(t *testing.T) {
	ns, asRuntime := platform(t)
	counters := [2]*testenv.CountingTransport{{}, {}}
	var writers [2]*kubestatus.ChannelWriter
	for i := range writers {
		writers[i] = runWriter(t, counters[i].Wrap(asRuntime), ns, discard())
	}
	refused := channels.Status{Channel: "telegram", Reason: channels.ReasonInvalidCredentials, Message: "telegram rejects the bot token"}
	ok := channels.Status{Channel: "telegram", Connected: true, Reason: channels.ReasonConnected, Message: "ok", WebhookURL: hook}

	// One replica reports; a second later, the other reports the same: it reads the
	// Channel, finds it says so already, and writes nothing.
	writers[0].Set(refused)
	written(t, writers[0])
	before := channel(t, ns, "telegram")
	time.Sleep(1100 * time.Millisecond)
	writes := counters[1].Writes()
	writers[1].Set(refused)
	written(t, writers[1])
	if got := channel(t, ns, "telegram"); got.ResourceVersion != before.ResourceVersion {
		t.Errorf("the second replica's report of the same status changed the Channel: %+v became %+v", connected(before), connected(got))
	}
	if n := counters[1].Writes() - writes; n != 0 {
		t.Errorf("the second replica sent %d writes for a status already written", n)
	}

	// Both report each change at once: every change is one new version of the Channel.
	for _, s := range []channels.Status{ok, refused, ok} {
		before := channel(t, ns, "telegram")
		changes := watchChanges(t, ns, before.ResourceVersion)
		time.Sleep(1100 * time.Millisecond)
		for _, w := range writers {
			w.Set(s)
		}
		for _, w := range writers {
			written(t, w)
		}
		time.Sleep(500 * time.Millisecond) // let the watch deliver
		if n := changes(); n != 1 {
			t.Errorf("Connected=%v reported by both replicas made %d new versions of the Channel, want 1", s.Connected, n)
		}
	}

	// Both read before either writes; the one that applies second applies from a stale
	// read, is refused, reads again and finds the status written.
	changes := watchChanges(t, ns, channel(t, ns, "telegram").ResourceVersion)
	first, second := kubestatus.RaceWrites(context.Background(), asRuntime, ns, refused)
	if first != nil || second != nil {
		t.Fatalf("racing writes: %v, %v", first, second)
	}
	time.Sleep(500 * time.Millisecond)
	if n := changes(); n != 1 {
		t.Errorf("two replicas racing to write the same status made %d new versions of the Channel, want 1: %+v", n,
			connected(channel(t, ns, "telegram")))
	}
}

// watchChanges counts the modifications of the telegram Channel after resourceVersion.
func watchChanges(t *testing.T, ns, resourceVersion string) func() int {
	t.Helper()
	return watchResource(t, kubestatus.ChannelsResource, ns, "telegram", resourceVersion)
}

// watchResource counts the modifications of one object after resourceVersion.
func watchResource(t *testing.T, res schema.GroupVersionResource, ns, name, resourceVersion string) func() int {
	t.Helper()
	dc, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	w, err := dc.Resource(res).Namespace(ns).Watch(ctx, metav1.ListOptions{
		FieldSelector: "metadata.name=" + name, ResourceVersion: resourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	n := 0
	go func() {
		for ev := range w.ResultChan() {
			if ev.Type == watch.Modified {
				mu.Lock()
				n++
				mu.Unlock()
			}
		}
	}()
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		w.Stop()
		return n
	}
}
