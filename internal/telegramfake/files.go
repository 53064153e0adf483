package telegramfake

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bot API limits on files, as documented: bots download files of up to 20 MB (getFile
// refuses larger ones), upload photos of up to 10 MB and other files of up to 50 MB,
// and captions of up to 1024 characters.
const (
	MaxDownload   = 20 << 20
	MaxPhoto      = 10 << 20
	MaxUpload     = 50 << 20
	MaxCaptionLen = 1024
)

// storedFile is a file a user sent the bot, which getFile and the file server give
// out.
type storedFile struct {
	data []byte
	path string
}

// upload is a file a method call uploaded as multipart/form-data.
type upload struct {
	name, contentType string
	data              []byte
}

// AddFile stores a file as a user's upload and returns its file_id, to put in an
// update's photo, document, voice, audio or video. Its file_path on the file server
// ends in the name's extension.
func (s *Server) AddFile(data []byte, name string) string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	id := "BQACAgIAAxkBAAI" + hex.EncodeToString(b)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.files == nil {
		s.files = map[string]storedFile{}
	}
	s.files[id] = storedFile{data: data, path: fmt.Sprintf("documents/file_%d%s", len(s.files), path.Ext(name))}
	return id
}

// Downloads counts the files the file server gave out.
func (s *Server) Downloads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.downloads
}

// getFile is the getFile method: the file's size and its path on the file server.
func (s *Server) getFile(w http.ResponseWriter, params map[string]any) {
	id := str(params, "file_id")
	s.mu.Lock()
	f, ok := s.files[id]
	s.mu.Unlock()
	switch {
	case id == "" || !ok:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: invalid file_id", 0})
	case len(f.data) > MaxDownload:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: file is too big", 0})
	default:
		answer(w, map[string]any{"file_id": id, "file_unique_id": id[len(id)-8:], "file_size": len(f.data), "file_path": f.path})
	}
}

// download serves /file/bot<token>/<file_path>: the file under the bot's token only.
func (s *Server) download(w http.ResponseWriter, r *http.Request) {
	token, filePath, ok := strings.Cut(strings.TrimPrefix(r.URL.Path, "/file/bot"), "/")
	if !ok || token != s.Bot.Token {
		answerError(w, failure{http.StatusUnauthorized, "Unauthorized", 0})
		return
	}
	s.mu.Lock()
	var data []byte
	found := false
	for _, f := range s.files {
		if f.path == filePath {
			data, found = f.data, true
			break
		}
	}
	if found {
		s.downloads++
	}
	s.mu.Unlock()
	if !found {
		answerError(w, failure{http.StatusNotFound, "Not Found", 0})
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	_, _ = w.Write(data)
}

// readMultipart reads a method's multipart/form-data parameters; a file part becomes
// an upload.
func readMultipart(r *http.Request, params map[string]any) (map[string]any, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return params, nil
		}
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(io.LimitReader(part, MaxUpload+1))
		if err != nil {
			return nil, err
		}
		if part.FileName() != "" {
			if len(data) > MaxUpload {
				return nil, fmt.Errorf("file is too big")
			}
			params[part.FormName()] = upload{name: part.FileName(), contentType: part.Header.Get("Content-Type"), data: data}
			continue
		}
		params[part.FormName()] = string(data)
	}
}

// sendFile is sendPhoto and sendDocument with an uploaded file.
func (s *Server) sendFile(w http.ResponseWriter, method string, params map[string]any) {
	s.mu.Lock()
	delay := s.delay
	s.mu.Unlock()
	if delay > 0 {
		time.Sleep(delay)
	}
	field := strings.ToLower(strings.TrimPrefix(method, "send"))
	u, isUpload := params[field].(upload)
	chatID, err := strconv.ParseInt(str(params, "chat_id"), 10, 64)
	caption := str(params, "caption")
	switch {
	case err != nil:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: chat not found", 0})
		return
	case !isUpload || len(u.data) == 0:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: there is no " + field + " in the request", 0})
		return
	case field == "photo" && len(u.data) > MaxPhoto:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: photo is too big", 0})
		return
	case utf8.RuneCountInString(caption) > MaxCaptionLen:
		answerError(w, failure{http.StatusBadRequest, "Bad Request: message caption is too long", 0})
		return
	}
	s.mu.Lock()
	if s.blocked[chatID] {
		s.mu.Unlock()
		answerError(w, failure{http.StatusForbidden, "Forbidden: bot was blocked by the user", 0})
		return
	}
	s.nextMsgID[chatID]++
	id := s.nextMsgID[chatID]
	now := time.Now()
	sent := Sent{Method: method, ChatID: chatID, MessageID: id, At: now, File: u.data, FileName: u.name,
		ContentType: u.contentType, Caption: caption}
	s.sent = append(s.sent, sent)
	onSend := s.onSend
	s.mu.Unlock()
	if onSend != nil {
		onSend(sent)
	}
	msg := map[string]any{"message_id": id, "date": now.Unix(), "chat": map[string]any{"id": chatID, "type": "private"},
		"from": map[string]any{"id": s.Bot.ID, "is_bot": true, "first_name": "Switchboard", "username": s.Bot.Username}}
	if caption != "" {
		msg["caption"] = caption
	}
	fileID := s.AddFile(u.data, u.name)
	if field == "photo" {
		msg["photo"] = []map[string]any{{"file_id": fileID, "file_unique_id": fileID[len(fileID)-8:], "width": 1, "height": 1}}
	} else {
		msg["document"] = map[string]any{"file_id": fileID, "file_unique_id": fileID[len(fileID)-8:], "file_name": u.name,
			"mime_type": u.contentType}
	}
	answer(w, msg)
}
