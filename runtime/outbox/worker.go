package outbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// outcome is a job's result on its way to the store.
type outcome struct {
	job store.Job
	res store.JobResult
	err error
}

// run sends one claimed job: waits for its rate limits and a worker, calls the
// handler, and hands the outcome to the completer.
func (o *Outbox) run(j store.Job) {
	defer o.runs.Done()
	k := o.kinds[j.Kind]
	res := store.JobResult{ID: j.ID, Owner: j.Owner, Key: j.Key}
	now := o.opts.Now()
	wait, cancel := o.limits.reserve(j, k, now)
	if wait > o.opts.MaxHold {
		cancel(now)
		o.outcomes <- o.giveBack(j, res, now.Add(wait))
		return
	}
	if wait > 0 {
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-o.claimCtx.Done():
			t.Stop()
			cancel(o.opts.Now())
			o.outcomes <- o.giveBack(j, res, time.Time{})
			return
		}
	}
	select {
	case o.sem <- struct{}{}:
	case <-o.claimCtx.Done():
		cancel(o.opts.Now())
		o.outcomes <- o.giveBack(j, res, time.Time{})
		return
	}
	ctx, stop := context.WithTimeout(o.sendCtx, k.Timeout)
	after := &afterSend{}
	err := call(context.WithValue(ctx, afterSendKey{}, after), k.Handle, j)
	stop()
	<-o.sem
	if err == nil {
		res.Delivery = after.delivery
	}
	o.outcomes <- o.classify(j, k, res, err, o.opts.Now())
}

// afterSend is what a handler asks to be recorded with its job's outcome.
type afterSend struct{ delivery *store.DeliveryUpdate }

type afterSendKey struct{}

// RecordDelivery asks that u be recorded in the transaction that records the job
// done, which spares a send a write of its own. It reports false outside an outbox
// handler, where the caller must record u itself.
func RecordDelivery(ctx context.Context, u store.DeliveryUpdate) bool {
	a, ok := ctx.Value(afterSendKey{}).(*afterSend)
	if ok {
		a.delivery = &u
	}
	return ok
}

// giveBack returns a job unsent, due at runAt (or when it was, if zero).
func (o *Outbox) giveBack(j store.Job, res store.JobResult, runAt time.Time) outcome {
	res.State, res.RunAt, res.Unattempted = store.JobPending, runAt, true
	return outcome{job: j, res: res}
}

// call runs a handler; a panic is an error like any other, so it is retried and in
// the end given up on rather than taking the process down with every attempt.
func call(ctx context.Context, h Handler, j store.Job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("the %s handler panicked: %v", j.Kind, r)
		}
	}()
	return h(ctx, j)
}

// classify turns a handler's error into the job's next state.
func (o *Outbox) classify(j store.Job, k *Kind, res store.JobResult, err error, now time.Time) outcome {
	oc := outcome{job: j, err: err}
	maxAttempts := k.MaxAttempts
	if j.MaxAttempts > 0 {
		maxAttempts = j.MaxAttempts
	}
	switch {
	case err == nil:
		res.State = store.JobDone
		o.m.attempts.WithLabelValues(j.Kind, resultOK).Inc()
	case IsPermanent(err):
		res.State, res.Error = store.JobFailed, errorText(err)
		o.m.attempts.WithLabelValues(j.Kind, resultPermanent).Inc()
	case j.Attempts >= maxAttempts:
		res.State, res.Error = store.JobFailed, fmt.Sprintf("gave up after %d attempts: %s", j.Attempts, errorText(err))
		o.m.attempts.WithLabelValues(j.Kind, resultTemporary).Inc()
	default:
		wait, ok := RetryAfterOf(err)
		if !ok {
			wait = backoff(k, j.Attempts)
		}
		res.State, res.RunAt, res.Error = store.JobPending, now.Add(wait), errorText(err)
		o.m.attempts.WithLabelValues(j.Kind, resultTemporary).Inc()
	}
	if res.State == store.JobFailed && k.FailedDelivery != nil {
		res.Delivery = k.FailedDelivery(j, res.Error)
	}
	oc.res = res
	return oc
}

// backoff is the wait before retrying after the attempt-th attempt failed: doubling
// from MinBackoff up to MaxBackoff, the second half of it random so that jobs failing
// together do not all come back together.
func backoff(k *Kind, attempt int) time.Duration {
	d := k.MaxBackoff
	if attempt >= 1 && attempt <= 32 {
		if b := k.MinBackoff << (attempt - 1); b > 0 && b < d {
			d = b
		}
	}
	return d/2 + rand.N(d/2+1)
}

// maxFinish bounds the outcomes recorded in one transaction.
const maxFinish = 512

// completeLoop records outcomes in batches: whatever arrived while the last batch
// was being written goes into the next, in one transaction.
func (o *Outbox) completeLoop() {
	defer close(o.completerDone)
	batch := make([]outcome, 0, maxFinish)
	for first := range o.outcomes {
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxFinish {
			select {
			case oc, ok := <-o.outcomes:
				if !ok {
					break fill
				}
				batch = append(batch, oc)
			default:
				break fill
			}
		}
		o.finish(batch)
	}
}

func (o *Outbox) finish(batch []outcome) {
	results := make([]store.JobResult, len(batch))
	for i, oc := range batch {
		results[i] = oc.res
	}
	var applied []bool
	var err error
	for try := 1; ; try++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		applied, err = o.st.FinishJobs(ctx, results)
		cancel()
		if err == nil || errors.Is(err, store.ErrStoreClosed) || try == 3 {
			break
		}
		time.Sleep(time.Duration(try) * 200 * time.Millisecond)
	}
	if err != nil {
		// The leases run out and the jobs are claimed again: sent twice, not lost.
		o.opts.Log.Error("recording outbox results failed; those jobs will be sent again", "jobs", len(batch), "error", err)
	}
	now := o.opts.Now()
	for i, oc := range batch {
		switch {
		case err != nil:
		case !applied[i]:
			o.opts.Log.Warn("an outbox job was claimed again by another worker before its result was recorded",
				"kind", oc.job.Kind, "id", oc.job.ID)
		case oc.res.State == store.JobDone:
			o.m.latency.WithLabelValues(oc.job.Kind).Observe(now.Sub(oc.job.CreatedAt).Seconds())
		case oc.res.State == store.JobFailed:
			o.m.failed.WithLabelValues(oc.job.Kind).Inc()
			j := oc.job
			j.State, j.LastError, j.FinishedAt, j.Owner = store.JobFailed, oc.res.Error, &now, ""
			o.opts.Log.Warn("an outbox job failed for good", "kind", j.Kind, "id", j.ID, "attempts", j.Attempts, "error", j.LastError)
			if o.opts.OnFailed != nil {
				o.opts.OnFailed(j)
			}
		}
	}
	o.inflight.Add(-int64(len(batch)))
	o.poke() // room for more, and the next job of each finished key
}
