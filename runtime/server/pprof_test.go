package server

import (
	"net/http"
	"testing"
)

// --pprof serves the profiles on the metrics address only; without it, nowhere.
func TestPProfOnlyOnTheMetricsAddressWhenAskedFor(t *testing.T) {
	for _, on := range []bool{false, true} {
		_, httpAddr, metricsAddr := runDir(t, func(o *Options) { o.PProf = on })
		want := map[bool]int{false: http.StatusNotFound, true: http.StatusOK}[on]
		if code := httpStatus(t, "http://"+metricsAddr+"/debug/pprof/goroutine?debug=1", ""); code != want {
			t.Errorf("--pprof=%v: the metrics address answers %d, want %d", on, code, want)
		}
		if code := httpStatus(t, "http://"+httpAddr+"/debug/pprof/goroutine?debug=1", ""); code == http.StatusOK {
			t.Errorf("--pprof=%v: the public address serves profiles", on)
		}
	}
}
