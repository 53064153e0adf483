// Package chart renders the Helm chart with the helm Go library under several value
// sets and applies every object it renders to a real kube-apiserver (server-side dry
// run), with the Prometheus Operator's CRDs installed, so each one is accepted as it
// would be by a cluster. It also checks values.schema.json refuses bad values.
package chart

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/switchboard-chat/switchboard/internal/testenv"
)

var env *testenv.Env

func TestMain(m *testing.M) {
	var err error
	env, err = testenv.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	// ServiceMonitor, PodMonitor and PrometheusRule, vendored from the Prometheus
	// Operator (test/testdata/monitoring-crds/README.md says which version).
	_, err = envtest.InstallCRDs(env.Config, envtest.CRDInstallOptions{
		Paths:              []string{filepath.Join(testenv.RepoRoot(), "test", "testdata", "monitoring-crds")},
		ErrorIfPathMissing: true,
	})
	code := 1
	if err != nil {
		fmt.Fprintln(os.Stderr, "installing the monitoring CRDs:", err)
	} else {
		code = m.Run()
	}
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}
