package kubestatus_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/cli-utils/pkg/kstatus/status"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/controllers"
	"github.com/switchboard-chat/switchboard/internal/testenv"
	"github.com/switchboard-chat/switchboard/runtime/kubestatus"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

const policyName = "support-notifications"

// policyPlatform is platform, once the runtime's Role lets it write the policy's status.
func policyPlatform(t *testing.T) (string, *rest.Config) {
	t.Helper()
	ns, cfg := platform(t)
	sa := "system:serviceaccount:" + ns + ":" + controllers.RuntimeName("support")
	eventually(t, settle, func() (bool, string) {
		review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{User: sa,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + ns, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: "patch", Group: chatv1alpha1.GroupVersion.Group,
				Resource: "notificationpolicies", Subresource: "status", Name: policyName}}}
		if err := env.Client.Create(context.Background(), review); err != nil {
			return false, err.Error()
		}
		return review.Status.Allowed, "the runtime may not yet patch the policy's status: " + review.Status.Reason
	})
	return ns, cfg
}

// deliveries is a store with delivery jobs of the sample policy, finished as given.
type deliveries struct {
	st *sqlstore.DB
	n  int
}

func newDeliveries(t *testing.T) *deliveries {
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return &deliveries{st: st}
}

// finish enqueues one delivery per state and records it so (a pending one failed once
// and waits for its retry).
func (d *deliveries) finish(t *testing.T, errText string, states ...store.JobState) {
	t.Helper()
	ctx := context.Background()
	for _, state := range states {
		d.n++
		key := fmt.Sprintf("delivery-%d", d.n)
		if _, err := d.st.Enqueue(ctx, store.Job{Kind: dispatch.KindDeliver, Key: key, IdempotencyKey: key,
			Tally: dispatch.TallyPrefix + policyName}); err != nil {
			t.Fatal(err)
		}
		jobs, err := d.st.ClaimJobs(ctx, store.JobClaim{Owner: "w", Kinds: []string{dispatch.KindDeliver}, Limit: 1, Lease: time.Minute})
		if err != nil || len(jobs) != 1 {
			t.Fatalf("claiming %s: %v, %d jobs", key, err, len(jobs))
		}
		res := store.JobResult{ID: jobs[0].ID, Owner: "w", Key: key, State: state}
		if state != store.JobDone {
			res.Error = errText
		}
		if state == store.JobPending {
			res.RunAt = time.Now().Add(time.Hour)
		}
		if _, err := d.st.FinishJobs(ctx, []store.JobResult{res}); err != nil {
			t.Fatal(err)
		}
	}
}

func (d *deliveries) tallies(ctx context.Context) (map[string]store.Tally, error) {
	return dispatch.Tallies(ctx, d.st)
}

func policyWriter(t *testing.T, cfg *rest.Config, ns string, d *deliveries) *kubestatus.PolicyWriter {
	t.Helper()
	w, err := kubestatus.NewPolicyWriter(cfg, ns, d.tallies, func() []string { return []string{policyName} }, discard())
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func policy(t *testing.T, ns string) *chatv1alpha1.NotificationPolicy {
	t.Helper()
	var p chatv1alpha1.NotificationPolicy
	if err := env.Client.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: policyName}, &p); err != nil {
		t.Fatal(err)
	}
	return &p
}

// TestPolicyStatusShowsTheStoresDeliveries: deliveries recorded in the store show
// in the policy's status, written as the runtime; the operator's next reconcile
// leaves them be and owns none of them; kstatus reads the policy as it did; and
// counts that did not change write nothing.
func TestPolicyStatusShowsTheStoresDeliveries(t *testing.T) {
	ns, asRuntime := policyPlatform(t)
	d := newDeliveries(t)
	before := time.Now().Add(-time.Second)
	d.finish(t, "", store.JobDone, store.JobDone)
	d.finish(t, `Post "https://hooks.slack.com/services/T0/B0?token=s3cret": 404 Not Found: no_service`, store.JobFailed)
	d.finish(t, "421 4.7.0 try again later", store.JobPending)
	counter := &testenv.CountingTransport{}
	w := policyWriter(t, counter.Wrap(asRuntime), ns, d)
	if n := w.Sync(context.Background()); n != 1 {
		t.Fatalf("%d writes attempted, want 1", n)
	}
	p := policy(t, ns)
	st := p.Status
	if (st.Deliveries != chatv1alpha1.DeliveryCounts{Sent: 2, Failed: 1, Pending: 1}) {
		t.Errorf("deliveries %+v, want 2 sent, 1 failed, 1 pending", st.Deliveries)
	}
	if st.LastError != "421 4.7.0 try again later" || st.LastErrorTime == nil || st.LastErrorTime.Time.Before(before.Truncate(time.Second)) {
		t.Errorf("lastError %q at %v, want the retried attempt's", st.LastError, st.LastErrorTime)
	}
	if st.LastDeliveryTime == nil || st.LastDeliveryTime.Time.Before(before.Truncate(time.Second)) {
		t.Errorf("lastDeliveryTime %v, want about now", st.LastDeliveryTime)
	}

	// A final failure with a secret in its URL: the query is not shown.
	d.finish(t, `Post "https://hooks.slack.com/services/T0/B0?token=s3cret": 404 Not Found: no_service`, store.JobFailed)
	w.Sync(context.Background())
	if got := policy(t, ns).Status; got.Deliveries.Failed != 2 || strings.Contains(got.LastError, "s3cret") ||
		!strings.Contains(got.LastError, "404 Not Found: no_service") {
		t.Errorf("after a final failure: failed %d, lastError %q", got.Deliveries.Failed, got.LastError)
	}

	// A new generation: the operator reconciles and writes its own status.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := policy(t, ns)
		p.Spec.Templates[0].Subject += "!"
		return env.Client.Update(context.Background(), p)
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, settle, func() (bool, string) {
		p := policy(t, ns)
		return p.Status.ObservedGeneration == p.Generation, fmt.Sprintf("observedGeneration %d of %d", p.Status.ObservedGeneration, p.Generation)
	})
	after := policy(t, ns)
	if after.Status.Deliveries.Sent != 2 || after.Status.Deliveries.Failed != 2 || after.Status.LastError == "" {
		t.Errorf("the operator's reconcile changed the runtime's fields: %+v", after.Status)
	}
	checkPolicyFields(t, after)
	checkPolicyKstatus(t, after)

	// Nothing new in the store: nothing written, however often the writer looks.
	writes := counter.Writes()
	for range 3 {
		w.Sync(context.Background())
	}
	if n := counter.Writes() - writes; n != 0 {
		t.Errorf("%d writes for unchanged counts", n)
	}
	if got := policy(t, ns); got.ResourceVersion != after.ResourceVersion {
		t.Errorf("unchanged counts changed the policy: %+v", got.Status)
	}
}

// checkPolicyFields checks that the runtime's field manager owns exactly its four
// status fields, and no other manager any part of them.
func checkPolicyFields(t *testing.T, p *chatv1alpha1.NotificationPolicy) {
	t.Helper()
	runtimeFields := []string{"f:deliveries", "f:lastDeliveryTime", "f:lastError", "f:lastErrorTime"}
	var owned []string
	for _, mf := range p.ManagedFields {
		var set map[string]any
		if err := json.Unmarshal(mf.FieldsV1.Raw, &set); err != nil {
			t.Fatal(err)
		}
		st, _ := set["f:status"].(map[string]any)
		if mf.Manager != kubestatus.FieldManager {
			for _, f := range runtimeFields {
				if _, ok := st[f]; ok {
					t.Errorf("%s (%s) owns status.%s", mf.Manager, mf.Operation, f)
				}
			}
			continue
		}
		if mf.Operation != metav1.ManagedFieldsOperationApply || mf.Subresource != "status" {
			t.Errorf("the runtime's entry is %s on %q, want Apply on status", mf.Operation, mf.Subresource)
		}
		for k := range st {
			owned = append(owned, k)
		}
	}
	slices.Sort(owned)
	if !slices.Equal(owned, runtimeFields) {
		t.Errorf("%s owns status %v, want exactly %v", kubestatus.FieldManager, owned, runtimeFields)
	}
}

// checkPolicyKstatus: Argo CD and Flux see the same health with or without the
// runtime's fields.
func checkPolicyKstatus(t *testing.T, p *chatv1alpha1.NotificationPolicy) {
	t.Helper()
	without := p.DeepCopy()
	without.Status.Deliveries, without.Status.LastDeliveryTime = chatv1alpha1.DeliveryCounts{}, nil
	without.Status.LastError, without.Status.LastErrorTime = "", nil
	for _, o := range []*chatv1alpha1.NotificationPolicy{p, without} {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o)
		if err != nil {
			t.Fatal(err)
		}
		res, err := status.Compute(&unstructured.Unstructured{Object: u})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != status.CurrentStatus {
			t.Errorf("kstatus is %s (%s), want Current", res.Status, res.Message)
		}
	}
}

// TestPolicyWritersConverge runs two writers on one store, as two replicas do: the
// second finds the status written and writes nothing, and when the store moves on
// and both look, the policy changes once and says what the store says.
func TestPolicyWritersConverge(t *testing.T) {
	ns, asRuntime := policyPlatform(t)
	d := newDeliveries(t)
	d.finish(t, "", store.JobDone)
	counters := [2]*testenv.CountingTransport{{}, {}}
	writers := [2]*kubestatus.PolicyWriter{policyWriter(t, counters[0].Wrap(asRuntime), ns, d), policyWriter(t, counters[1].Wrap(asRuntime), ns, d)}
	writers[0].Sync(context.Background())
	writers[1].Sync(context.Background())
	if n := counters[1].Writes(); n != 0 {
		t.Errorf("the second replica sent %d writes for a status already written", n)
	}
	for round := range 3 {
		d.finish(t, fmt.Sprintf("attempt %d failed", round), store.JobDone, store.JobFailed)
		before := policy(t, ns)
		changes := watchPolicyChanges(t, ns, before.ResourceVersion)
		for _, w := range writers {
			w.Sync(context.Background())
		}
		time.Sleep(500 * time.Millisecond) // let the watch deliver
		if n := changes(); n != 1 {
			t.Errorf("round %d: both replicas made %d new versions of the policy, want 1", round, n)
		}
		got := policy(t, ns).Status
		want := chatv1alpha1.DeliveryCounts{Sent: int64(2 + round), Failed: int64(1 + round)}
		if got.Deliveries != want || got.LastError != fmt.Sprintf("attempt %d failed", round) {
			t.Errorf("round %d: status %+v, want %+v and the round's error", round, got, want)
		}
	}
}

// watchPolicyChanges counts the modifications of the policy after resourceVersion.
func watchPolicyChanges(t *testing.T, ns, resourceVersion string) func() int {
	t.Helper()
	return watchResource(t, kubestatus.PoliciesResource, ns, policyName, resourceVersion)
}
