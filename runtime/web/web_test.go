package web_test

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/web"
)

// TestOddPathsAreNoServerError: paths no asset has, however malformed, are the
// client's mistake (4xx), never the server's (5xx).
func TestOddPathsAreNoServerError(t *testing.T) {
	srv := httptest.NewServer(web.Handler(web.Options{}))
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

// TestContentSecurityPolicy: no page runs inline script or takes inline styles; only
// the widget's frame may be framed, and only by its channel's origins (checked to be
// plain origins, so a configured value cannot add a directive).
func TestContentSecurityPolicy(t *testing.T) {
	origins := map[string][]string{
		"website": {"https://www.example.com", "http://localhost:8080"},
		"evil":    {"https://a.example.com; script-src *", "javascript:alert(1)"},
	}
	srv := httptest.NewServer(web.Handler(web.Options{FrameAncestors: func(ch string) []string { return origins[ch] }}))
	defer srv.Close()
	tests := []struct {
		path, wantAncestors string
		framable            bool
	}{
		{"/console/", "frame-ancestors 'none'", false},
		{"/console/main.js", "frame-ancestors 'none'", false},
		{"/widget/", "frame-ancestors 'none'", false},
		{"/widget/frame.html?channel=website", "frame-ancestors 'self' https://www.example.com http://localhost:8080", true},
		{"/widget/frame.html?channel=evil", "frame-ancestors 'self'", true},
		{"/widget/frame.html?channel=unknown", "frame-ancestors 'self'", true},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			csp := res.Header.Get("Content-Security-Policy")
			if res.StatusCode != http.StatusOK || !strings.HasSuffix(csp, tt.wantAncestors) {
				t.Fatalf("%d, policy %q; want it to end with %q", res.StatusCode, csp, tt.wantAncestors)
			}
			for _, want := range []string{"script-src 'self';", "style-src 'self';", "object-src 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("policy %q lacks %q", csp, want)
				}
			}
			if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
				t.Errorf("policy %q allows inline code", csp)
			}
			if (res.Header.Get("X-Frame-Options") == "") != tt.framable {
				t.Errorf("X-Frame-Options %q", res.Header.Get("X-Frame-Options"))
			}
		})
	}
}

// TestNoInlineCode: no page has inline script, event-handler attributes or style
// attributes, which the Content-Security-Policy would block (and which would need
// 'unsafe-inline' to work).
func TestNoInlineCode(t *testing.T) {
	pages, err := filepath.Glob("static/*.html")
	if err != nil {
		t.Fatal(err)
	}
	more, _ := filepath.Glob("static/*/*.html")
	pages = append(pages, more...)
	if len(pages) < 4 {
		t.Fatalf("found only %v", pages)
	}
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|\sstyle\s*=|<style`)
	for _, p := range pages {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range inline.FindAllString(string(data), -1) {
			t.Errorf("%s has inline code: %q", p, m)
		}
	}
}
