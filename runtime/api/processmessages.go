package api

import (
	"errors"
	"net/http"

	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/processmsg"
)

// processMessageRoutes serves the API business processes write to clients with.
func (s *Server) processMessageRoutes() {
	s.handle("POST /api/v1/process-messages", s.sendProcessMessage)
	s.handle("GET /api/v1/process-messages/{id}", s.processMessage)
}

// processAuth checks the process API token, answering 404 while the API is off, and
// failures through the same throttling as every other credential.
func (s *Server) processAuth(w http.ResponseWriter, r *http.Request) bool {
	if s.processes == nil {
		writeError(w, http.StatusNotFound, "not_found", processmsg.ErrDisabled.Error())
		return false
	}
	if s.throttled(w, r) {
		return false
	}
	cred := auth.Credential(r)
	switch err := s.processes.Authenticate(cred); {
	case err == nil:
		return true
	case errors.Is(err, processmsg.ErrDisabled):
		writeError(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, processmsg.ErrNoToken):
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
	default:
		s.authFailed(w, r, cred)
	}
	return false
}

// processFailed is the answer to a request that waited and whose message failed: the
// error, and the process message for its id and details.
type processFailed struct {
	errorBody
	ProcessMessage processmsg.Status `json:"processMessage"`
}

func (s *Server) sendProcessMessage(w http.ResponseWriter, r *http.Request) {
	if !s.processAuth(w, r) {
		return
	}
	var req processmsg.Request
	if !s.decode(w, r, &req) {
		return
	}
	st, _, err := s.processes.Submit(r.Context(), req, r.Header.Get("Idempotency-Key"))
	if err == nil && req.Waits() {
		st, err = s.processes.Wait(r.Context(), st.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/v1/process-messages/"+st.ID)
	switch st.State {
	case processmsg.StateSent:
		writeJSON(w, http.StatusOK, st)
	case processmsg.StateFailed:
		var b processFailed
		b.Error.Code, b.Error.Message, b.ProcessMessage = "send_failed", st.Error, st
		writeJSON(w, http.StatusBadGateway, b)
	default:
		writeJSON(w, http.StatusAccepted, st)
	}
}

func (s *Server) processMessage(w http.ResponseWriter, r *http.Request) {
	if !s.processAuth(w, r) {
		return
	}
	st, err := s.processes.Status(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
