package twiliofake

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// mediaFile is the media of an incoming MMS.
type mediaFile struct {
	data        []byte
	contentType string
}

// AddMedia keeps a file as the media of an incoming MMS and returns its MediaUrl,
// which Twilio serves with the account's credentials (HTTP auth on media URLs).
func (s *Server) AddMedia(data []byte, contentType string) string {
	path := "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + NewSID("MM") + "/Media/" + NewSID("ME")
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.media == nil {
		s.media = map[string]mediaFile{}
	}
	s.media[path] = mediaFile{data: data, contentType: contentType}
	return s.URL + path
}

// serveMedia serves an incoming MMS's media to a caller that passed the account's
// credentials (serve checked them); it reports whether the path was media.
func (s *Server) serveMedia(w http.ResponseWriter, r *http.Request) bool {
	if !strings.Contains(r.URL.Path, "/Media/") || r.Method != http.MethodGet {
		return false
	}
	s.mu.Lock()
	f, ok := s.media[r.URL.Path]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, 20404, "The requested resource "+r.URL.Path+" was not found")
		return true
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.data)))
	_, _ = w.Write(f.data)
	return true
}

// FetchMedia fetches an accepted message's MediaUrl as Twilio does to send an MMS:
// without credentials, from the public URL the sender gave.
func (s *Server) FetchMedia(ctx context.Context, m Message) ([]byte, string, error) {
	u := m.Form.Get("MediaUrl")
	if u == "" {
		return nil, "", fmt.Errorf("the message has no MediaUrl")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, "", err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, "", fmt.Errorf("fetching the media: %s", resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, 5<<20+1))
	return data, resp.Header.Get("Content-Type"), err
}
