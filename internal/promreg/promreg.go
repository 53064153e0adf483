// Package promreg registers Prometheus collectors that several components of one
// process (tests and benchmarks run many) may each create.
package promreg

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg, or returns the collector registered already under the
// same description, so every component in the process counts into one metric. Any
// other refusal (a name registered with other labels, say) is a programming error and
// is returned.
func Register[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	var already prometheus.AlreadyRegisteredError
	if !errors.As(err, &already) {
		return c, err
	}
	existing, ok := already.ExistingCollector.(C)
	if !ok {
		return c, fmt.Errorf("%w, as a %T", err, already.ExistingCollector)
	}
	return existing, nil
}

// MustRegister is Register that panics on a refusal, as prometheus.MustRegister does.
func MustRegister[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	c, err := Register(reg, c)
	if err != nil {
		panic(err)
	}
	return c
}
