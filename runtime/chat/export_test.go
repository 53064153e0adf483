package chat

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Manual returns o for an engine that leaves routing and deadlines to the test
// (Settle, FireDue), which drives a fake clock.
func Manual(o Options) Options {
	o.manual = true
	return o
}

// FireDue handles every deadline that is due now.
func (e *Engine) FireDue(ctx context.Context) error { return e.fireDue(ctx) }

// Settle routes every queue and fires every due deadline, again and again until
// nothing changes: what the dispatcher and the timers do in the background, done now.
// Tests with a fake clock drive the engine with it.
func (e *Engine) Settle(ctx context.Context) error {
	for range 100 {
		before, err := e.fingerprint(ctx)
		if err != nil {
			return err
		}
		if err := e.fireDue(ctx); err != nil {
			return err
		}
		for _, q := range e.view.Load().cfg.Queues {
			if err := e.Route(ctx, q.Name); err != nil {
				return err
			}
		}
		after, err := e.fingerprint(ctx)
		if err != nil {
			return err
		}
		if after == before {
			return nil
		}
	}
	return errors.New("routing did not settle after 100 rounds")
}

func (e *Engine) fingerprint(ctx context.Context) (string, error) {
	convs, err := e.store.Conversations(ctx, store.ConversationFilter{})
	if err != nil {
		return "", err
	}
	var b []byte
	for _, c := range convs {
		b = fmt.Appendf(b, "%s:%d;", c.ID, c.Version)
	}
	return string(b), nil
}
