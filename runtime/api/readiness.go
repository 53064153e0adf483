package api

import (
	"errors"
	"net/http"
	"syscall"
)

// readyz says whether this replica should get traffic: not while its store cannot
// commit, since every write would fail. The cause goes to the log, once each time
// readiness changes; the answer names only what kind of failure it is.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	var err error
	if s.ready != nil {
		err = s.ready(r.Context())
	}
	if err != nil && s.clientGone(w, r, err) {
		return // the prober gave up: nothing learnt
	}
	if was := s.notReady.Swap(err != nil); was != (err != nil) {
		if err != nil {
			s.log.Error("not ready: the store cannot commit", "error", err)
		} else {
			s.log.Info("ready again: the store commits")
		}
	}
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": storageTrouble(err)})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// storageTrouble says what is wrong with the storage without its paths or hosts.
func storageTrouble(err error) string {
	if errors.Is(err, syscall.ENOSPC) {
		return "the store cannot commit: its disk is full"
	}
	return "the store cannot commit: see the runtime's log"
}
