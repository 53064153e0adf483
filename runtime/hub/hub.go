// Package hub fans events out to the WebSocket connections of this process. Each
// subscriber has a bounded queue: a client that cannot keep up is dropped, never
// allowed to stall the others or grow memory without bound.
package hub

import (
	"sync"
)

// Subscriber receives events. Deliver must not block; it returns false when the
// subscriber's queue is full, and the hub then drops the subscriber.
type Subscriber interface {
	Deliver(event []byte) bool
	// Overflow is called once when the subscriber is dropped for being too slow.
	Overflow()
}

// Hub maps topics to subscribers.
type Hub struct {
	mu     sync.RWMutex
	topics map[string]map[Subscriber]struct{}
	subs   map[Subscriber][]string
}

// New returns an empty hub.
func New() *Hub {
	return &Hub{topics: map[string]map[Subscriber]struct{}{}, subs: map[Subscriber][]string{}}
}

// Subscribe adds s to topics.
func (h *Hub) Subscribe(s Subscriber, topics ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range topics {
		set := h.topics[t]
		if set == nil {
			set = map[Subscriber]struct{}{}
			h.topics[t] = set
		}
		if _, ok := set[s]; !ok {
			set[s] = struct{}{}
			h.subs[s] = append(h.subs[s], t)
		}
	}
}

// Unsubscribe removes s from every topic.
func (h *Hub) Unsubscribe(s Subscriber) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.unsubscribeLocked(s)
}

func (h *Hub) unsubscribeLocked(s Subscriber) {
	for _, t := range h.subs[s] {
		if set := h.topics[t]; set != nil {
			delete(set, s)
			if len(set) == 0 {
				delete(h.topics, t)
			}
		}
	}
	delete(h.subs, s)
}

// Publish delivers event to every subscriber of any of the topics, once each.
func (h *Hub) Publish(event []byte, topics ...string) {
	var slow []Subscriber
	h.mu.RLock()
	var seen map[Subscriber]struct{}
	if len(topics) > 1 {
		seen = map[Subscriber]struct{}{}
	}
	for _, t := range topics {
		for s := range h.topics[t] {
			if seen != nil {
				if _, dup := seen[s]; dup {
					continue
				}
				seen[s] = struct{}{}
			}
			if !s.Deliver(event) {
				slow = append(slow, s)
			}
		}
	}
	h.mu.RUnlock()
	if len(slow) == 0 {
		return
	}
	h.mu.Lock()
	for _, s := range slow {
		if _, still := h.subs[s]; still {
			h.unsubscribeLocked(s)
			go s.Overflow()
		}
	}
	h.mu.Unlock()
}

// Subscribers counts the subscribers of a topic.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics[topic])
}
