package webhooktest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// The vector was computed with openssl, apart from any Go code:
//
//	printf '%s' '1700000000.{"id":"k1"}' | openssl dgst -sha256 -hmac 'whsec_example'
const vector = "61ade49b60e92268b8e8189aa92ec3fe4adcbe2d09be6945dce4788f38bb2117"

func TestVerify(t *testing.T) {
	signedAt := time.Unix(1700000000, 0)
	header := func(ts, sig string) http.Header {
		return http.Header{TimestampHeader: {ts}, SignatureHeader: {sig}}
	}
	body := []byte(`{"id":"k1"}`)
	for _, tc := range []struct {
		name   string
		header http.Header
		body   []byte
		now    time.Time
		want   string // "" when it verifies
	}{
		{name: "the vector", header: header("1700000000", "v1="+vector), body: body, now: signedAt},
		{name: "four minutes late", header: header("1700000000", "v1="+vector), body: body, now: signedAt.Add(4 * time.Minute)},
		{name: "one of several signatures", header: header("1700000000", "v1=00, v1="+vector), body: body, now: signedAt},
		{name: "six minutes late", header: header("1700000000", "v1="+vector), body: body, now: signedAt.Add(6 * time.Minute), want: "stale"},
		{name: "from the future", header: header("1700000000", "v1="+vector), body: body, now: signedAt.Add(-6 * time.Minute), want: "stale"},
		{name: "another body", header: header("1700000000", "v1="+vector), body: []byte(`{"id":"k2"}`), now: signedAt, want: "does not verify"},
		{name: "without the prefix", header: header("1700000000", vector), body: body, now: signedAt, want: "does not verify"},
		{name: "no timestamp", header: header("", "v1="+vector), body: body, now: signedAt, want: "not a unix time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify([]byte("whsec_example"), tc.header, tc.body, tc.now, DefaultTolerance)
			if (err == nil) != (tc.want == "") || (err != nil && !strings.Contains(err.Error(), tc.want)) {
				t.Fatalf("Verify: %v, want %q", err, tc.want)
			}
		})
	}
}
