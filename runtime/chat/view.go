package chat

import (
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// view is a configuration with the lookups the engine needs, built once per revision
// and swapped atomically, so a new revision never disturbs requests in flight.
type view struct {
	cfg         *config.Config
	revision    string
	channels    map[string]*config.Channel
	queues      map[string]*config.Queue
	people      map[string]*config.Person
	opQueues    map[string][]string // operator → queues they answer
	supervisors map[string]bool
	clients     map[string]map[string]bool // internal channel → employees allowed
}

func newView(cfg *config.Config) *view {
	v := &view{cfg: cfg, revision: cfg.Revision(), channels: map[string]*config.Channel{}, queues: map[string]*config.Queue{},
		people: map[string]*config.Person{}, opQueues: map[string][]string{}, supervisors: map[string]bool{},
		clients: map[string]map[string]bool{}}
	for i := range cfg.Channels {
		c := &cfg.Channels[i]
		v.channels[c.Name] = c
		if c.Internal != nil {
			set := map[string]bool{}
			for _, n := range c.Internal.Clients {
				set[n] = true
			}
			v.clients[c.Name] = set
		}
	}
	for i := range cfg.Queues {
		q := &cfg.Queues[i]
		v.queues[q.Name] = q
		for _, op := range q.Operators {
			v.opQueues[op] = append(v.opQueues[op], q.Name)
		}
	}
	for i := range cfg.People {
		v.people[cfg.People[i].Name] = &cfg.People[i]
	}
	for _, s := range cfg.LiveChat.Supervisors {
		v.supervisors[s] = true
	}
	return v
}

// isOperator reports whether name answers any queue or supervises.
func (v *view) isOperator(name string) bool {
	return len(v.opQueues[name]) > 0 || v.supervisors[name]
}

// canHandle reports whether operator may work on chats of queue.
func (v *view) canHandle(operator, queue string) bool {
	if v.supervisors[operator] {
		return true
	}
	for _, q := range v.opQueues[operator] {
		if q == queue {
			return true
		}
	}
	return false
}

// visibleQueues are the queues an operator sees: all for supervisors.
func (v *view) visibleQueues(operator string) []string {
	if v.supervisors[operator] {
		out := make([]string, 0, len(v.queues))
		for _, q := range v.cfg.Queues {
			out = append(out, q.Name)
		}
		return out
	}
	return v.opQueues[operator]
}

func (v *view) displayName(person string) string {
	if p := v.people[person]; p != nil && p.DisplayName != "" {
		return p.DisplayName
	}
	return person
}
