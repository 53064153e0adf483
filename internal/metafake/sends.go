package metafake

import (
	"net/http"
	"regexp"
	"strings"
	"unicode/utf8"
)

// Documented limits of a text message.
const (
	MessengerMaxText = 2000
	WhatsAppMaxText  = 4096
)

var (
	digitsRE   = regexp.MustCompile(`^[0-9]{1,32}$`)
	waNumberRE = regexp.MustCompile(`^\+?[0-9]{7,15}$`)
)

// messengerRequest is the Send API body the channel may send.
type messengerRequest struct {
	Recipient *struct {
		ID string `json:"id"`
	} `json:"recipient"`
	MessagingType    string `json:"messaging_type"`
	Tag              string `json:"tag"`
	NotificationType string `json:"notification_type"`
	Message          *struct {
		Text     string `json:"text"`
		Metadata string `json:"metadata"`
	} `json:"message"`
}

// messengerSend is POST /{page-id}/messages.
func (s *Server) messengerSend(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		s.messengerUpload(w, r)
		return
	}
	var req messengerRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case req.Recipient == nil || req.Recipient.ID == "":
		writeError(w, invalidParam("param recipient must be non-empty."))
		return
	case !digitsRE.MatchString(req.Recipient.ID):
		writeError(w, MessengerNoSuchUser)
		return
	case req.MessagingType != "RESPONSE" && req.MessagingType != "UPDATE" && req.MessagingType != "MESSAGE_TAG":
		writeError(w, invalidParam("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"))
		return
	case req.MessagingType == "MESSAGE_TAG" && req.Tag == "":
		writeError(w, invalidParam("param tag is required when messaging_type is MESSAGE_TAG"))
		return
	case req.Message == nil || strings.TrimSpace(req.Message.Text) == "":
		writeError(w, invalidParam("param message must be non-empty with a text."))
		return
	case !utf8.ValidString(req.Message.Text) || utf8.RuneCountInString(req.Message.Text) > MessengerMaxText:
		writeError(w, invalidParam("Length of param message[text] must be less than or equal to 2000"))
		return
	}
	if f, ok := s.nextFailure(EndpointMessages); ok {
		writeError(w, f)
		return
	}
	if req.MessagingType != "MESSAGE_TAG" && s.outsideWindow(req.Recipient.ID) {
		writeError(w, MessengerOutsideWindow)
		return
	}
	id := s.newID("m_")
	s.record(Send{Product: Messenger, To: req.Recipient.ID, Text: req.Message.Text, MessagingType: req.MessagingType, MessageID: id})
	writeJSON(w, map[string]string{"recipient_id": req.Recipient.ID, "message_id": id})
}

// threadControlRequest is the body of the handover calls.
type threadControlRequest struct {
	Recipient *struct {
		ID string `json:"id"`
	} `json:"recipient"`
	TargetAppID string `json:"target_app_id"`
	Metadata    string `json:"metadata"`
}

// threadControl is POST /{page-id}/{take,pass,release,request}_thread_control.
func (s *Server) threadControl(w http.ResponseWriter, r *http.Request, action string) {
	var req threadControlRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case req.Recipient == nil || !digitsRE.MatchString(req.Recipient.ID):
		writeError(w, invalidParam("param recipient[id] must be a page-scoped id."))
		return
	case action == "pass" && !digitsRE.MatchString(req.TargetAppID):
		writeError(w, invalidParam("param target_app_id must be an app id."))
		return
	case action != "pass" && req.TargetAppID != "":
		writeError(w, invalidParam("param target_app_id is for pass_thread_control only."))
		return
	case len(req.Metadata) > 1000:
		writeError(w, invalidParam("param metadata must be at most 1000 characters."))
		return
	}
	if f, ok := s.nextFailure(EndpointThreadControl); ok {
		writeError(w, f)
		return
	}
	s.mu.Lock()
	s.threads = append(s.threads, ThreadControl{Action: action, Recipient: req.Recipient.ID, TargetAppID: req.TargetAppID, Metadata: req.Metadata})
	switch action {
	case "take":
		s.owners[req.Recipient.ID] = s.opts.AppID
	case "pass":
		s.owners[req.Recipient.ID] = req.TargetAppID
	case "release":
		delete(s.owners, req.Recipient.ID)
	}
	s.mu.Unlock()
	writeJSON(w, map[string]bool{"success": true})
}

// whatsAppRequest is the Cloud API body of a text message.
type whatsAppRequest struct {
	MessagingProduct string `json:"messaging_product"`
	RecipientType    string `json:"recipient_type"`
	To               string `json:"to"`
	Type             string `json:"type"`
	Text             *struct {
		PreviewURL *bool  `json:"preview_url"`
		Body       string `json:"body"`
	} `json:"text"`
	Context *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`
	// A media message's object, of its type (media.go).
	Image    *whatsAppMedia `json:"image"`
	Audio    *whatsAppMedia `json:"audio"`
	Video    *whatsAppMedia `json:"video"`
	Document *whatsAppMedia `json:"document"`
	Sticker  *whatsAppMedia `json:"sticker"`
}

// whatsAppSend is POST /{phone-number-id}/messages.
func (s *Server) whatsAppSend(w http.ResponseWriter, r *http.Request) {
	var req whatsAppRequest
	if !decodeBody(w, r, &req) {
		return
	}
	switch {
	case req.MessagingProduct != "whatsapp":
		writeError(w, invalidParam("The parameter messaging_product is required and must be whatsapp."))
		return
	case req.RecipientType != "individual":
		writeError(w, invalidParam("Param recipient_type must be individual."))
		return
	case !waNumberRE.MatchString(req.To):
		writeError(w, invalidParam("Invalid parameter: to must be a phone number or WhatsApp id."))
		return
	case req.Type != "text":
		s.whatsAppMediaSend(w, req)
		return
	case req.Text == nil || strings.TrimSpace(req.Text.Body) == "":
		writeError(w, invalidParam("Param text['body'] is required."))
		return
	case !utf8.ValidString(req.Text.Body) || utf8.RuneCountInString(req.Text.Body) > WhatsAppMaxText:
		writeError(w, invalidParam("Param text['body'] must be at most 4096 characters long."))
		return
	}
	if f, ok := s.nextFailure(EndpointMessages); ok {
		writeError(w, f)
		return
	}
	waID := strings.TrimPrefix(req.To, "+")
	if s.outsideWindow(waID) {
		writeError(w, WhatsAppReEngagement)
		return
	}
	id := s.newID("wamid.")
	s.record(Send{Product: WhatsApp, To: req.To, Text: req.Text.Body, MessageID: id})
	writeJSON(w, map[string]any{"messaging_product": "whatsapp",
		"contacts": []map[string]string{{"input": req.To, "wa_id": waID}},
		"messages": []map[string]string{{"id": id}}})
}
