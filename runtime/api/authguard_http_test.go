package api_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/api"
)

// TestTokenGuessingIsThrottled: wrong tokens from one address are answered 401 until
// its allowance is spent, then 429 whatever it sends, a valid token included; other
// addresses carry on. Each failure is counted, and logged at warn without the token.
func TestTokenGuessingIsThrottled(t *testing.T) {
	rg := startRig(t, api.Options{Limits: api.Limits{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	me := rg.srv.URL + "/api/v1/me"
	const guesser, colleague = "203.0.113.5", "198.51.100.7"
	codes := map[int]int{}
	retryAfter := ""
	for i := range 40 {
		res, _ := do(t, "GET", me, "guess-number-"+strings.Repeat("x", i), "", "X-Forwarded-For", guesser)
		codes[res.StatusCode]++
		if res.StatusCode == 429 && retryAfter == "" {
			retryAfter = res.Header.Get("Retry-After")
		}
	}
	if codes[401] < 20 || codes[401] > 22 || codes[429] == 0 || codes[401]+codes[429] != 40 {
		t.Errorf("40 wrong guesses answered %v, want about 20 401s, then 429s", codes)
	}
	if retryAfter == "" {
		t.Error("a 429 without Retry-After")
	}
	steps := []struct {
		name, token, from string
		want              int
	}{
		{"the guesser with a valid token", aliceToken, guesser, 429},
		{"a colleague behind the same proxy", aliceToken, colleague, 200},
		{"a colleague's typo", "wrong-token", colleague, 401},
		{"a forged X-Forwarded-For naming the proxy itself", aliceToken, "127.0.0.1", 200},
	}
	for _, st := range steps {
		if res, body := do(t, "GET", me, st.token, "", "X-Forwarded-For", st.from); res.StatusCode != st.want {
			t.Errorf("%s: %d %s, want %d", st.name, res.StatusCode, body, st.want)
		}
	}
	if n := rg.counter(t, "switchboard_runtime_auth_failures_total", "reason", "invalid"); n < 21 {
		t.Errorf("invalid credentials counted %v times, want at least 21", n)
	}
	if n := rg.counter(t, "switchboard_runtime_auth_failures_total", "reason", "throttled"); n < 18 {
		t.Errorf("throttled attempts counted %v times, want at least 18", n)
	}
	do(t, "GET", me, "", "", "X-Forwarded-For", colleague)
	if n := rg.counter(t, "switchboard_runtime_auth_failures_total", "reason", "missing"); n != 1 {
		t.Errorf("missing credentials counted %v times, want 1", n)
	}
	log := rg.log.String()
	for _, want := range []string{"level=WARN msg=\"failed sign-in", "address=" + guesser, "level=WARN msg=\"too many failed sign-ins"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "guess-number") || strings.Contains(log, "wrong-token") {
		t.Errorf("the log shows a credential:\n%s", log)
	}
}
