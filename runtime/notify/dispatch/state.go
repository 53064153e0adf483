package dispatch

import (
	"context"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// presence is the rules' State for one event: operators are offline unless their
// presence is online (since their last presence change); the visitor is offline unless
// connected now, since the last message they wrote, so that every reply they miss in
// one absence belongs to the same offline session.
type presence struct {
	operators     map[string]store.Operator
	visitorOnline bool
	// lastInbound is read only when a rule asks about the visitor.
	lastInbound func() time.Time
}

func (p presence) OperatorOffline(name string) (bool, time.Time) {
	o, ok := p.operators[name]
	if !ok {
		return true, time.Time{}
	}
	return o.Presence != store.PresenceOnline, o.UpdatedAt
}

func (p presence) VisitorOffline(string) (bool, time.Time) {
	if p.visitorOnline {
		return false, time.Time{}
	}
	var since time.Time
	if p.lastInbound != nil {
		since = p.lastInbound()
	}
	return true, since
}

// operators reads every operator's presence, once per batch.
func (d *Dispatcher) operators(ctx context.Context) (map[string]store.Operator, error) {
	ops, err := d.opts.Store.Operators(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]store.Operator, len(ops))
	for _, o := range ops {
		out[o.Name] = o
	}
	return out, nil
}
