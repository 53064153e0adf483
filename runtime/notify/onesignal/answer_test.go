package onesignal

import (
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

// The answers of a 200 that OneSignal documents, read for one recipient.
func TestAccepted(t *testing.T) {
	s := &Sender{appID: "app"}
	for _, tc := range []struct {
		name   string
		answer string
		want   string // "" when accepted
	}{
		{name: "created", answer: `{"id":"b98881cc-1e94-4366-bbd9-db8f3429292b","external_id":null}`},
		{name: "created, others invalid", answer: `{"id":"b9","errors":{"invalid_aliases":{"external_id":["bob"]}}}`},
		{name: "created, the recipient invalid", answer: `{"id":"b9","errors":{"invalid_aliases":{"external_id":["alice"]}}}`, want: "invalid_aliases"},
		{name: "nothing created", answer: `{"id":"","errors":["All included players are not subscribed"]}`, want: "All included players are not subscribed"},
		{name: "nothing created, no reason", answer: `{"id":""}`, want: "no reason given"},
		{name: "an unknown error shape", answer: `{"id":"","errors":{"something":1}}`, want: `{"something":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.accepted([]byte(tc.answer), "alice")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("accepted: %v", err)
				}
				return
			}
			if err == nil || !outbox.IsPermanent(err) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("accepted: %v, want a permanent error saying %q", err, tc.want)
			}
		})
	}
}
