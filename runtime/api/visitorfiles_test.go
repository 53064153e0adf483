package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestVisitorSendsAFile: a widget visitor uploads a file to their conversation as an
// operator does; it is checked against the LiveChat's limits and stored with a
// message naming it, which the operator can download.
func TestVisitorSendsAFile(t *testing.T) {
	fs := newFileServer(t)
	path := "/api/v1/channels/website/conversations/" + fs.conv + "/attachments"
	tests := []struct {
		name       string
		token      string
		file       string
		data       []byte
		caption    string
		wantStatus int
		wantText   string
	}{
		{"a picture with a caption", fs.visitorToken, "shot.png", pngFile, "look", http.StatusCreated, "look\n[image: shot.png]"},
		{"a PDF alone", fs.visitorToken, "invoice.pdf", pdfFile, "", http.StatusCreated, "[document: invoice.pdf]"},
		{"a program", fs.visitorToken, "cat.png", exeFile, "", http.StatusBadRequest, "not allowed here"},
		{"too large", fs.visitorToken, "big.png", append(append([]byte{}, pngFile...), make([]byte, 2048)...), "", http.StatusRequestEntityTooLarge, "larger than the limit"},
		{"no token", "", "a.png", pngFile, "", http.StatusUnauthorized, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := form(tt.file, "application/octet-stream", tt.data, tt.caption)
			resp, data := fs.do(t, http.MethodPost, path, tt.token, ct, body)
			if resp.StatusCode != tt.wantStatus || (tt.wantStatus != http.StatusCreated && !strings.Contains(string(data), tt.wantText)) {
				t.Fatalf("%d %s, want %d with %q", resp.StatusCode, data, tt.wantStatus, tt.wantText)
			}
			if tt.wantStatus != http.StatusCreated {
				return
			}
			var out struct {
				Message struct {
					Text        string
					Direction   string
					Attachments []struct{ ID, State string }
				}
			}
			if err := json.Unmarshal(data, &out); err != nil {
				t.Fatal(err)
			}
			m := out.Message
			if m.Text != tt.wantText || m.Direction != "in" || len(m.Attachments) != 1 || m.Attachments[0].State != "stored" {
				t.Fatalf("stored %s", data)
			}
			resp, got := fs.do(t, http.MethodGet, "/api/v1/conversations/"+fs.conv+"/attachments/"+m.Attachments[0].ID, operatorTokens["alice"], "", nil)
			if resp.StatusCode != http.StatusOK || string(got) != string(tt.data) {
				t.Fatalf("the operator downloads %d %q", resp.StatusCode, got)
			}
		})
	}
}
