package routing

import (
	"slices"
	"testing"
	"time"
)

func at(min int) *time.Time {
	t := time.Date(2026, 1, 1, 9, min, 0, 0, time.UTC)
	return &t
}

func online(name string, load, limit int, last *time.Time) Candidate {
	return Candidate{Name: name, Online: true, Active: true, Load: load, Limit: limit, LastAssigned: last}
}

func TestPickAvailable(t *testing.T) {
	tests := []struct {
		name   string
		cands  []Candidate
		lapsed []string
		want   string
	}{
		{"fewest chats in progress wins", []Candidate{online("a", 1, 2, at(1)), online("b", 0, 2, at(5))}, nil, "b"},
		{"on a tie, longest without a chat", []Candidate{online("a", 1, 3, at(5)), online("b", 1, 3, at(2)), online("c", 1, 3, at(9))}, nil, "b"},
		{"never assigned beats any time", []Candidate{online("a", 0, 2, at(0)), online("b", 0, 2, nil)}, nil, "b"},
		{"then by name, for a stable choice", []Candidate{online("b", 0, 2, nil), online("a", 0, 2, nil)}, nil, "a"},
		{"at the limit: not eligible", []Candidate{online("a", 2, 2, nil), online("b", 1, 2, at(3))}, nil, "b"},
		{"away: not eligible", []Candidate{{Name: "a", Active: true, Limit: 2}, online("b", 1, 2, at(3))}, nil, "b"},
		{"inactive: not eligible", []Candidate{{Name: "a", Online: true, Limit: 2}, online("b", 1, 2, at(3))}, nil, "b"},
		{"a lapsed operator is passed over while another is eligible", []Candidate{online("a", 0, 2, nil), online("b", 1, 2, at(3))}, []string{"a"}, "b"},
		{"a lapsed operator gets it when nobody else can", []Candidate{online("a", 0, 2, nil), online("b", 2, 2, at(3))}, []string{"a"}, "a"},
		{"a per-operator limit counts", []Candidate{online("a", 2, 5, nil), online("b", 1, 1, nil)}, nil, "a"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := PickAvailable(tt.cands, tt.lapsed)
			if !ok || got != tt.want {
				t.Errorf("picked %q (%v), want %q", got, ok, tt.want)
			}
		})
	}
	if got, ok := PickAvailable([]Candidate{online("a", 2, 2, nil), {Name: "b", Limit: 2}}, nil); ok {
		t.Errorf("nobody eligible, yet %q was picked", got)
	}
}

func TestOfferAll(t *testing.T) {
	got := OfferAll([]Candidate{online("c", 0, 2, nil), online("a", 1, 2, nil), online("b", 2, 2, nil), {Name: "d", Limit: 2}})
	if !slices.Equal(got, []string{"a", "c"}) {
		t.Errorf("offered to %v, want [a c]", got)
	}
}

// BenchmarkPickAvailable is one routing decision among 1,000 online operators.
func BenchmarkPickAvailable(b *testing.B) {
	cands := make([]Candidate, 1000)
	for i := range cands {
		cands[i] = online(string(rune('a'+i%26))+string(rune('a'+i/26%26))+string(rune('a'+i/676)), i%3, 3, at(i%60))
	}
	for b.Loop() {
		if _, ok := PickAvailable(cands, nil); !ok {
			b.Fatal("no pick")
		}
	}
}
