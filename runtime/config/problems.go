package config

import (
	"fmt"
	"sort"
	"strings"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Problem is something in the inputs that stops part of the configuration from
// working, written for the person who has to fix it.
type Problem struct {
	// Kind and Name of the object to change.
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Field is the path of the offending field, for example spec.operatorGroups[1].
	Field string `json:"field,omitempty"`
	// Reason is CamelCase, used as a condition reason.
	Reason string `json:"reason"`
	// Message says what is wrong and what to do.
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Field == "" {
		return fmt.Sprintf("%s %s: %s", p.Kind, p.Name, p.Message)
	}
	return fmt.Sprintf("%s %s: %s: %s", p.Kind, p.Name, p.Field, p.Message)
}

// IsReference reports whether the problem is a missing or misplaced referenced object,
// which is what the ResolvedRefs condition is about.
func (p Problem) IsReference() bool {
	switch p.Reason {
	case chatv1alpha1.ReasonLiveChatNotFound, chatv1alpha1.ReasonQueueNotFound, chatv1alpha1.ReasonGroupNotFound,
		chatv1alpha1.ReasonSecretNotFound, chatv1alpha1.ReasonSecretKeyNotFound, chatv1alpha1.ReasonChannelNotFound,
		chatv1alpha1.ReasonInvalidReference:
		return true
	}
	return false
}

// Problems is a sorted list of problems.
type Problems []Problem

func (ps Problems) sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Name != b.Name {
			return a.Name < b.Name
		}
		if a.Field != b.Field {
			return a.Field < b.Field
		}
		return a.Message < b.Message
	})
}

// References returns the reference problems.
func (ps Problems) References() Problems {
	var out Problems
	for _, p := range ps {
		if p.IsReference() {
			out = append(out, p)
		}
	}
	return out
}

// Detail is the problem without the object's kind and name, for a message on the
// object itself.
func (p Problem) Detail() string {
	if p.Field == "" {
		return p.Message
	}
	return p.Field + ": " + p.Message
}

// Summary joins up to max problems into one message, saying how many more there are.
func (ps Problems) Summary(max int) string { return ps.join(max, Problem.String) }

// DetailSummary is Summary without kinds and names, for problems of one object.
func (ps Problems) DetailSummary(max int) string { return ps.join(max, Problem.Detail) }

func (ps Problems) join(max int, format func(Problem) string) string {
	var b strings.Builder
	for i, p := range ps {
		if i == max {
			fmt.Fprintf(&b, "; and %d more", len(ps)-max)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(format(p))
	}
	return b.String()
}

// problemSink collects problems about one object.
type problemSink struct {
	kind, name string
	list       Problems
}

func (s *problemSink) add(field, reason, format string, args ...any) {
	s.list = append(s.list, Problem{Kind: s.kind, Name: s.name, Field: field, Reason: reason, Message: fmt.Sprintf(format, args...)})
}
