package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/api"
	"github.com/switchboard-chat/switchboard/runtime/auth"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/hub"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

var (
	pngFile = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR a picture")
	pdfFile = []byte("%PDF-1.7 an invoice")
	exeFile = []byte("MZ\x90\x00\x03\x00 a program")
)

// fileServer is the API on the samples with one website chat that alice holds, and
// the visitor's token.
type fileServer struct {
	url, conv, visitorToken string
	engine                  *chat.Engine
	store                   store.Store
	cfg                     *config.Config
}

var operatorTokens = map[string]string{"alice": "tok-alice-0123456789", "bob": "tok-bob-0123456789", "dave": "tok-dave-0123456789",
	"sam": "tok-sam-0123456789"}

func newFileServer(t *testing.T) *fileServer {
	t.Helper()
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LiveChat.Attachments = &config.Attachments{MaxSize: 1024, AllowedContentTypes: []string{"application/pdf", "image/*"}}
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	engine := chat.New(st, hub.New(), cfg, chat.Options{})
	t.Cleanup(engine.Close)
	tokens := map[string][]byte{}
	for name, tok := range operatorTokens {
		tokens[name] = []byte(tok)
	}
	srv := httptest.NewServer(api.New(api.Options{Engine: engine, Verifier: auth.NewTokens(tokens)}))
	t.Cleanup(srv.Close)
	ctx := context.Background()
	// Nobody is online, so routing leaves the chat alone until alice takes it.
	opened, err := engine.Open(ctx, "website", chat.Identity{Name: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := engine.InboundTo(ctx, opened.Contact, opened.Conversation.ID, "hello", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.Take(ctx, "alice", opened.Conversation.ID); err != nil {
		t.Fatal(err)
	}
	return &fileServer{url: srv.URL, conv: opened.Conversation.ID, visitorToken: opened.Token, engine: engine, store: st, cfg: cfg}
}

// do makes a request with a bearer token (none when empty).
func (fs *fileServer) do(t *testing.T, method, path, token, contentType string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, fs.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// form encodes a multipart upload: a file (when data is not nil) and a caption.
func form(name, contentType string, data []byte, text string) (*bytes.Buffer, string) {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	if text != "" {
		_ = w.WriteField("text", text)
	}
	if data != nil {
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
		h.Set("Content-Type", contentType)
		p, _ := w.CreatePart(h)
		_, _ = p.Write(data)
	}
	_ = w.Close()
	return &b, w.FormDataContentType()
}

func TestUploadAttachment(t *testing.T) {
	fs := newFileServer(t)
	path := "/api/v1/conversations/" + fs.conv + "/attachments"
	multi := func(name, ct string, data []byte, text string) (io.Reader, string) { return form(name, ct, data, text) }
	raw := func(ct string, data []byte) func() (io.Reader, string) {
		return func() (io.Reader, string) { return bytes.NewReader(data), ct }
	}
	tests := []struct {
		name       string
		operator   string
		query      string
		body       func() (io.Reader, string)
		wantStatus int
		// wantType and wantName of the stored file; wantError in the refusal.
		wantType, wantName, wantText, wantError string
	}{
		{"a picture with a caption", "alice", "", func() (io.Reader, string) { return multi("shot.png", "image/png", pngFile, "the screenshot") },
			http.StatusCreated, "image/png", "shot.png", "the screenshot", ""},
		{"a PDF as the body", "alice", "?name=invoice.pdf&text=your+invoice", raw("application/octet-stream", pdfFile),
			http.StatusCreated, "application/pdf", "invoice.pdf", "your invoice", ""},
		{"a program called a picture", "alice", "", func() (io.Reader, string) { return multi("cat.png", "image/png", exeFile, "") },
			http.StatusBadRequest, "", "", "", "files of type unknown (application/octet-stream) are not allowed here"},
		{"over the LiveChat's limit", "alice", "", func() (io.Reader, string) {
			return multi("big.png", "image/png", append(pngFile, make([]byte, 1024)...), "")
		}, http.StatusRequestEntityTooLarge, "", "", "", "the file is larger than the limit of 1 KiB"},
		{"a body far over the limit", "alice", "?name=big.pdf", raw("application/pdf", make([]byte, 200<<10)),
			http.StatusRequestEntityTooLarge, "", "", "", "larger than the limit of 1 KiB"},
		{"no file", "alice", "", func() (io.Reader, string) { return multi("", "", nil, "just text") },
			http.StatusBadRequest, "", "", "", `the form has no field`},
		{"a body without a name", "alice", "", raw("image/png", pngFile), http.StatusBadRequest, "", "", "", "its name in ?name="},
		{"no credentials", "", "", func() (io.Reader, string) { return multi("a.png", "image/png", pngFile, "") },
			http.StatusUnauthorized, "", "", "", ""},
		{"an operator who cannot see the chat", "dave", "", func() (io.Reader, string) { return multi("a.png", "image/png", pngFile, "") },
			http.StatusNotFound, "", "", "", "no such conversation"},
		{"an operator of the queue who does not hold it", "bob", "", func() (io.Reader, string) { return multi("a.png", "image/png", pngFile, "") },
			http.StatusConflict, "", "", "", "alice has this chat"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := tt.body()
			resp, data := fs.do(t, http.MethodPost, path+tt.query, operatorTokens[tt.operator], ct, body)
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(data), tt.wantError) {
				t.Fatalf("%d %s, want %d saying %q", resp.StatusCode, data, tt.wantStatus, tt.wantError)
			}
			if tt.wantStatus != http.StatusCreated {
				return
			}
			var m store.Message
			if err := json.Unmarshal(data, &m); err != nil {
				t.Fatal(err)
			}
			if len(m.Attachments) != 1 || m.Text != tt.wantText || m.Author != "alice" {
				t.Fatalf("stored %s", data)
			}
			if a := m.Attachments[0]; a.ContentType != tt.wantType || a.Name != tt.wantName || a.State != store.AttachmentStored || a.ID == "" {
				t.Fatalf("attachment %+v, want %s named %s", a, tt.wantType, tt.wantName)
			}
		})
	}
	// A LiveChat that allows larger files takes them, past the limit of JSON bodies.
	fs.cfg.LiveChat.Attachments.MaxSize = 1 << 20
	fs.engine.Apply(fs.cfg)
	large := append(append([]byte{}, pngFile...), make([]byte, api.MaxBodyBytes+1)...)
	body, ct := form("large.png", "image/png", large, "")
	if resp, data := fs.do(t, http.MethodPost, path, "tok-alice-0123456789", ct, body); resp.StatusCode != http.StatusCreated {
		t.Fatalf("a file of %d bytes: %d %s", len(large), resp.StatusCode, data)
	}
	// The messages carry the files' metadata, never their bytes.
	resp, data := fs.do(t, http.MethodGet, "/api/v1/conversations/"+fs.conv+"/messages", "tok-alice-0123456789", "", nil)
	if resp.StatusCode != http.StatusOK || strings.Count(string(data), `"contentType"`) != 3 || bytes.Contains(data, []byte("PNG")) ||
		!strings.Contains(string(data), `"name":"invoice.pdf"`) || !strings.Contains(string(data), `"size":19`) {
		t.Fatalf("the messages read %d %s", resp.StatusCode, data)
	}
}

func TestServeAttachment(t *testing.T) {
	fs := newFileServer(t)
	ctx := context.Background()
	picture, err := fs.engine.ReplyWithFile(ctx, "alice", fs.conv, "", chat.File{Name: `shot "1".png`, Data: pngFile})
	if err != nil {
		t.Fatal(err)
	}
	invoice, err := fs.engine.ReplyWithFile(ctx, "alice", fs.conv, "", chat.File{Name: "invoice.pdf", Data: pdfFile})
	if err != nil {
		t.Fatal(err)
	}
	pic, pdf := picture.Attachments[0].ID, invoice.Attachments[0].ID
	other, err := fs.engine.Open(ctx, "website", chat.Identity{Name: "Grace"})
	if err != nil {
		t.Fatal(err)
	}
	operatorPath := func(conv, id string) string { return "/api/v1/conversations/" + conv + "/attachments/" + id }
	visitorPath := func(conv, id string) string {
		return "/api/v1/channels/website/conversations/" + conv + "/attachments/" + id
	}
	key, err := fs.store.RuntimeKey(ctx, media.KeyName)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, token string
		wantStatus        int
		wantData          []byte
		wantType          string
		wantDisposition   string
	}{
		{"the operator who holds the chat", operatorPath(fs.conv, pic), "tok-alice-0123456789", 200, pngFile, "image/png", `inline; filename="shot 1.png"`},
		{"a PDF is a download", operatorPath(fs.conv, pdf), "tok-alice-0123456789", 200, pdfFile, "application/pdf", `attachment; filename=invoice.pdf`},
		{"another operator of the queue", operatorPath(fs.conv, pic), "tok-bob-0123456789", 200, pngFile, "image/png", "inline"},
		{"a supervisor", operatorPath(fs.conv, pic), "tok-sam-0123456789", 200, pngFile, "image/png", "inline"},
		{"no credentials", operatorPath(fs.conv, pic), "", 401, nil, "", ""},
		{"a wrong token", operatorPath(fs.conv, pic), "tok-nobody", 401, nil, "", ""},
		{"an operator who cannot see the chat", operatorPath(fs.conv, pic), "tok-dave-0123456789", 404, nil, "", ""},
		{"through another conversation", operatorPath(other.Conversation.ID, pic), "tok-alice-0123456789", 404, nil, "", ""},
		{"an unknown file", operatorPath(fs.conv, "nope"), "tok-alice-0123456789", 404, nil, "", ""},
		{"the visitor", visitorPath(fs.conv, pic), fs.visitorToken, 200, pngFile, "image/png", "inline"},
		{"another visitor", visitorPath(other.Conversation.ID, pic), other.Token, 404, nil, "", ""},
		{"another visitor, through the chat", visitorPath(fs.conv, pic), other.Token, 404, nil, "", ""},
		{"a visitor without a token", visitorPath(fs.conv, pic), "", 401, nil, "", ""},
		{"a signed media URL", media.PublicPath + media.Sign(key, pdf, time.Now().Add(time.Minute)), "", 200, pdfFile, "application/pdf", "attachment"},
		{"an expired media URL", media.PublicPath + media.Sign(key, pdf, time.Now().Add(-time.Second)), "", 404, nil, "", ""},
		{"a media URL signed with another key", media.PublicPath + media.Sign([]byte("another key"), pdf, time.Now().Add(time.Minute)), "", 404, nil, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, data := fs.do(t, http.MethodGet, tt.path, tt.token, "", nil)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%d %s, want %d", resp.StatusCode, data, tt.wantStatus)
			}
			if tt.wantStatus != http.StatusOK {
				if bytes.Contains(data, []byte("PNG")) || bytes.Contains(data, []byte("PDF")) {
					t.Fatal("a refusal carries the file")
				}
				return
			}
			h := resp.Header
			if !bytes.Equal(data, tt.wantData) || h.Get("Content-Type") != tt.wantType || !strings.HasPrefix(h.Get("Content-Disposition"), tt.wantDisposition) {
				t.Fatalf("served %d bytes as %q, %q", len(data), h.Get("Content-Type"), h.Get("Content-Disposition"))
			}
			for name, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
				"Cache-Control": "private, max-age=3600"} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
		})
	}
	// A conditional request for a file the browser has is answered without it.
	req, _ := http.NewRequest(http.MethodGet, fs.url+operatorPath(fs.conv, pic), nil)
	req.Header.Set("Authorization", "Bearer tok-alice-0123456789")
	req.Header.Set("If-None-Match", `"`+picture.Attachments[0].SHA256+`"`)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Fatalf("a conditional request: %d, want 304", resp.StatusCode)
	}
}
