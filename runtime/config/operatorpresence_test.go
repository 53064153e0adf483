package config_test

import (
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// A configuration compiled before spec.operatorPresence existed gets its defaults; one
// that sets it keeps what it sets.
func TestOperatorPresenceResolved(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   *config.OperatorPresence
		want config.OperatorPresence
	}{
		{"none", nil, config.OperatorPresence{OfflineAfter: config.Duration{Duration: time.Minute}, OpenChatsWhenOffline: config.OpenChatsForward}},
		{"empty", &config.OperatorPresence{}, config.OperatorPresence{OfflineAfter: config.Duration{Duration: time.Minute}, OpenChatsWhenOffline: config.OpenChatsForward}},
		{"set", &config.OperatorPresence{OfflineAfter: config.Duration{Duration: 5 * time.Second}, OpenChatsWhenOffline: config.OpenChatsDrop},
			config.OperatorPresence{OfflineAfter: config.Duration{Duration: 5 * time.Second}, OpenChatsWhenOffline: config.OpenChatsDrop}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Resolved(); got != tt.want {
				t.Errorf("Resolved() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
