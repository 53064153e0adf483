package media_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/media"
)

var (
	jpeg = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00rest of a picture")
	png  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
	pdf  = []byte("%PDF-1.7\n%âãÏÓ\n1 0 obj")
	ogg  = []byte("OggS\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00OpusHead")
	// An M4A voice note: an MPEG-4 file of brand "M4A ", compatible with mp42.
	m4a  = []byte("\x00\x00\x00\x18ftypM4A \x00\x00\x00\x00mp42isom")
	mp3  = []byte("\xFF\xFB\x90\x64\x00\x00\x00\x00\x00\x00")
	html = []byte("<html><script>alert(1)</script></html>")
	text = []byte("hello, this is a note\nwith two lines")
	zip  = []byte("PK\x03\x04\x14\x00\x06\x00")
	exe  = []byte("MZ\x90\x00\x03\x00\x00\x00")
)

func TestSniff(t *testing.T) {
	tests := []struct {
		name     string
		data     []byte
		declared string
		want     string
	}{
		{"a JPEG declared as one", jpeg, "image/jpeg", "image/jpeg"},
		{"a PNG declared as a JPEG: the bytes win", png, "image/jpeg", "image/png"},
		{"a PNG declared as nothing", png, "", "image/png"},
		{"a PDF declared as a picture", pdf, "image/png", "application/pdf"},
		{"HTML declared as a picture", html, "image/png", "text/html"},
		{"text declared as HTML stays text", text, "text/html", "text/plain"},
		{"text declared as SVG stays text", text, "image/svg+xml", "text/plain"},
		{"text declared as CSV", text, "text/csv; charset=utf-8", "text/csv"},
		{"text declared as a PDF stays text", text, "application/pdf", "text/plain"},
		{"an Ogg voice note", ogg, "audio/ogg", "audio/ogg"},
		{"an Ogg declared as Opus", ogg, "audio/opus", "audio/ogg"},
		{"an Ogg declared as nothing", ogg, "", "application/ogg"},
		{"an Ogg declared as a picture", ogg, "image/png", "application/ogg"},
		{"an M4A voice note", m4a, "audio/mp4", "audio/mp4"},
		{"an M4A declared as x-m4a", m4a, "audio/x-m4a", "audio/mp4"},
		{"an MPEG-4 video", m4a, "video/mp4", "video/mp4"},
		{"an MP3 without a tag", mp3, "audio/mpeg", "audio/mpeg"},
		{"a Word document is a zip", zip, "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
			"application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
		{"a zip declared as a picture", zip, "image/png", "application/zip"},
		{"a program declared as a PDF", exe, "application/pdf", "application/octet-stream"},
		{"a malformed declaration", png, "image/", "image/png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := media.Sniff(tt.data, tt.declared); got != tt.want {
				t.Errorf("Sniff = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	defaults := (*config.Attachments)(nil).Resolved()
	small := config.Attachments{MaxSize: 1000, AllowedContentTypes: []string{"image/*"}}
	tests := []struct {
		name     string
		policy   config.Attachments
		ct       string
		size     int64
		wantNote string // "" for kept
	}{
		{"a picture under the limit", defaults, "image/jpeg", 5 << 20, ""},
		{"a picture at the limit", defaults, "image/png", 20 << 20, ""},
		{"a picture over the limit", defaults, "image/png", 20<<20 + 1, "the file is larger than the limit of 20 MiB"},
		{"an empty file", defaults, "text/plain", 0, "the file is empty"},
		{"a program", defaults, "application/octet-stream", 10, "files of type unknown (application/octet-stream) are not allowed here"},
		{"a zip", defaults, "application/zip", 10, "files of type application/zip are not allowed here (allowed: application/pdf, audio/mp4"},
		{"a family", small, "image/tiff", 999, ""},
		{"a family over a small limit", small, "image/tiff", 1001, "larger than the limit of 1000 bytes"},
		{"outside the family", small, "application/pdf", 10, "(allowed: image/*)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := media.Check(tt.policy, tt.ct, tt.size)
			var r *media.Refusal
			switch {
			case tt.wantNote == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantNote != "" && (!errors.As(err, &r) || !strings.Contains(r.Note, tt.wantNote)):
				t.Fatalf("error %v, want a refusal saying %q", err, tt.wantNote)
			}
		})
	}
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{900: "900 bytes", 1024: "1 KiB", 1536: "1.5 KiB", 20 << 20: "20 MiB", 5<<20 + 1<<19: "5.5 MiB"} {
		if got := media.FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestServing(t *testing.T) {
	for _, tt := range []struct {
		ct         string
		data       []byte
		inline     bool
		servedType string
	}{
		{"image/png", png, true, "image/png"},
		{"image/jpeg", jpeg, true, "image/jpeg"},
		{"image/svg+xml", []byte("<svg/>"), false, "image/svg+xml"},
		{"application/pdf", pdf, false, "application/pdf"},
		{"text/plain", text, false, "text/plain; charset=utf-8"},
		{"text/csv", text, false, "text/csv; charset=utf-8"},
		{"", exe, false, "application/octet-stream"},
	} {
		if got := media.Inline(tt.ct); got != tt.inline {
			t.Errorf("Inline(%q) = %v", tt.ct, got)
		}
		if got := media.ServedType(tt.ct, tt.data); got != tt.servedType {
			t.Errorf("ServedType(%q) = %q, want %q", tt.ct, got, tt.servedType)
		}
	}
}

func TestSignedURLs(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	now := time.Unix(1_800_000_000, 0)
	token := media.Sign(key, "att1", now.Add(media.URLLifetime))
	tests := []struct {
		name   string
		key    []byte
		token  string
		at     time.Time
		wantID string
	}{
		{"fresh", key, token, now, "att1"},
		{"a moment before it expires", key, token, now.Add(media.URLLifetime - time.Second), "att1"},
		{"expired", key, token, now.Add(media.URLLifetime), ""},
		{"another LiveChat's key", []byte("another key of thirty-two bytes!"), token, now, ""},
		{"another file", key, strings.Replace(token, "att1", "att2", 1), now, ""},
		{"a later expiry", key, strings.Replace(token, ".18000036", ".18000099", 1), now, ""},
		{"no signature", key, "att1.1800003600", now, ""},
		{"garbage", key, "...", now, ""},
		{"no key", nil, token, now, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := media.Verify(tt.key, tt.token, tt.at)
			if tt.wantID == "" {
				if !errors.Is(err, media.ErrBadToken) {
					t.Fatalf("accepted (%q, %v)", id, err)
				}
				return
			}
			if err != nil || id != tt.wantID {
				t.Fatalf("Verify = %q, %v; want %q", id, err, tt.wantID)
			}
		})
	}
}

func TestKindAndCleanName(t *testing.T) {
	for _, tt := range []struct{ ct, kind string }{
		{"image/png", media.KindImage}, {"audio/ogg", media.KindAudio}, {"video/mp4", media.KindVideo},
		{"application/pdf", media.KindDocument}, {"text/plain", media.KindDocument}, {"", media.KindDocument},
	} {
		if got := media.Kind(tt.ct); got != tt.kind {
			t.Errorf("Kind(%q) = %q, want %q", tt.ct, got, tt.kind)
		}
	}
	for _, tt := range []struct{ name, ct, want string }{
		{"invoice.pdf", "application/pdf", "invoice.pdf"},
		{"../../etc/passwd", "text/plain", "passwd"},
		{`C:\Users\ada\photo.jpg`, "image/jpeg", "photo.jpg"},
		{"report\r\nX-Injected: 1.pdf", "application/pdf", "reportX-Injected: 1.pdf"},
		{`say "cheese".jpg`, "image/jpeg", "say cheese.jpg"},
		{".hidden", "text/plain", "hidden"},
		{"", "image/jpeg", "file.jpg"},
		{"", "application/pdf", "file.pdf"},
		{"/", "application/x-unknown-thing", "file"},
		{strings.Repeat("ü", 150) + ".pdf", "application/pdf", strings.Repeat("ü", 98) + ".pdf"},
	} {
		if got := media.CleanName(tt.name, tt.ct); got != tt.want {
			t.Errorf("CleanName(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
