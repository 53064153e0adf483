package kubestatus

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// PoliciesResource is the NotificationPolicies' API resource.
var PoliciesResource = chatv1alpha1.GroupVersion.WithResource("notificationpolicies")

// PolicyStatus is what the runtime reports of a NotificationPolicy: its deliveries
// as the store counts them. Times are whole seconds, as the API keeps them.
type PolicyStatus struct {
	Sent, Failed, Pending int64
	LastDeliveryTime      time.Time
	LastError             string
	LastErrorTime         time.Time
}

// policyStatusOf is the status a tally gives: the error made fit for the API.
func policyStatusOf(t store.Tally) PolicyStatus {
	s := PolicyStatus{Sent: t.Done, Failed: t.Failed, Pending: t.Pending, LastError: plain(t.LastError)}
	if !t.LastDoneAt.IsZero() {
		s.LastDeliveryTime = t.LastDoneAt.UTC().Truncate(time.Second)
	}
	if !t.LastErrorAt.IsZero() {
		s.LastErrorTime = t.LastErrorAt.UTC().Truncate(time.Second)
	}
	return s
}

// Tallies reads every policy's delivery tally from the store, by policy name.
type Tallies func(ctx context.Context) (map[string]store.Tally, error)

// policyAPI reads and applies NotificationPolicies in one namespace.
type policyAPI struct {
	res       dynamic.ResourceInterface
	namespace string
	tallies   Tallies
}

func newPolicyAPI(cfg *rest.Config, namespace string, tallies Tallies) (*policyAPI, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = FieldManager
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("a client for NotificationPolicy status: %w", err)
	}
	return &policyAPI{res: dc.Resource(PoliciesResource).Namespace(namespace), namespace: namespace, tallies: tallies}, nil
}

// write brings the policy's status up to the store. It reads the policy, then the
// store, then applies what it read under the policy's resourceVersion: a write that
// lands was read from the store after every earlier write had landed, so replicas
// that write in turn never move a count back. A replica that finds the status as the
// store has it writes nothing. It returns what the policy now says.
func (a *policyAPI) write(ctx context.Context, name string) (PolicyStatus, error) {
	for attempt := 1; ; attempt++ {
		rv, have, err := a.read(ctx, name)
		if err != nil {
			return PolicyStatus{}, err
		}
		tallies, err := a.tallies(ctx)
		if err != nil {
			return PolicyStatus{}, fmt.Errorf("reading the deliveries of policy %s: %w", name, err)
		}
		want := policyStatusOf(tallies[name])
		if have == want {
			return want, nil
		}
		_, err = a.res.ApplyStatus(ctx, name, policyApplyObject(a.namespace, name, rv, want),
			metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		switch {
		case apierrors.IsConflict(err) && attempt < maxConflicts:
			continue
		case err != nil:
			return PolicyStatus{}, err
		}
		return want, nil
	}
}

// read gets a policy's resourceVersion and the status the runtime owns, listing by
// name: the Role grants list on the LiveChat's policies by name, not get.
func (a *policyAPI) read(ctx context.Context, name string) (string, PolicyStatus, error) {
	list, err := a.res.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		return "", PolicyStatus{}, err
	}
	if len(list.Items) == 0 {
		return "", PolicyStatus{}, apierrors.NewNotFound(PoliciesResource.GroupResource(), name)
	}
	var p chatv1alpha1.NotificationPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[0].Object, &p); err != nil {
		return "", PolicyStatus{}, fmt.Errorf("reading NotificationPolicy %s: %w", name, err)
	}
	st := p.Status
	have := PolicyStatus{Sent: st.Deliveries.Sent, Failed: st.Deliveries.Failed, Pending: st.Deliveries.Pending, LastError: st.LastError}
	if st.LastDeliveryTime != nil {
		have.LastDeliveryTime = st.LastDeliveryTime.UTC()
	}
	if st.LastErrorTime != nil {
		have.LastErrorTime = st.LastErrorTime.UTC()
	}
	return p.ResourceVersion, have, nil
}

// policyApplyObject is the apply configuration of the fields the runtime owns on a
// NotificationPolicy; the conditions stay the operator's.
func policyApplyObject(namespace, name, resourceVersion string, s PolicyStatus) *unstructured.Unstructured {
	status := map[string]any{"deliveries": map[string]any{"sent": s.Sent, "failed": s.Failed, "pending": s.Pending}}
	if !s.LastDeliveryTime.IsZero() {
		status["lastDeliveryTime"] = s.LastDeliveryTime.Format(time.RFC3339)
	}
	if s.LastError != "" {
		status["lastError"] = s.LastError
	}
	if !s.LastErrorTime.IsZero() {
		status["lastErrorTime"] = s.LastErrorTime.Format(time.RFC3339)
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": chatv1alpha1.GroupVersion.String(),
		"kind":       "NotificationPolicy",
		"metadata":   map[string]any{"name": name, "namespace": namespace, "resourceVersion": resourceVersion},
		"status":     status,
	}}
}

// NewPolicyWriter returns a writer of the NotificationPolicies in namespace,
// authenticating with cfg; policies names the LiveChat's policies in force.
func NewPolicyWriter(cfg *rest.Config, namespace string, tallies Tallies, policies func() []string, log *slog.Logger) (*PolicyWriter, error) {
	a, err := newPolicyAPI(cfg, namespace, tallies)
	if err != nil {
		return nil, err
	}
	return newPolicyWriter(a.write, tallies, policies, log), nil
}
