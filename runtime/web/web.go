// Package web serves the operator console and the web widget, embedded in the binary:
// plain JavaScript modules, no build step.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
	"unicode/utf8"
)

//go:embed static
var static embed.FS

// Options of the handler.
type Options struct {
	// FrameAncestors returns the origins whose pages may embed a channel's widget
	// frame: its spec.webWidget.allowedOrigins. Nil, or nil for a channel: only the
	// runtime's own pages may.
	FrameAncestors func(channel string) []string
}

// policy is the Content-Security-Policy of every page: scripts and styles only from
// the runtime's own files (no inline script, no style attributes), pictures of
// attachments from blobs the page fetched, the alert sound from anywhere on https.
const policy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; " +
	"media-src 'self' blob: data: https:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'"

// framePath is the widget's frame, which the loader (widget.js) puts into other sites'
// pages: the only page that may be framed, and only by the channel's origins.
const framePath = "/widget/frame.html"

// Handler serves the assets: / (an index), /console/ and /widget/.
func Handler(o Options) http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		ancestors := "'none'"
		if r.URL.Path == framePath {
			ancestors = frameAncestors(o, r.URL.Query().Get("channel"))
		} else {
			h.Set("X-Frame-Options", "DENY")
		}
		h.Set("Content-Security-Policy", policy+"; frame-ancestors "+ancestors)
		// No embedded file has such a name, and the file server would answer the file
		// system's refusal of it as a server error.
		if !utf8.ValidString(r.URL.Path) {
			http.Error(w, "400 bad request: the path is not valid UTF-8", http.StatusBadRequest)
			return
		}
		files.ServeHTTP(w, r)
	})
}

// frameAncestors lists the runtime itself and the channel's origins, each checked
// to be a plain origin, so that no configuration can change the policy's meaning.
func frameAncestors(o Options, channel string) string {
	list := []string{"'self'"}
	if o.FrameAncestors == nil {
		return list[0]
	}
	for _, origin := range o.FrameAncestors(channel) {
		if plainOrigin(origin) {
			list = append(list, origin)
		}
	}
	return strings.Join(list, " ")
}

// plainOrigin: scheme://host[:port] of letters, digits, '.', '-', ':' and '/' only.
func plainOrigin(s string) bool {
	if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:/[]", c)) {
			return false
		}
	}
	return true
}
