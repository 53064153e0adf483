package chat

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Analytics returns the report of the days from and to (YYYY-MM-DD, both included)
// in the LiveChat's time zone, of one queue or, with queue empty, of all. For
// supervisors only.
func (e *Engine) Analytics(ctx context.Context, operator, from, to, queue string) (analytics.Report, error) {
	v := e.view.Load()
	if !v.supervisors[operator] {
		return analytics.Report{}, Forbidden(fmt.Sprintf("the analytics are for supervisors, and %s is none: the LiveChat's spec.supervisorGroups name them", operator))
	}
	loc, err := config.Location(v.cfg.LiveChat.TimeZone)
	if err != nil {
		loc = time.UTC // a compile problem the operator reports; the figures go on
	}
	r, err := analytics.ParseRange(from, to, loc)
	if err != nil {
		return analytics.Report{}, Invalid(err.Error())
	}
	var queues []string
	for _, q := range v.cfg.Queues {
		if queue == "" || q.Name == queue {
			queues = append(queues, q.Name)
		}
	}
	if queue != "" && len(queues) == 0 {
		return analytics.Report{}, Invalid(fmt.Sprintf("queue %q does not exist: leave it out for all queues", queue))
	}
	loads, err := e.store.Loads(ctx)
	if err != nil {
		return analytics.Report{}, err
	}
	var ops []analytics.Operator
	for name, qs := range v.opQueues {
		if queue == "" || slices.Contains(qs, queue) {
			ops = append(ops, analytics.Operator{Name: name, DisplayName: v.displayName(name), Load: loads[name], Limit: v.limitOf(name)})
		}
	}
	return e.analytics.cache(e.store).Report(ctx, r, queue, queues, ops)
}

// analyticsFacts keeps the days the analytics read, forgetting each one a
// conversation of it changes in (on PostgreSQL, on any replica); made at the first
// report.
type analyticsFacts struct {
	once  sync.Once
	facts *analytics.Cache
	stop  func()
}

func (a *analyticsFacts) cache(st store.Store) *analytics.Cache {
	a.once.Do(func() {
		a.facts = analytics.NewCache(st)
		a.stop = st.Subscribe(func(c store.Change) {
			switch c.Kind {
			case store.ChangeConversation:
				a.facts.Forget(c.Conversation.CreatedAt)
			case store.ChangeResync:
				a.facts.ForgetAll()
			}
		})
	})
	return a.facts
}

func (a *analyticsFacts) close() {
	a.once.Do(func() {}) // no cache after this
	if a.stop != nil {
		a.stop()
	}
}
