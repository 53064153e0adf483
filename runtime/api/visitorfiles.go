package api

import (
	"net/http"
)

// visitorUpload takes a file from a widget visitor (or an employee) into their
// conversation: the body is read as an operator's upload is (takeUpload).
func (s *Server) visitorUpload(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.channelFor(w, r)
	if !ok {
		return
	}
	contact, _, ok := s.clientConversationOn(w, r, ch, r.PathValue("id"))
	if !ok {
		return
	}
	f, caption, ok := s.takeUpload(w, r, "contact:"+contact.ID)
	if !ok {
		return
	}
	m, conv, err := s.engine.InboundFile(r.Context(), contact, caption, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	vc := s.engine.ConversationForVisitor(conv)
	vm := s.engine.ForVisitor(m)
	writeJSON(w, http.StatusCreated, openResponse{Conversation: vc, Message: &vm})
}
