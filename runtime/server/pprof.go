package server

import (
	"net/http"
	"net/http/pprof"
)

// servePProf adds Go's profiles to mux, under /debug/pprof/ as `go tool pprof`
// expects them. They are served on the metrics address only: a profile shows the
// program's internals, and a CPU profile costs while it runs.
func servePProf(mux *http.ServeMux) {
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
}
