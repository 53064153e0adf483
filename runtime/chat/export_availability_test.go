package chat

import "context"

// PublishAvailability sends the "me" events the background goroutine would, for the
// operators named (the change feed marks them in the background; a test does not wait
// for it).
func (e *Engine) PublishAvailability(ctx context.Context, operators ...string) error {
	e.availabilityMoved(operators...)
	return e.publishAvailability(ctx)
}
