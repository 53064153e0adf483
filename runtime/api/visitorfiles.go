package api

import (
	"errors"
	"net/http"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/media"
)

// visitorUpload takes a file from a widget visitor (or an employee) into their
// conversation: the body is read as an operator's upload is (readUpload).
func (s *Server) visitorUpload(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.channelFor(w, r)
	if !ok {
		return
	}
	contact, _, ok := s.clientConversationOn(w, r, ch, r.PathValue("id"))
	if !ok {
		return
	}
	limit := s.engine.AttachmentLimits().MaxSize
	if r.ContentLength > limit+64<<10 {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", media.TooLarge(limit).Error())
		return
	}
	if !s.allowMessage(w, "contact:"+contact.ID) {
		return
	}
	f, caption, err := readUpload(r, limit)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, channels.ErrTooLarge) || errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", media.TooLarge(limit).Error())
		return
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
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
