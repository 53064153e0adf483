package kubestatus

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/switchboard-chat/switchboard/runtime/channels"
)

func TestDesiredCondition(t *testing.T) {
	now := time.Date(2030, 5, 6, 7, 8, 9, 500, time.UTC)
	then := metav1.NewTime(now.Add(-time.Hour))
	nowTrunc := metav1.NewTime(now.Truncate(time.Second))
	connected := channels.Status{Channel: "tg", Connected: true, Reason: channels.ReasonConnected, Message: "the webhook is registered"}
	refused := channels.Status{Channel: "tg", Reason: channels.ReasonInvalidCredentials, Message: "telegram rejects the bot token"}
	tests := []struct {
		name      string
		s         channels.Status
		cur       *metav1.Condition
		want      metav1.Condition
		wantSince metav1.Time
	}{
		{"first report", connected, nil,
			metav1.Condition{Status: metav1.ConditionTrue, Reason: "Connected", Message: "the webhook is registered"}, nowTrunc},
		{"the same status reworded is no transition", refused,
			&metav1.Condition{Type: "Connected", Status: metav1.ConditionFalse, Reason: "ProviderError", Message: "timeout", LastTransitionTime: then},
			metav1.Condition{Status: metav1.ConditionFalse, Reason: "InvalidCredentials", Message: "telegram rejects the bot token"}, then},
		{"a flip is a transition", refused,
			&metav1.Condition{Type: "Connected", Status: metav1.ConditionTrue, Reason: "Connected", LastTransitionTime: then},
			metav1.Condition{Status: metav1.ConditionFalse, Reason: "InvalidCredentials", Message: "telegram rejects the bot token"}, nowTrunc},
		{"a reason the API server would refuse", channels.Status{Reason: "not a reason!", Message: "x"}, nil,
			metav1.Condition{Status: metav1.ConditionFalse, Reason: "NotConnected", Message: "x"}, nowTrunc},
		{"no reason and no message", channels.Status{Connected: true}, nil,
			metav1.Condition{Status: metav1.ConditionTrue, Reason: "Connected", Message: "the provider accepts the channel's credentials"}, nowTrunc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := desired(tt.s, tt.cur, 4, now)
			if got.Type != "Connected" || got.Status != tt.want.Status || got.Reason != tt.want.Reason ||
				got.Message != tt.want.Message || got.ObservedGeneration != 4 {
				t.Errorf("got %+v, want %+v with observedGeneration 4", got, tt.want)
			}
			if !got.LastTransitionTime.Equal(&tt.wantSince) {
				t.Errorf("lastTransitionTime %s, want %s", got.LastTransitionTime, tt.wantSince)
			}
		})
	}
}

func TestPlainMessages(t *testing.T) {
	long := strings.Repeat("é", maxMessage)
	tests := []struct {
		name, in, want string
	}{
		{"a query may hold a token", `Get "https://graph.facebook.com/v19.0/me?access_token=EAAB123&fields=id": EOF`,
			`Get "https://graph.facebook.com/v19.0/me": EOF`},
		{"so may user info", "dial https://AC123:secret@api.twilio.com/2010-04-01/Accounts: refused",
			"dial https://api.twilio.com/2010-04-01/Accounts: refused"},
		{"one line", "provider said:\n  bad\trequest ", "provider said: bad request"},
		{"plain words stay", "telegram rejects the bot token (401 Unauthorized)", "telegram rejects the bot token (401 Unauthorized)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plain(tt.in); got != tt.want {
				t.Errorf("plain(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
	t.Run("bounded, and still UTF-8", func(t *testing.T) {
		got := plain(long)
		if len(got) > maxMessage || !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
			t.Errorf("%d bytes, valid %v", len(got), utf8.ValidString(got))
		}
	})
}
