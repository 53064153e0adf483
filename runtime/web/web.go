// Package web serves the operator console and the web widget, embedded in the binary.
package web

import (
	"embed"
	"io/fs"
	"net/http"
	"unicode/utf8"
)

//go:embed static
var static embed.FS

// Handler serves the assets: / (an index), /console/ and /widget/.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err)
	}
	files := http.FileServer(http.FS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Content-Security-Policy", "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'")
		// No embedded file has such a name, and the file server would answer the file
		// system's refusal of it as a server error.
		if !utf8.ValidString(r.URL.Path) {
			http.Error(w, "400 bad request: the path is not valid UTF-8", http.StatusBadRequest)
			return
		}
		files.ServeHTTP(w, r)
	})
}
