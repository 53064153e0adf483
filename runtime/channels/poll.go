package channels

import (
	"context"
	"time"
)

// startPolling fetches the channel's updates itself until the entry is replaced.
// Before the first poll the provider's webhook is removed: providers deliver one way
// or the other, not both.
func (mg *Manager) startPolling(e *entry) {
	ctx, cancel := context.WithCancel(mg.ctx)
	e.stopPoll = cancel
	p := e.adapter.(Poller)
	mg.wg.Add(1)
	go func() {
		defer mg.wg.Done()
		backoff := time.Second
		registered := true
		for ctx.Err() == nil {
			var err error
			if registered {
				if err = e.adapter.Deregister(ctx); err == nil {
					registered = false
				}
			}
			if err == nil {
				err = p.Poll(ctx, mg.opts.PollWait, func(events []Event) error { return mg.commit(ctx, e, events) })
			}
			if ctx.Err() != nil {
				return
			}
			if err != nil {
				mg.m.polls.WithLabelValues(string(e.ch.Type), resultError).Inc()
				mg.setStatus(mg.connectedStatus(e, err))
				select {
				case <-ctx.Done():
					return
				case <-time.After(backoff):
				}
				backoff = min(2*backoff, 30*time.Second)
				continue
			}
			mg.m.polls.WithLabelValues(string(e.ch.Type), resultOK).Inc()
			if backoff > time.Second {
				backoff = time.Second
				mg.setStatus(mg.connectedStatus(e, nil))
			}
		}
	}()
}
