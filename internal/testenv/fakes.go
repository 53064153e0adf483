package testenv

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// DeploymentController stands in for kube-controller-manager, which envtest does not
// run: it marks every Deployment fully rolled out and available, except in namespaces
// that are held, which stay mid-rollout until released.
type DeploymentController struct {
	mu   sync.Mutex
	held map[string]bool
	c    client.WithWatch
	kick chan struct{}
}

// StartDeploymentController runs the stand-in until ctx ends.
func StartDeploymentController(ctx context.Context, cfg *rest.Config) (*DeploymentController, error) {
	c, err := client.NewWithWatch(cfg, client.Options{Scheme: Scheme()})
	if err != nil {
		return nil, err
	}
	d := &DeploymentController{held: map[string]bool{}, c: c, kick: make(chan struct{}, 1)}
	go d.run(ctx)
	return d, nil
}

// Hold keeps the Deployments of a namespace from finishing their rollout.
func (d *DeploymentController) Hold(ns string) {
	d.mu.Lock()
	d.held[ns] = true
	d.mu.Unlock()
}

// Release lets them finish.
func (d *DeploymentController) Release(ns string) {
	d.mu.Lock()
	delete(d.held, ns)
	d.mu.Unlock()
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

func (d *DeploymentController) isHeld(ns string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.held[ns]
}

func (d *DeploymentController) run(ctx context.Context) {
	for ctx.Err() == nil {
		d.syncAll(ctx)
		w, err := d.c.Watch(ctx, &appsv1.DeploymentList{})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		d.watch(ctx, w)
		w.Stop()
	}
}

func (d *DeploymentController) watch(ctx context.Context, w watch.Interface) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.kick:
			d.syncAll(ctx)
		case ev, ok := <-w.ResultChan():
			if !ok {
				return
			}
			if dep, isDep := ev.Object.(*appsv1.Deployment); isDep && ev.Type != watch.Deleted {
				d.sync(ctx, dep)
			}
		}
	}
}

func (d *DeploymentController) syncAll(ctx context.Context) {
	var list appsv1.DeploymentList
	if err := d.c.List(ctx, &list); err != nil {
		return
	}
	for i := range list.Items {
		d.sync(ctx, &list.Items[i])
	}
}

func (d *DeploymentController) sync(ctx context.Context, dep *appsv1.Deployment) {
	want := int32(1)
	if dep.Spec.Replicas != nil {
		want = *dep.Spec.Replicas
	}
	status := appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: want, UpdatedReplicas: want,
		ReadyReplicas: want, AvailableReplicas: want,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue,
			Reason: "MinimumReplicasAvailable", LastUpdateTime: metav1.Now(), LastTransitionTime: metav1.Now()}}}
	if d.isHeld(dep.Namespace) {
		status = appsv1.DeploymentStatus{ObservedGeneration: dep.Generation, Replicas: want, UnavailableReplicas: want}
	}
	if dep.Status.ObservedGeneration == status.ObservedGeneration && dep.Status.AvailableReplicas == status.AvailableReplicas &&
		dep.Status.Replicas == status.Replicas && dep.Status.UpdatedReplicas == status.UpdatedReplicas {
		return
	}
	dep.Status = status
	_ = d.c.Status().Update(ctx, dep)
}

// CountingTransport counts the requests that change something (every method but GET,
// HEAD and OPTIONS) sent through a rest.Config it wraps; the leader election lease's
// renewals are the elected leader's heartbeat, not reconciling, and are left out. It
// also keeps every request about Secrets, so tests can say what the operator read.
type CountingTransport struct {
	writes  atomic.Int64
	mu      sync.Mutex
	secrets []Request
}

// Request is one request sent to the API server.
type Request struct {
	Method string
	Path   string // the URL path: /api/v1/namespaces/ns/secrets/name
	Query  string // the URL's raw query: watch=true&...
	Accept string // the Accept header, which asks for metadata only with ;as=PartialObjectMetadata
}

// Wrap installs the counter on cfg, which must not be in use yet.
func (c *CountingTransport) Wrap(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTripperFunc(func(req *http.Request) (*http.Response, error) {
			switch {
			case req.Method == http.MethodGet, req.Method == http.MethodHead, req.Method == http.MethodOptions:
			case strings.HasPrefix(req.URL.Path, "/apis/coordination.k8s.io/"):
			default:
				c.writes.Add(1)
			}
			if strings.HasPrefix(req.URL.Path, "/api/v1/") && strings.Contains(req.URL.Path, "/secrets") {
				c.mu.Lock()
				c.secrets = append(c.secrets, Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.RawQuery,
					Accept: req.Header.Get("Accept")})
				c.mu.Unlock()
			}
			return rt.RoundTrip(req)
		})
	})
	return cfg
}

// Writes returns the number of write requests so far.
func (c *CountingTransport) Writes() int64 { return c.writes.Load() }

// SecretRequests returns the requests about Secrets so far, oldest first.
func (c *CountingTransport) SecretRequests() []Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]Request(nil), c.secrets...)
}

type roundTripperFunc func(*http.Request) (*http.Response, error)

func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
