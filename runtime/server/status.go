package server

import (
	"encoding/json"
	"net/http"
)

// serveStatus answers GET /status on the metrics port. That port is the cluster's,
// not the public's, so it needs no token here; the HTTP port serves the same to
// operators only.
func (rt *Runtime) serveStatus(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(rt.status())
}
