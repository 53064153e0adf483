// Package hub fans events out to the WebSocket connections of this process. Each
// subscriber has a bounded queue: a client that cannot keep up is dropped, never
// allowed to stall the others or grow memory without bound.
package hub

import (
	"slices"
	"sync"
)

// Subscriber receives events. Deliver must not block; it returns false when the
// subscriber's queue is full, and the hub then drops the subscriber.
type Subscriber interface {
	Deliver(event []byte) bool
	// Overflow is called once when the subscriber is dropped for being too slow.
	Overflow()
}

// Hub maps topics to subscribers. Most topics (one visitor's conversation) have one
// subscriber and queue topics a few dozen, so subscribers are kept in slices: a map per
// topic would cost every idle connection several hundred bytes more.
type Hub struct {
	mu     sync.RWMutex
	topics map[string][]Subscriber
	subs   map[Subscriber][]string
}

// New returns an empty hub.
func New() *Hub {
	return &Hub{topics: map[string][]Subscriber{}, subs: map[Subscriber][]string{}}
}

// Subscribe adds s to topics.
func (h *Hub) Subscribe(s Subscriber, topics ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range topics {
		if !slices.Contains(h.topics[t], s) {
			h.topics[t] = append(h.topics[t], s)
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
		list := slices.DeleteFunc(h.topics[t], func(x Subscriber) bool { return x == s })
		if len(list) == 0 {
			delete(h.topics, t)
		} else {
			h.topics[t] = list
		}
	}
	delete(h.subs, s)
}

// Publish delivers event to every subscriber of any of the topics, once each.
func (h *Hub) Publish(event []byte, topics ...string) {
	var slow []Subscriber
	h.mu.RLock()
	for i, t := range topics {
		for _, s := range h.topics[t] {
			if i > 0 && subscribedEarlier(h.subs[s], topics[:i]) {
				continue
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

// subscribedEarlier reports whether a subscriber with these topics already got the
// event through one of the earlier topics.
func subscribedEarlier(subTopics, earlier []string) bool {
	for _, t := range earlier {
		if slices.Contains(subTopics, t) {
			return true
		}
	}
	return false
}

// Subscribers counts the subscribers of a topic.
func (h *Hub) Subscribers(topic string) int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.topics[topic])
}
