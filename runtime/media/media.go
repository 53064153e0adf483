// Package media decides which files a LiveChat keeps and how they are served: it
// sniffs a file's type from its bytes, checks it against the LiveChat's allow-list
// and size limit, and signs the expiring URLs a provider fetches an operator's file
// from (Twilio's MMS). Channels, the engine and the API share it so a file is judged
// the same way whichever way it came.
package media

import (
	"bytes"
	"crypto/rand"
	"encoding/base32"
	"fmt"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// NewID returns a random attachment id: 24 lowercase base32 characters, unguessable.
func NewID() string {
	var b [15]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b[:]))
}

// base returns a media type without parameters, lowercased; "" if it is none.
func base(contentType string) string {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}

func family(mt string) string {
	f, _, _ := strings.Cut(mt, "/")
	return f
}

// active types run code in a browser: a declared type never turns a file into one.
var active = []string{"text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml",
	"text/javascript", "application/javascript", "text/css"}

// containers are what the sniffer names a container whose contents it cannot tell;
// the declared type may say which, from the listed choices.
var containers = map[string]map[string]string{
	// Ogg holds a voice note (Opus) or a video.
	"application/ogg": {"audio/ogg": "audio/ogg", "audio/opus": "audio/ogg", "video/ogg": "video/ogg"},
	// An MPEG-4 file is video to the sniffer; an M4A voice note is audio in it.
	"video/mp4": {"audio/mp4": "audio/mp4", "audio/x-m4a": "audio/mp4", "audio/m4a": "audio/mp4", "audio/aac": "audio/mp4"},
}

// generic types say only "some text" or "some archive": a declared type of the same
// family (text/csv, an Office document in a zip) is more precise.
var generic = []string{"text/plain", "application/zip"}

// Sniff returns the media type of a file, without parameters, from its bytes. The
// declared type (the provider's, or the uploader's) counts only where the bytes say
// the same family less precisely, and never makes a file a type that runs in a
// browser.
func Sniff(data []byte, declared string) string {
	sniffed := base(http.DetectContentType(data))
	if sniffed == "application/octet-stream" && mp3Frame(data) {
		sniffed = "audio/mpeg" // MP3 without an ID3 tag, which the sniffer does not know
	}
	d := base(declared)
	if d == "" || d == sniffed || slices.Contains(active, d) {
		return sniffed
	}
	if choice, ok := containers[sniffed][d]; ok {
		return choice
	}
	if slices.Contains(generic, sniffed) && family(d) == family(sniffed) {
		return d
	}
	return sniffed
}

// mp3Frame reports whether data starts with an MPEG audio frame header (layer III).
func mp3Frame(data []byte) bool {
	return len(data) >= 4 && data[0] == 0xFF && data[1]&0xE6 == 0xE2 && data[2]&0xF0 != 0xF0 && data[2]&0x0C != 0x0C
}

// Refusal says why a file is not kept, in words for the console: the message is kept
// with it as a note.
type Refusal struct{ Note string }

func (r *Refusal) Error() string { return r.Note }

// Check refuses a file its LiveChat does not keep: larger than the limit, or of a
// type not allowed. An empty file is refused too: there is nothing to show.
func Check(a config.Attachments, contentType string, size int64) error {
	switch {
	case size <= 0:
		return &Refusal{Note: "the file is empty"}
	case size > a.MaxSize:
		return TooLarge(a.MaxSize)
	case !a.Allows(contentType):
		return &Refusal{Note: fmt.Sprintf("files of type %s are not allowed here (allowed: %s)", orUnknown(contentType),
			strings.Join(a.AllowedContentTypes, ", "))}
	}
	return nil
}

// TooLarge refuses a file larger than limit bytes.
func TooLarge(limit int64) error {
	return &Refusal{Note: "the file is larger than the limit of " + FormatSize(limit)}
}

func orUnknown(ct string) string {
	if ct == "" || ct == "application/octet-stream" {
		return "unknown (application/octet-stream)"
	}
	return ct
}

// FormatSize writes a byte count the way people read it: 20 MiB, 512 KiB, 900 bytes.
func FormatSize(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// inline are the types a browser may show in the page: raster pictures, which run
// nothing. Every other file is served as a download.
var inline = []string{"image/gif", "image/jpeg", "image/png", "image/webp"}

// Inline reports whether a file of the type is shown rather than downloaded.
func Inline(contentType string) bool { return slices.Contains(inline, base(contentType)) }

// ServedType is the Content-Type to serve a stored file with: its type, with the
// charset of text sniffed again (the stored type has no parameters).
func ServedType(contentType string, data []byte) string {
	ct := base(contentType)
	if ct == "" {
		return "application/octet-stream"
	}
	if family(ct) == "text" {
		_, params, _ := mime.ParseMediaType(http.DetectContentType(data))
		if cs := params["charset"]; cs != "" {
			return ct + "; charset=" + cs
		}
		if !bytes.ContainsRune(data, 0) {
			return ct + "; charset=utf-8"
		}
	}
	return ct
}
