package server

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRotatingATokenEndsItsSessions: a console session opened with an operator's
// token ends once the token is rotated in the Secret, as the token itself stops
// working; a session of another operator goes on.
func TestRotatingATokenEndsItsSessions(t *testing.T) {
	dir, httpAddr, _ := runDir(t)
	base := "http://" + httpAddr
	signIn := func(token string) *http.Cookie {
		t.Helper()
		res, err := http.Post(base+"/api/v1/session", "application/json", strings.NewReader(`{"token":"`+token+`"}`))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusOK || len(res.Cookies()) != 1 {
			t.Fatalf("sign-in: %d %v", res.StatusCode, res.Cookies())
		}
		return res.Cookies()[0]
	}
	me := func(c *http.Cookie) int {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, base+"/api/v1/me", nil)
		req.AddCookie(c)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	alice, bob := signIn("sample-token-alice"), signIn("sample-token-bob")

	path := filepath.Join(dir, "secrets.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	rotated := strings.Replace(string(data), "alice: sample-token-alice", "alice: rotated-token-alice-0123456789", 1)
	if rotated == string(data) {
		t.Fatal("secrets.yaml has no token of alice to rotate")
	}
	if err := os.WriteFile(path, []byte(rotated), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for httpStatus(t, base+"/api/v1/me", "sample-token-alice") == http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatal("the rotated token still signs alice in")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := me(alice); got != http.StatusUnauthorized {
		t.Fatalf("alice's session after her token was rotated: %d, want 401", got)
	}
	if got := me(bob); got != http.StatusOK {
		t.Fatalf("bob's session after alice's token was rotated: %d, want 200", got)
	}
}
