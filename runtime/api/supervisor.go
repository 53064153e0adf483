package api

import (
	"net/http"

	"github.com/switchboard-chat/switchboard/runtime/chat"
)

// supervisorRoutes are the supervisors' endpoints, and the operator's availability.
func (s *Server) supervisorRoutes() {
	s.handle("GET /api/v1/supervisor/overview", s.operator(s.overview))
	s.handle("POST /api/v1/conversations/{id}/reassign", s.operator(s.reassign))
	s.handle("POST /api/v1/conversations/{id}/takeover", s.operator(s.takeover))
}

func (s *Server) overview(w http.ResponseWriter, r *http.Request, me chat.Me) {
	o, err := s.engine.Overview(r.Context(), me.Name)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, o)
}

type reassignRequest struct {
	Operator string `json:"operator"`
}

func (s *Server) reassign(w http.ResponseWriter, r *http.Request, me chat.Me) {
	var req reassignRequest
	if !s.decode(w, r, &req) {
		return
	}
	c, err := s.engine.Reassign(r.Context(), me.Name, r.PathValue("id"), req.Operator)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) takeover(w http.ResponseWriter, r *http.Request, me chat.Me) {
	c, err := s.engine.Takeover(r.Context(), me.Name, r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}
