package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/web"
)

// TestOddPathsAreNoServerError: paths no asset has, however malformed, are the
// client's mistake (4xx), never the server's (5xx).
func TestOddPathsAreNoServerError(t *testing.T) {
	srv := httptest.NewServer(web.Handler())
	defer srv.Close()
	tests := []struct {
		path string
		want int
	}{
		{"/widget/", http.StatusOK},
		{"/%ff", http.StatusBadRequest},
		{"/widget/%c0%ae%c0%ae/", http.StatusBadRequest},
		{"/console/%fe%ff.js", http.StatusBadRequest},
		{"/widget/%00", http.StatusNotFound},
		{"/nothing-here", http.StatusNotFound},
		{"/widget/%e2%9c%93", http.StatusNotFound}, // valid UTF-8, no such file
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != tt.want {
				t.Errorf("GET %s: %d, want %d", tt.path, res.StatusCode, tt.want)
			}
		})
	}
}
