// Package crd tests the CRDs against a real kube-apiserver: the samples apply and come
// back defaulted, invalid objects are refused with messages that say what to fix, and
// immutable fields stay immutable.
package crd

import (
	"fmt"
	"os"
	"testing"

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
	code := m.Run()
	if err := env.Stop(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping envtest:", err)
	}
	os.Exit(code)
}
