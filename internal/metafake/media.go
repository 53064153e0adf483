package metafake

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Documented limits of files.
const (
	WhatsAppMaxImage       = 5 << 20
	WhatsAppMaxAudioVideo  = 16 << 20
	WhatsAppMaxDocument    = 100 << 20
	WhatsAppMaxCaption     = 1024
	MessengerMaxAttachment = 25 << 20
)

// storedMedia is a file the fake keeps: a customer's WhatsApp media (by media id), a
// person's Messenger attachment (by CDN path), or media the channel uploaded.
type storedMedia struct {
	data     []byte
	mimeType string
	name     string
}

// whatsAppMedia is a media message's object: an uploaded media's id, or a link.
type whatsAppMedia struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

func (s *Server) keep(key string, m storedMedia) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.media == nil {
		s.media = map[string]storedMedia{}
	}
	s.media[key] = m
}

func (s *Server) stored(key string) (storedMedia, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.media[key]
	return m, ok
}

// mediaID returns a new numeric id, as Graph's are.
func mediaID() string {
	b := make([]byte, 7)
	_, _ = rand.Read(b)
	n := uint64(0)
	for _, c := range b {
		n = n<<8 | uint64(c)
	}
	return "1" + strconv.FormatUint(n, 10)
}

// AddWhatsAppMedia keeps media a customer sent, as Meta keeps it for the business,
// and returns its media id, for a webhook's image, audio, video or document.
func (s *Server) AddWhatsAppMedia(data []byte, mimeType string) string {
	id := mediaID()
	s.keep(id, storedMedia{data: data, mimeType: mimeType})
	return id
}

// AddMessengerAttachment keeps a file a person sent the Page and returns its signed
// CDN URL, for a webhook attachment's payload.url.
func (s *Server) AddMessengerAttachment(data []byte, mimeType string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	path := "/cdn/v/t1/" + hex.EncodeToString(b) + ".bin"
	s.keep(path, storedMedia{data: data, mimeType: mimeType})
	return s.URL + path + "?_nc_sig=" + hex.EncodeToString(b[:6])
}

// Downloads counts the files downloaded from the fake.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

func (s *Server) isMedia(node string) bool {
	_, ok := s.stored(node)
	return ok && digitsRE.MatchString(node)
}

// serveMediaNode is GET /{media-id}: the media's short-lived download URL.
func (s *Server) serveMediaNode(w http.ResponseWriter, r *http.Request, id, edge string) {
	if edge != "" || r.Method != http.MethodGet {
		writeError(w, unsupported(r.Method, id, edge))
		return
	}
	if pn := r.URL.Query().Get("phone_number_id"); pn != "" && pn != s.opts.PhoneNumberID {
		writeError(w, invalidParam("Param phone_number_id does not match the media's business phone number."))
		return
	}
	m, _ := s.stored(id)
	sum := sha256.Sum256(m.data)
	writeJSON(w, map[string]any{"messaging_product": "whatsapp", "url": s.URL + "/whatsapp_business/attachments/?mid=" + id,
		"mime_type": m.mimeType, "sha256": base64.StdEncoding.EncodeToString(sum[:]), "file_size": len(m.data), "id": id})
}

// serveDownload serves the files themselves: WhatsApp media with the access token
// only, Messenger's CDN links to anyone but never with a token (a token sent to a CDN
// would leak). It reports whether the request was one.
func (s *Server) serveDownload(w http.ResponseWriter, r *http.Request) bool {
	var m storedMedia
	var ok bool
	switch {
	case r.URL.Path == "/whatsapp_business/attachments/":
		if r.Header.Get("Authorization") != "Bearer "+s.opts.AccessToken || s.opts.AccessToken == "" {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return true
		}
		m, ok = s.stored(r.URL.Query().Get("mid"))
	case strings.HasPrefix(r.URL.Path, "/cdn/"):
		if r.Header.Get("Authorization") != "" {
			http.Error(w, "metafake: a CDN link takes no Authorization header", http.StatusBadRequest)
			return true
		}
		m, ok = s.stored(r.URL.Path)
	default:
		return false
	}
	if !ok {
		http.Error(w, "Not Found", http.StatusNotFound)
		return true
	}
	s.mu.Lock()
	s.downloads++
	s.mu.Unlock()
	w.Header().Set("Content-Type", m.mimeType)
	w.Header().Set("Content-Length", strconv.Itoa(len(m.data)))
	_, _ = w.Write(m.data)
	return true
}

// readUpload reads a multipart upload: its fields and its one file.
func readUpload(w http.ResponseWriter, r *http.Request, fileField string, limit int64) (map[string]string, *storedMedia, bool) {
	mr, err := r.MultipartReader()
	if err != nil {
		writeError(w, invalidParam("the body must be multipart/form-data: "+err.Error()))
		return nil, nil, false
	}
	fields := map[string]string{}
	var file *storedMedia
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			writeError(w, invalidParam("the multipart body is malformed: "+err.Error()))
			return nil, nil, false
		}
		data, err := io.ReadAll(io.LimitReader(part, limit+1))
		if err != nil {
			writeError(w, invalidParam("the multipart body is malformed: "+err.Error()))
			return nil, nil, false
		}
		if part.FormName() == fileField && part.FileName() != "" {
			file = &storedMedia{data: data, mimeType: part.Header.Get("Content-Type"), name: part.FileName()}
			continue
		}
		fields[part.FormName()] = string(data)
	}
	if file == nil || len(file.data) == 0 {
		writeError(w, invalidParam("Param "+fileField+" must be a file."))
		return nil, nil, false
	}
	if int64(len(file.data)) > limit {
		writeError(w, invalidParam("The file is larger than the limit of "+strconv.FormatInt(limit>>20, 10)+" MB."))
		return nil, nil, false
	}
	return fields, file, true
}

// whatsAppUpload is POST /{phone-number-id}/media.
func (s *Server) whatsAppUpload(w http.ResponseWriter, r *http.Request) {
	fields, file, ok := readUpload(w, r, "file", WhatsAppMaxDocument)
	if !ok {
		return
	}
	switch {
	case fields["messaging_product"] != "whatsapp":
		writeError(w, invalidParam("The parameter messaging_product is required and must be whatsapp."))
		return
	case fields["type"] == "":
		writeError(w, invalidParam("Param type is required: the file's MIME type."))
		return
	}
	file.mimeType = fields["type"]
	id := mediaID()
	s.keep(id, *file)
	writeJSON(w, map[string]string{"id": id})
}

// whatsAppMediaSend is POST /{phone-number-id}/messages of a media type, naming
// media the channel uploaded.
func (s *Server) whatsAppMediaSend(w http.ResponseWriter, req whatsAppRequest) {
	objects := map[string]*whatsAppMedia{"image": req.Image, "audio": req.Audio, "video": req.Video, "document": req.Document, "sticker": req.Sticker}
	obj, known := objects[req.Type]
	set := 0
	for _, o := range objects {
		if o != nil {
			set++
		}
	}
	switch {
	case !known:
		writeError(w, invalidParam("Param type must be one of text, image, audio, video, document, sticker: metafake takes these only."))
		return
	case obj == nil || set != 1 || req.Text != nil:
		writeError(w, invalidParam("Param "+req.Type+" is required, and no other message object."))
		return
	case obj.Link != "" || obj.ID == "":
		writeError(w, invalidParam("Param "+req.Type+"['id'] must name uploaded media: metafake takes no links."))
		return
	case obj.Caption != "" && req.Type == "audio":
		writeError(w, invalidParam("Param audio['caption'] is not allowed."))
		return
	case utf8.RuneCountInString(obj.Caption) > WhatsAppMaxCaption:
		writeError(w, invalidParam("Param "+req.Type+"['caption'] must be at most 1024 characters long."))
		return
	}
	m, ok := s.stored(obj.ID)
	if !ok {
		writeError(w, invalidParam("Param "+req.Type+"['id'] is not a valid media id."))
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
	s.record(Send{Product: WhatsApp, To: req.To, Text: obj.Caption, MessageID: id, Type: req.Type, File: m.data,
		FileName: obj.Filename, ContentType: m.mimeType})
	writeJSON(w, map[string]any{"messaging_product": "whatsapp",
		"contacts": []map[string]string{{"input": req.To, "wa_id": waID}},
		"messages": []map[string]string{{"id": id}}})
}

// messengerUpload is POST /{page-id}/messages with the attachment uploaded as
// filedata.
func (s *Server) messengerUpload(w http.ResponseWriter, r *http.Request) {
	fields, file, ok := readUpload(w, r, "filedata", MessengerMaxAttachment)
	if !ok {
		return
	}
	var rcpt struct {
		ID string `json:"id"`
	}
	var message struct {
		Attachment *struct {
			Type    string `json:"type"`
			Payload struct {
				IsReusable bool `json:"is_reusable"`
			} `json:"payload"`
		} `json:"attachment"`
	}
	mt := fields["messaging_type"]
	switch {
	case json.Unmarshal([]byte(fields["recipient"]), &rcpt) != nil || rcpt.ID == "":
		writeError(w, invalidParam("param recipient must be a JSON object with an id."))
		return
	case !digitsRE.MatchString(rcpt.ID):
		writeError(w, MessengerNoSuchUser)
		return
	case mt != "RESPONSE" && mt != "UPDATE" && mt != "MESSAGE_TAG":
		writeError(w, invalidParam("param messaging_type must be one of {RESPONSE, UPDATE, MESSAGE_TAG}"))
		return
	case json.Unmarshal([]byte(fields["message"]), &message) != nil || message.Attachment == nil:
		writeError(w, invalidParam("param message must be a JSON object with an attachment."))
		return
	}
	switch message.Attachment.Type {
	case "image", "audio", "video", "file":
	default:
		writeError(w, invalidParam("param message[attachment][type] must be one of {image, audio, video, file}"))
		return
	}
	if f, ok := s.nextFailure(EndpointMessages); ok {
		writeError(w, f)
		return
	}
	if mt != "MESSAGE_TAG" && s.outsideWindow(rcpt.ID) {
		writeError(w, MessengerOutsideWindow)
		return
	}
	id := s.newID("m_")
	s.record(Send{Product: Messenger, To: rcpt.ID, MessagingType: mt, MessageID: id, Type: message.Attachment.Type,
		File: file.data, FileName: file.name, ContentType: file.mimeType})
	writeJSON(w, map[string]string{"recipient_id": rcpt.ID, "message_id": id})
}
