package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestRegisterSharesOneCollectorPerName(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "switchboard_test_total", Help: "test"}
	first := MustRegister(reg, prometheus.NewCounter(opts))
	second := MustRegister(reg, prometheus.NewCounter(opts))
	if first != second {
		t.Fatal("a second registration under the same name got its own collector")
	}
	// The same name with other labels is refused.
	if _, err := Register(reg, prometheus.NewCounterVec(opts, []string{"kind"})); err == nil {
		t.Fatal("a collector with the same name and other labels was accepted")
	}
}
