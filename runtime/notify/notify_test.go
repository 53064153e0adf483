package notify_test

import (
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

func TestKey(t *testing.T) {
	base := notify.Key("event-1", "rule", "alice", "mail")
	if base != notify.Key("event-1", "rule", "alice", "mail") {
		t.Fatal("Key is not stable")
	}
	if len(base) != 32 {
		t.Errorf("Key %q is not 32 hex digits", base)
	}
	for _, other := range [][4]string{
		{"event-2", "rule", "alice", "mail"},
		{"event-1", "other", "alice", "mail"},
		{"event-1", "rule", "bob", "mail"},
		{"event-1", "rule", "alice", "sms"},
		{"event-1rule", "", "alice", "mail"}, // parts do not run into each other
	} {
		if notify.Key(other[0], other[1], other[2], other[3]) == base {
			t.Errorf("Key%q equals the key of another delivery", other)
		}
	}
}

func TestScrub(t *testing.T) {
	const secret = "s3cr3t-value"
	for _, tc := range []struct{ in, want string }{
		{in: "bad key " + secret, want: "bad key [redacted]"},
		{in: "Basic " + base64.StdEncoding.EncodeToString([]byte(secret)), want: "Basic [redacted]"},
		{in: "nothing here", want: "nothing here"},
	} {
		if got := notify.Scrub(tc.in, "", "abc", secret); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestAuthMarksAndKeepsTheClassification(t *testing.T) {
	err := outbox.Permanent(outbox.Auth(errors.New("refused")))
	if !outbox.IsAuth(err) || !outbox.IsPermanent(err) || err.Error() != "refused" {
		t.Errorf("%v: IsAuth %v, permanent %v", err, outbox.IsAuth(err), outbox.IsPermanent(err))
	}
	if outbox.IsAuth(fmt.Errorf("x: %w", errors.New("y"))) || outbox.Auth(nil) != nil {
		t.Error("Auth marks what it was not given")
	}
}
