package hub

import (
	"sync"
	"testing"
)

type fakeSub struct {
	mu       sync.Mutex
	got      [][]byte
	capacity int
	dropped  chan struct{}
}

func newFake(capacity int) *fakeSub {
	return &fakeSub{capacity: capacity, dropped: make(chan struct{})}
}

func (f *fakeSub) Deliver(e []byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) >= f.capacity {
		return false
	}
	f.got = append(f.got, e)
	return true
}

func (f *fakeSub) Overflow() { close(f.dropped) }

func (f *fakeSub) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.got)
}

func TestPublish(t *testing.T) {
	tests := []struct {
		name      string
		subscribe []string
		publish   []string
		want      int
	}{
		{"one topic", []string{"a"}, []string{"a"}, 1},
		{"another topic", []string{"a"}, []string{"b"}, 0},
		{"subscribed to two of the topics: delivered once", []string{"a", "b"}, []string{"a", "b"}, 1},
		{"subscribed to the second topic only", []string{"b"}, []string{"a", "b"}, 1},
		{"subscribing twice counts once", []string{"a", "a"}, []string{"a"}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := New()
			s := newFake(10)
			h.Subscribe(s, tt.subscribe...)
			h.Publish([]byte("x"), tt.publish...)
			if got := s.count(); got != tt.want {
				t.Errorf("delivered %d times, want %d", got, tt.want)
			}
		})
	}
}

func TestSlowSubscriberIsDroppedAndOthersUnaffected(t *testing.T) {
	h := New()
	slow, fast := newFake(2), newFake(100)
	h.Subscribe(slow, "q")
	h.Subscribe(fast, "q")
	for range 5 {
		h.Publish([]byte("x"), "q")
	}
	<-slow.dropped
	if fast.count() != 5 {
		t.Errorf("the fast subscriber got %d of 5", fast.count())
	}
	if n := h.Subscribers("q"); n != 1 {
		t.Errorf("%d subscribers left, want the fast one", n)
	}
}

func TestUnsubscribeRemovesEmptyTopics(t *testing.T) {
	h := New()
	s := newFake(10)
	h.Subscribe(s, "a", "b")
	h.Unsubscribe(s)
	h.Publish([]byte("x"), "a", "b")
	if s.count() != 0 || len(h.topics) != 0 || len(h.subs) != 0 {
		t.Errorf("after unsubscribe: %d delivered, %d topics, %d subscribers", s.count(), len(h.topics), len(h.subs))
	}
}
