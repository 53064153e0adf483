package api

import (
	"net/http/httptest"
	"testing"
)

func TestConsoleOriginAllowed(t *testing.T) {
	const public = "https://chat.example.com"
	for _, tc := range []struct {
		name, publicOrigin, host, origin string
		want                             bool
	}{
		{"no Origin: not a browser", "", "chat.example.com", "", true},
		{"the public URL", public, "chat.example.com", public, true},
		{"another site", public, "chat.example.com", "https://evil.example", false},
		{"a forged Host matching the Origin", public, "evil.example", "http://evil.example", false},
		{"a forged Host without a public URL", "", "evil.example", "http://evil.example", false},
		{"a rebinding name on this runtime's port without a public URL", "", "rebind.example:8080", "http://rebind.example:8080", false},
		{"loopback, port-forward, with a public URL", public, "localhost:8080", "http://localhost:8080", true},
		{"loopback without a public URL", "", "127.0.0.1:8080", "http://127.0.0.1:8080", true},
		{"loopback IPv6", "", "[::1]:8080", "http://[::1]:8080", true},
		{"loopback origin on another port", "", "localhost:8080", "http://localhost:9999", false},
		{"an origin that does not parse", "", "localhost:8080", "http://%zz", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/api/v1/operator/ws", nil)
			r.Host = tc.host
			if tc.origin != "" {
				r.Header.Set("Origin", tc.origin)
			}
			if got := consoleOriginAllowed(r, tc.publicOrigin); got != tc.want {
				t.Errorf("consoleOriginAllowed(Origin %q, Host %q, public %q) = %v, want %v", tc.origin, tc.host, tc.publicOrigin, got, tc.want)
			}
		})
	}
}
