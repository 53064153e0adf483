package config

import (
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// OperatorPresence is how operators' presence follows their consoles.
type OperatorPresence struct {
	// OfflineAfter is how long an operator stays online (or away) after their last
	// console closed on every replica.
	OfflineAfter Duration `json:"offlineAfter"`
	// OpenChatsWhenOffline is what becomes of an operator's open chats when they go
	// offline: Forward (back to their queues) or Drop (closed).
	OpenChatsWhenOffline OpenChatsPolicy `json:"openChatsWhenOffline"`
}

// OpenChatsPolicy is what becomes of an offline operator's open chats.
type OpenChatsPolicy string

// Open-chat policies.
const (
	OpenChatsForward OpenChatsPolicy = "Forward"
	OpenChatsDrop    OpenChatsPolicy = "Drop"
)

// OpenChatsPolicies lists every OpenChatsPolicy.
var OpenChatsPolicies = []OpenChatsPolicy{OpenChatsForward, OpenChatsDrop}

// DefaultOfflineAfter is spec.operatorPresence.offlineAfter's default.
const DefaultOfflineAfter = 60 * time.Second

// Resolved is the operator presence settings in force: a configuration compiled
// before they existed has none, and gets the defaults.
func (p *OperatorPresence) Resolved() OperatorPresence {
	out := OperatorPresence{OfflineAfter: Duration{DefaultOfflineAfter}, OpenChatsWhenOffline: OpenChatsForward}
	if p == nil {
		return out
	}
	if p.OfflineAfter.Duration > 0 {
		out.OfflineAfter = p.OfflineAfter
	}
	if p.OpenChatsWhenOffline != "" {
		out.OpenChatsWhenOffline = p.OpenChatsWhenOffline
	}
	return out
}

func operatorPresence(s chatv1alpha1.OperatorPresenceSpec) *OperatorPresence {
	return &OperatorPresence{OfflineAfter: orDuration(s.OfflineAfter, DefaultOfflineAfter),
		OpenChatsWhenOffline: orString(OpenChatsPolicy(s.OpenChatsWhenOffline), OpenChatsForward)}
}
