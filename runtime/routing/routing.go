// Package routing decides which operator gets a chat, with Creatio's chat-queue
// semantics. It is pure: the engine gathers the facts, routing picks.
package routing

import (
	"slices"
	"time"
)

// Candidate is an operator of a queue as routing sees them.
type Candidate struct {
	Name string
	// Online is presence online: away and offline operators get no new chats.
	Online bool
	// Active is false after the operator let an accept timeout pass.
	Active bool
	// Load is how many chats the operator holds, across all queues and channels.
	Load int
	// Limit is the most chats they may hold.
	Limit int
	// LastAssigned is when they were last given a chat; nil if never.
	LastAssigned *time.Time
}

// Eligible reports whether a candidate can be given a new chat.
func (c Candidate) Eligible() bool { return c.Online && c.Active && c.Load < c.Limit }

// less orders candidates for AvailableAgent: the fewest chats in progress first; on a
// tie, the one who has gone longest without being assigned a chat, never-assigned
// operators first; then by name, so the choice never depends on map order.
func less(a, b Candidate) bool {
	if a.Load != b.Load {
		return a.Load < b.Load
	}
	switch {
	case a.LastAssigned == nil && b.LastAssigned != nil:
		return true
	case a.LastAssigned != nil && b.LastAssigned == nil:
		return false
	case a.LastAssigned != nil && !a.LastAssigned.Equal(*b.LastAssigned):
		return a.LastAssigned.Before(*b.LastAssigned)
	}
	return a.Name < b.Name
}

// PickAvailable chooses the operator for a chat under AvailableAgent. Operators who
// let this chat lapse are passed over while anyone else is eligible.
func PickAvailable(cands []Candidate, lapsed []string) (string, bool) {
	var best *Candidate
	var fallback *Candidate
	for i := range cands {
		c := &cands[i]
		if !c.Eligible() {
			continue
		}
		if slices.Contains(lapsed, c.Name) {
			if fallback == nil || less(*c, *fallback) {
				fallback = c
			}
			continue
		}
		if best == nil || less(*c, *best) {
			best = c
		}
	}
	switch {
	case best != nil:
		return best.Name, true
	case fallback != nil:
		return fallback.Name, true
	}
	return "", false
}

// OfferAll lists the operators a chat is offered to under AllAgents: every eligible
// one, sorted.
func OfferAll(cands []Candidate) []string {
	var out []string
	for _, c := range cands {
		if c.Eligible() {
			out = append(out, c.Name)
		}
	}
	slices.Sort(out)
	return out
}
