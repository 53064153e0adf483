package oidclogin_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/auth/oidclogin"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// TestSettingsFrom: the redirect URI follows the public URL; settings that cannot
// work carry a problem, and the sign-in page then says only that OIDC is not set up
// completely, naming no Secret.
func TestSettingsFrom(t *testing.T) {
	secretRef := &config.SecretKeyReference{Name: "oidc-client", Key: "secret"}
	tests := []struct {
		name         string
		publicURL    string
		ref          *config.SecretKeyReference
		secret       string
		wantRedirect string
		wantSecret   string
		wantProblem  string
	}{
		{"public client", "https://chat.example.com/", nil, "", "https://chat.example.com/auth/oidc/callback", "", ""},
		{"confidential client", "https://chat.example.com", secretRef, " s3cret\n", "https://chat.example.com/auth/oidc/callback", "s3cret", ""},
		{"client secret missing", "https://chat.example.com", secretRef, "", "https://chat.example.com/auth/oidc/callback", "", `Secret "oidc-client", key "secret"`},
		{"no public URL", "", nil, "", "", "", "needs the LiveChat's spec.publicURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{LiveChat: config.LiveChat{PublicURL: tt.publicURL, AgentAuth: config.AgentAuth{
				OIDC: &config.OIDCSpec{IssuerURL: "https://id.example.com", ClientID: "switchboard", ClientSecret: tt.ref}}}}
			s := oidclogin.SettingsFrom(cfg, func(name, key string) []byte {
				if tt.ref != nil && name == tt.ref.Name && key == tt.ref.Key {
					return []byte(tt.secret)
				}
				return nil
			})
			if s.RedirectURL != tt.wantRedirect || s.ClientSecret != tt.wantSecret || s.UsernameClaim != "preferred_username" ||
				(tt.wantProblem == "") != (s.Problem == "") || !strings.Contains(s.Problem, tt.wantProblem) {
				t.Fatalf("settings %+v", *s)
			}
			if tt.wantProblem == "" {
				return
			}
			rp := oidclogin.New(oidclogin.Options{})
			defer rp.Close()
			rp.Configure(s)
			if err := rp.Available(); !errors.Is(err, oidclogin.ErrUnavailable) || strings.Contains(err.Error(), "oidc-client") ||
				!strings.Contains(err.Error(), "not set up completely") {
				t.Fatalf("Available() = %v", err)
			}
		})
	}
	if oidclogin.SettingsFrom(&config.Config{}, nil) != nil {
		t.Fatal("settings without spec.agentAuth.oidc")
	}
}
