package config_test

import (
	"slices"
	"strings"
	"testing"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// TestCompileAgentAuth: tokens are optional only with OIDC; OIDC needs the public URL
// (the redirect URI) and its client secret, which the runtime is told to read.
func TestCompileAgentAuth(t *testing.T) {
	withOIDC := func(in *config.Input) {
		in.LiveChat.Spec.AgentAuth.OIDC = &chatv1alpha1.OIDCSpec{IssuerURL: "https://id.example.com", ClientID: "switchboard"}
	}
	dropTokens := func(in *config.Input) {
		in.LiveChat.Spec.AgentAuth.TokensSecretRef = nil
	}
	withoutErinsToken := func(in *config.Input) {
		in.Secrets["support-operator-tokens"] = slices.DeleteFunc(slices.Clone(in.Secrets["support-operator-tokens"]), func(k string) bool { return k == "erin" })
	}
	tests := []struct {
		name   string
		mutate []func(*config.Input)
		want   []string // "Field Reason: message part"
		forbid []string // reasons that must not appear
		check  func(t *testing.T, cfg *config.Config)
	}{
		{name: "neither tokens nor OIDC", mutate: []func(*config.Input){dropTokens},
			want: []string{"spec.agentAuth OperatorWithoutToken: nobody can sign in: set spec.agentAuth.tokensSecretRef"}},
		{name: "tokens alone, one missing", mutate: []func(*config.Input){withoutErinsToken},
			want: []string{`spec.agentAuth.tokensSecretRef OperatorWithoutToken: "erin" (OperatorGroup experts) cannot sign in`}},
		{name: "OIDC makes tokens optional", mutate: []func(*config.Input){withoutErinsToken, withOIDC},
			forbid: []string{"OperatorWithoutToken", "PublicURLRequired"}},
		{name: "OIDC alone", mutate: []func(*config.Input){dropTokens, withOIDC},
			forbid: []string{"OperatorWithoutToken", "PublicURLRequired"},
			check: func(t *testing.T, cfg *config.Config) {
				o := cfg.LiveChat.AgentAuth.OIDC
				if o == nil || o.UsernameClaim != "preferred_username" || o.ClientSecret != nil {
					t.Fatalf("oidc = %+v, want the default username claim and no client secret", o)
				}
			}},
		{name: "OIDC without a public URL", mutate: []func(*config.Input){withOIDC, func(in *config.Input) { in.LiveChat.Spec.PublicURL = "" }},
			want: []string{"spec.agentAuth.oidc PublicURLRequired: OIDC sign-in needs spec.publicURL"}},
		{name: "OIDC client secret missing", mutate: []func(*config.Input){withOIDC, func(in *config.Input) {
			in.LiveChat.Spec.AgentAuth.OIDC.ClientSecretRef = &chatv1alpha1.SecretKeyReference{Name: "oidc-client", Key: "secret"}
		}}, want: []string{`spec.agentAuth.oidc.clientSecretRef SecretNotFound: Secret "oidc-client" does not exist`}},
		{name: "OIDC client secret read", mutate: []func(*config.Input){withOIDC, func(in *config.Input) {
			in.LiveChat.Spec.AgentAuth.OIDC.ClientSecretRef = &chatv1alpha1.SecretKeyReference{Name: "oidc-client", Key: "secret"}
			in.Secrets["oidc-client"] = []string{"secret"}
		}}, forbid: []string{"SecretNotFound", "SecretKeyNotFound"},
			check: func(t *testing.T, cfg *config.Config) {
				if ref := cfg.LiveChat.AgentAuth.OIDC.ClientSecret; ref == nil || *ref != (config.SecretKeyReference{Name: "oidc-client", Key: "secret"}) {
					t.Fatalf("client secret = %v", ref)
				}
				if !slices.ContainsFunc(cfg.Secrets, func(u config.SecretUse) bool { return u.Name == "oidc-client" && slices.Contains(u.Keys, "secret") }) {
					t.Fatalf("the runtime is not told to read the client secret: %+v", cfg.Secrets)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInput(t)
			for _, m := range tt.mutate {
				m(&in)
			}
			cfg, problems := config.Compile(in)
			for _, w := range tt.want {
				if !slices.ContainsFunc(problems, func(p config.Problem) bool {
					return strings.HasPrefix(w, p.Field+" "+p.Reason+": ") && strings.Contains(p.Message, strings.SplitN(w, ": ", 2)[1])
				}) {
					t.Errorf("want a problem %q; got:\n%s", w, problems.Summary(20))
				}
			}
			for _, p := range problems {
				if slices.Contains(tt.forbid, p.Reason) {
					t.Errorf("unexpected problem %s %s: %s", p.Field, p.Reason, p.Message)
				}
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}
