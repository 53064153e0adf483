package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// MaxUploadBytes bounds an upload's body: the largest spec.attachments.maxSize a
// LiveChat may set, and room for a multipart form around it. The LiveChat's own
// limit is checked as the file is read.
const MaxUploadBytes = 100<<20 + 64<<10

// bodyLimit is the most of a request's body that is read: uploads may be large,
// everything else is small JSON.
func bodyLimit(r *http.Request) int64 {
	if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/attachments") &&
		(strings.HasPrefix(r.URL.Path, "/api/v1/conversations/") || strings.HasPrefix(r.URL.Path, "/api/v1/channels/")) {
		return MaxUploadBytes
	}
	return MaxBodyBytes
}

func (s *Server) attachmentRoutes() {
	s.mediaKeys = media.NewKeySource(func(ctx context.Context, name string) ([]byte, error) {
		return s.engine.Store().RuntimeKey(ctx, name)
	})
	s.handle("GET /api/v1/conversations/{id}/attachments/{attachment}", s.operator(s.operatorAttachment))
	s.handle("POST /api/v1/conversations/{id}/attachments", s.operator(s.uploadAttachment))
	s.handle("GET /api/v1/channels/{channel}/conversations/{id}/attachments/{attachment}", s.visitorAttachment)
	s.handle("POST /api/v1/channels/{channel}/conversations/{id}/attachments", s.visitorUpload)
	s.handle("GET /api/v1/media/{token}", s.publicMedia) // media.PublicPath, which signed URLs use
}

// operatorAttachment serves a file of a conversation the operator may read.
func (s *Server) operatorAttachment(w http.ResponseWriter, r *http.Request, me chat.Me) {
	a, err := s.engine.OperatorAttachment(r.Context(), me.Name, r.PathValue("id"), r.PathValue("attachment"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveAttachment(w, r, a)
}

// visitorAttachment serves a file of one of the visitor's (or internal client's)
// conversations.
func (s *Server) visitorAttachment(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.channelFor(w, r)
	if !ok {
		return
	}
	contact, ok := s.client(w, r, ch)
	if !ok {
		return
	}
	a, err := s.engine.VisitorAttachment(r.Context(), contact, r.PathValue("id"), r.PathValue("attachment"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveAttachment(w, r, a)
}

// publicMedia serves a file to whoever holds its signed, expiring URL: a provider
// that fetches an operator's file itself (Twilio's MMS).
func (s *Server) publicMedia(w http.ResponseWriter, r *http.Request) {
	key, err := s.mediaKeys.Key(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	id, err := media.Verify(key, r.PathValue("token"), time.Now())
	if err != nil {
		writeError(w, http.StatusNotFound, "not_found", err.Error())
		return
	}
	a, err := s.engine.StoredAttachment(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	serveAttachment(w, r, a)
}

// serveAttachment writes a kept file so that a browser cannot be made to run it:
// its sniffed type, nosniff, a sandboxing CSP, and a download for anything but a
// picture. Ranges and conditional requests are served too (audio and video seek).
func serveAttachment(w http.ResponseWriter, r *http.Request, a store.Attachment) {
	h := w.Header()
	h.Set("Content-Type", media.ServedType(a.ContentType, a.Data))
	disposition := "attachment"
	if media.Inline(a.ContentType) {
		disposition = "inline"
	}
	if d := mime.FormatMediaType(disposition, map[string]string{"filename": media.CleanName(a.Name, a.ContentType)}); d != "" {
		disposition = d
	}
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	if a.SHA256 != "" {
		h.Set("ETag", `"`+a.SHA256+`"`)
	}
	http.ServeContent(w, r, "", a.CreatedAt, bytes.NewReader(a.Data))
}

// uploadAttachment sends an operator's file to the contact: the body is a multipart
// form with the file in the field "file" and an optional caption in "text", or the
// file itself with its name in ?name= and a caption in ?text=.
func (s *Server) uploadAttachment(w http.ResponseWriter, r *http.Request, me chat.Me) {
	f, caption, ok := s.takeUpload(w, r, "operator:"+me.Name)
	if !ok {
		return
	}
	m, err := s.engine.ReplyWithFile(r.Context(), me.Name, r.PathValue("id"), caption, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, m)
}

// takeUpload reads the file a sender (an operator or a contact, by rate-limit key)
// uploads, answering the request itself when it is too large, too frequent or
// malformed.
func (s *Server) takeUpload(w http.ResponseWriter, r *http.Request, sender string) (chat.File, string, bool) {
	limit := s.engine.AttachmentLimits().MaxSize
	if r.ContentLength > limit+64<<10 {
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", media.TooLarge(limit).Error())
		return chat.File{}, "", false
	}
	if !s.allowMessage(w, sender) {
		return chat.File{}, "", false
	}
	f, caption, err := readUpload(r, limit)
	var tooBig *http.MaxBytesError
	switch {
	case errors.Is(err, channels.ErrTooLarge) || errors.As(err, &tooBig):
		writeError(w, http.StatusRequestEntityTooLarge, "too_large", media.TooLarge(limit).Error())
		return chat.File{}, "", false
	case err != nil:
		writeError(w, http.StatusBadRequest, "invalid", err.Error())
		return chat.File{}, "", false
	}
	return f, caption, true
}

// readUpload reads an uploaded file of at most limit bytes, and its caption.
func readUpload(r *http.Request, limit int64) (chat.File, string, error) {
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		name := r.URL.Query().Get("name")
		if name == "" {
			return chat.File{}, "", errors.New("send the file as the field \"file\" of a multipart/form-data body, or as the body with its name in ?name=")
		}
		data, err := channels.ReadLimited(r.Body, limit)
		return chat.File{Name: name, ContentType: r.Header.Get("Content-Type"), Data: data}, r.URL.Query().Get("text"), err
	}
	mr := multipart.NewReader(r.Body, params["boundary"])
	var f *chat.File
	caption := ""
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return chat.File{}, "", fmt.Errorf("the multipart body is malformed: %w", err)
		}
		switch part.FormName() {
		case "file":
			if f != nil {
				return chat.File{}, "", errors.New("send one file at a time")
			}
			data, err := channels.ReadLimited(part, limit)
			if err != nil {
				return chat.File{}, "", err
			}
			f = &chat.File{Name: part.FileName(), ContentType: part.Header.Get("Content-Type"), Data: data}
		case "text":
			data, err := channels.ReadLimited(part, chat.MaxMessageLength)
			if errors.Is(err, channels.ErrTooLarge) {
				return chat.File{}, "", fmt.Errorf("text is longer than %d bytes", chat.MaxMessageLength)
			}
			if err != nil {
				return chat.File{}, "", err
			}
			caption = string(data)
		default:
			return chat.File{}, "", fmt.Errorf("the form has a field %q: send only \"file\" and \"text\"", part.FormName())
		}
	}
	if f == nil {
		return chat.File{}, "", errors.New("the form has no field \"file\"")
	}
	return *f, caption, nil
}
