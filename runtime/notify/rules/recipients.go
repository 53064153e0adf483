package rules

import (
	"slices"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// recipients resolves whom a rule names, in order, each person once. Under
// FirstMatch only the first kind that names anyone counts (the assignee, else the
// queue's operators, else everyone); groups and operators named by name always count.
func (p *planner) recipients(r config.Recipients) []Recipient {
	var names []string
	visitor := false
	for _, kind := range r.Kinds {
		got, isVisitor := p.kind(kind)
		if isVisitor {
			visitor = true
		}
		names = append(names, got...)
		if r.Strategy == config.RecipientsFirstMatch && (len(got) > 0 || isVisitor) {
			break
		}
	}
	for _, g := range r.Groups {
		for i := range p.cfg.Groups {
			if p.cfg.Groups[i].Name == g {
				names = append(names, p.cfg.Groups[i].Members...)
			}
		}
	}
	names = append(names, r.Operators...)
	var out []Recipient
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		rc := Recipient{Operator: n, Name: n}
		if person := p.people[n]; person != nil {
			rc.Email, rc.Phone, rc.PushUserID = person.Email, person.Phone, person.PushUserID
			if person.DisplayName != "" {
				rc.Name = person.DisplayName
			}
		}
		out = append(out, rc)
	}
	if visitor && p.ev.Contact != nil {
		c := p.ev.Contact
		out = append(out, Recipient{Visitor: true, Name: c.Name, Email: c.Email, Phone: c.Phone})
	}
	return out
}

// kind returns the operators a recipient kind names for the event, or reports that it
// names the visitor.
func (p *planner) kind(kind config.RecipientKind) (names []string, visitor bool) {
	c := p.ev.Conversation
	switch kind {
	case "Assignee":
		if c != nil && c.Operator != "" && (c.State == store.StateAssigned || c.State == store.StateActive) {
			return []string{c.Operator}, false
		}
	case "LastOperator":
		if c != nil && c.LastOperator != "" {
			return []string{c.LastOperator}, false
		}
	case "QueueOperators":
		if c != nil {
			for i := range p.cfg.Queues {
				if p.cfg.Queues[i].Name == c.Queue {
					return p.cfg.Queues[i].Operators, false
				}
			}
		}
	case "AllOperators":
		return p.allOperators(), false
	case "OfflineOperators":
		var out []string
		for _, n := range p.allOperators() {
			if offline, _ := p.st.OperatorOffline(n); offline {
				out = append(out, n)
			}
		}
		return out, false
	case "Supervisors":
		return p.cfg.LiveChat.Supervisors, false
	case "Visitor":
		return nil, c != nil
	}
	return nil, false
}

// allOperators are the operators of every queue, sorted.
func (p *planner) allOperators() []string {
	var out []string
	for i := range p.cfg.Queues {
		out = append(out, p.cfg.Queues[i].Operators...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
