package testenv

import (
	"context"
	"fmt"

	ctrl "sigs.k8s.io/controller-runtime"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/switchboard-chat/switchboard/controllers"
)

// Operator is the switchboard operator running in-process against an Env, with the
// stand-in Deployment controller and a counter of the operator's write requests.
type Operator struct {
	Manager     ctrl.Manager
	Writes      *CountingTransport
	Deployments *DeploymentController
	cancel      context.CancelFunc
	done        chan error
}

// StartOperator runs the operator's manager with every controller, as `switchboard
// manager` does, minus the metrics and probe listeners: as its ServiceAccount with
// the permissions of config/rbac and nothing more, electing itself leader.
func (e *Env) StartOperator(opts controllers.RuntimeOptions) (*Operator, error) {
	ctx, cancel := context.WithCancel(context.Background())
	cfg, err := e.asOperator(ctx)
	if err != nil {
		cancel()
		return nil, err
	}
	counter := &CountingTransport{}
	skip := true
	mgr, err := ctrl.NewManager(counter.Wrap(cfg), ctrl.Options{
		Scheme:                        e.Scheme,
		Cache:                         controllers.CacheOptions(),
		Metrics:                       metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress:        "0",
		Controller:                    ctrlconfig.Controller{SkipNameValidation: &skip},
		LeaderElection:                true,
		LeaderElectionID:              "switchboard-manager.chat.switchboard.dev",
		LeaderElectionNamespace:       OperatorNamespace,
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		cancel()
		return nil, err
	}
	if err := controllers.Setup(ctx, mgr, opts); err != nil {
		cancel()
		return nil, err
	}
	op := &Operator{Manager: mgr, Writes: counter, cancel: cancel, done: make(chan error, 1)}
	go func() { op.done <- mgr.Start(ctx) }()
	if !mgr.GetCache().WaitForCacheSync(ctx) {
		cancel()
		return nil, fmt.Errorf("operator cache did not sync")
	}
	op.Deployments, err = StartDeploymentController(ctx, e.Config)
	if err != nil {
		cancel()
		return nil, err
	}
	return op, nil
}

// Stop stops the operator and waits for it.
func (o *Operator) Stop() error {
	o.cancel()
	return <-o.done
}
