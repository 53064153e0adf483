package kubestatus

import (
	"context"
	"time"

	"k8s.io/client-go/rest"

	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// RaceWrites writes s as two replicas that read the Channel at the same moment: the
// first, between its read and its apply, waits for the second to write s a second
// later (so with a later lastTransitionTime), then applies what it computed.
func RaceWrites(ctx context.Context, cfg *rest.Config, namespace string, s channels.Status) (first, second error) {
	a, err := newChannelAPI(cfg, namespace)
	if err != nil {
		return err, nil
	}
	b, err := newChannelAPI(cfg, namespace)
	if err != nil {
		return err, nil
	}
	start := time.Now()
	a.afterRead = func() {
		time.Sleep(1100 * time.Millisecond)
		second = b.write(ctx, s, time.Now())
	}
	first = a.write(ctx, s, start)
	return first, second
}

// Sync runs one round of the policy writer: read the store, write what changed.
func (w *PolicyWriter) Sync(ctx context.Context) int { return w.sync(ctx) }
