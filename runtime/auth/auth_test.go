package auth_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/auth"
)

// TestTokensRefuseWhatCannotIdentify: an empty or short token is refused, and a token
// two operators share is refused for both, since it would sign in as either at random;
// the problems name the operators, never a token.
func TestTokensRefuseWhatCannotIdentify(t *testing.T) {
	long := func(s string) []byte { return []byte(s + "-0123456789abcdef") }
	tokens := map[string][]byte{
		"alice": long("alice"),
		"bob":   long("shared"),
		"carol": long("shared"),
		"dave":  []byte("short"),
		"erin":  []byte("   "),
		"frank": []byte("  " + string(long("frank")) + "\n"), // trimmed, as written with echo
	}
	v := auth.NewTokens(nil)
	problems := v.Set(tokens)
	want := []string{
		"bob and carol share one token, which is refused: give each operator their own",
		"the token of dave is shorter than 16 characters and is refused: use a long random string",
		"the token of erin is empty: they cannot sign in until it is set",
	}
	if !slices.Equal(problems, want) {
		t.Fatalf("problems\n got %q\nwant %q", problems, want)
	}
	for _, p := range problems {
		if strings.Contains(p, "shared") || strings.Contains(p, "short\"") {
			t.Fatalf("a problem shows a token: %q", p)
		}
	}
	tests := []struct {
		credential string
		want       string
	}{
		{string(long("alice")), "alice"},
		{string(long("frank")), "frank"},
		{string(long("shared")), ""},
		{"short", ""},
		{"", ""},
		{"   ", ""},
	}
	for _, tt := range tests {
		got, err := v.Verify(tt.credential)
		if got != tt.want || (tt.want == "") != (err != nil) {
			t.Errorf("Verify(%q) = %q, %v; want %q", tt.credential, got, err, tt.want)
		}
	}
}
