package config_test

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

func configQueue(cfg *config.Config, name string) *config.Queue {
	for i := range cfg.Queues {
		if cfg.Queues[i].Name == name {
			return &cfg.Queues[i]
		}
	}
	return nil
}

func configChannel(cfg *config.Config, name string) *config.Channel {
	for i := range cfg.Channels {
		if cfg.Channels[i].Name == name {
			return &cfg.Channels[i]
		}
	}
	return nil
}

func recorded(lg config.LastGood, kind, name string) *config.GoodObject {
	for i := range lg.Objects {
		if o := &lg.Objects[i]; o.Kind == kind && o.Name == name {
			return o
		}
	}
	return nil
}

// removeQueue takes a queue out of the input, as a schema refusal or a deletion does.
func removeQueue(in *config.Input, name string) {
	var out []chatv1alpha1.ChatQueue
	for _, q := range in.Queues {
		if q.Name != name {
			out = append(out, q)
		}
	}
	in.Queues = out
}

func refusedBySchema(kind, name, field string) config.Problem {
	return config.Problem{Kind: kind, Name: name, Field: field, Reason: chatv1alpha1.ReasonRefusedBySchema,
		Message: "the API server would refuse this object, so it is left out"}
}

func TestCompileKeepingLastGood(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(in *config.Input) config.Problems // returns the schema refusals
		held    []string                               // Kind/name held back at their last good version
		problem string                                 // Kind/name that must still be reported
		check   func(t *testing.T, c config.Compiled)
	}{
		{
			name: "a queue refused by its schema keeps serving, and so does the channel that routes to it",
			mutate: func(in *config.Input) config.Problems {
				removeQueue(in, "first-line")
				return config.Problems{refusedBySchema("ChatQueue", "first-line", "spec.routing.rule")}
			},
			held: []string{"ChatQueue/first-line"}, problem: "ChatQueue/first-line",
			check: func(t *testing.T, c config.Compiled) {
				if q := configQueue(c.Config, "first-line"); q == nil || q.Rule != config.RoutingAvailableAgent {
					t.Errorf("first-line served as %+v, want its last good version", q)
				}
				if configChannel(c.Config, "website") == nil {
					t.Error("the channel of the refused queue went dark")
				}
				if recorded(c.LastGood, "ChatQueue", "first-line") == nil {
					t.Error("the record forgot the refused queue's good version")
				}
			},
		},
		{
			name: "a channel edited to a missing queue serves its last good version, at its generation",
			mutate: func(in *config.Input) config.Problems {
				ch := channelNamed(in, "website")
				ch.Generation = 3
				ch.Spec.QueueRef.Name = "second-line"
				return nil
			},
			held: []string{"Channel/website"}, problem: "Channel/website",
			check: func(t *testing.T, c config.Compiled) {
				if ch := configChannel(c.Config, "website"); ch == nil || ch.Queue != "first-line" {
					t.Errorf("website served as %+v, want its last good version on first-line", ch)
				}
				h := c.LastGood.Held("Channel", "website")
				if h == nil || h.ServedGeneration != 2 || h.Generation != 3 || h.Problems[0].Reason != chatv1alpha1.ReasonQueueNotFound {
					t.Errorf("held back entry %+v, want generation 2 served for 3 refused with QueueNotFound", h)
				}
			},
		},
		{
			name: "a group refused for one member's email keeps every member",
			mutate: func(in *config.Input) config.Problems {
				var groups []chatv1alpha1.OperatorGroup
				for _, g := range in.Groups {
					if g.Name != "first-line" {
						groups = append(groups, g)
					}
				}
				in.Groups = groups
				return config.Problems{refusedBySchema("OperatorGroup", "first-line", "spec.members[0].email")}
			},
			held: []string{"OperatorGroup/first-line"}, problem: "OperatorGroup/first-line",
			check: func(t *testing.T, c config.Compiled) {
				if q := configQueue(c.Config, "first-line"); q == nil || len(q.Operators) != 3 {
					t.Errorf("first-line operators %+v, want the group's three members", q)
				}
			},
		},
		{
			name: "an object deleted is deleted, and forgotten",
			mutate: func(in *config.Input) config.Problems {
				var channels []chatv1alpha1.Channel
				for _, c := range in.Channels {
					if c.Name != "website" {
						channels = append(channels, c)
					}
				}
				in.Channels = channels
				return nil
			},
			check: func(t *testing.T, c config.Compiled) {
				if configChannel(c.Config, "website") != nil {
					t.Error("a deleted channel is served")
				}
				if recorded(c.LastGood, "Channel", "website") != nil {
					t.Error("a deleted channel is remembered")
				}
			},
		},
		{
			name: "a version that fails for a cause outside it is not held back: its good version fails too",
			mutate: func(in *config.Input) config.Problems {
				delete(in.Secrets, "telegram-bot")
				return nil
			},
			problem: "Channel/telegram",
			check: func(t *testing.T, c config.Compiled) {
				if configChannel(c.Config, "telegram") != nil {
					t.Error("a channel without its Secret is served")
				}
				if recorded(c.LastGood, "Channel", "telegram") == nil {
					t.Error("the good version of an object that still exists was forgotten")
				}
			},
		},
		{
			name: "an edit whose good version fails too is compiled as it is",
			mutate: func(in *config.Input) config.Problems {
				in.Secrets["webhook-signing"] = []string{"notifications"}
				queueNamed(in, "accounting").Spec.DisplayName = "Accounting, renamed"
				return nil
			},
			problem: "ChatQueue/accounting",
			check: func(t *testing.T, c config.Compiled) {
				if q := configQueue(c.Config, "accounting"); q == nil || q.DisplayName != "Accounting, renamed" {
					t.Errorf("accounting served as %+v, want the current version: the good one fails as well", q)
				}
			},
		},
		{
			name: "a refused LiveChat serves its last good version",
			mutate: func(in *config.Input) config.Problems {
				in.LiveChat.Spec.DisplayName = "served from the record"
				return config.Problems{refusedBySchema("LiveChat", "support", "spec.defaults.acceptTimeout")}
			},
			held: []string{"LiveChat/support"}, problem: "LiveChat/support",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := sampleInput(t)
			base.LiveChat.Generation = 1
			channelNamed(&base, "website").Generation = 2
			first := config.CompileKeepingLastGood(base, nil, config.LastGood{})
			if len(first.Problems) > 0 || len(first.LastGood.HeldBack) > 0 {
				t.Fatalf("the samples must compile cleanly: %s", first.Problems.Summary(5))
			}
			// The record survives a restart only as bytes.
			last, err := config.ParseLastGood(first.LastGood.Marshal())
			if err != nil {
				t.Fatal(err)
			}

			in := sampleInput(t)
			in.LiveChat.Generation = 1
			channelNamed(&in, "website").Generation = 2
			refused := tt.mutate(&in)
			if tt.name == "a refused LiveChat serves its last good version" {
				// The caller serves the recorded LiveChat in place of the refused one.
				in.LiveChat = in.LiveChat.DeepCopy()
				in.LiveChat.Spec = first.LiveChat.Spec
			}
			got := config.CompileKeepingLastGood(in, refused, last)

			var held []string
			for _, h := range got.LastGood.HeldBack {
				held = append(held, h.Kind+"/"+h.Name)
			}
			if strings.Join(held, ",") != strings.Join(tt.held, ",") {
				t.Errorf("held back %v, want %v", held, tt.held)
			}
			if tt.problem != "" {
				found := false
				for _, p := range got.Problems {
					found = found || p.Kind+"/"+p.Name == tt.problem
				}
				if !found {
					t.Errorf("no problem reported for %s: %s", tt.problem, got.Problems.Summary(5))
				}
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// An object that never compiled has no good version to fall back to: it stays out.
func TestCompileKeepingLastGoodLeavesOutWhatNeverCompiled(t *testing.T) {
	in := sampleInput(t)
	in.Channels = append(in.Channels, chatv1alpha1.Channel{
		ObjectMeta: metav1.ObjectMeta{Name: "lobby", Namespace: "default"},
		Spec: chatv1alpha1.ChannelSpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: "support"},
			QueueRef: chatv1alpha1.LocalObjectReference{Name: "second-line"}, Type: chatv1alpha1.ChannelWebWidget,
			WebWidget: &chatv1alpha1.WebWidgetChannel{}},
	})
	got := config.CompileKeepingLastGood(in, nil, config.LastGood{})
	if configChannel(got.Config, "lobby") != nil {
		t.Error("a channel that never compiled is served")
	}
	if recorded(got.LastGood, "Channel", "lobby") != nil {
		t.Error("a channel that never compiled is recorded as good")
	}
	if len(got.Problems) == 0 {
		t.Error("its problem is not reported")
	}
}

// Keeping the last good version must not write to the caller's objects: the operator
// hands over its cache's.
func TestCompileKeepingLastGoodDoesNotModifyItsInputs(t *testing.T) {
	first := config.CompileKeepingLastGood(sampleInput(t), nil, config.LastGood{})
	in := sampleInput(t)
	channelNamed(&in, "website").Spec.QueueRef.Name = "second-line"
	before := make([]runtime.Object, 0, len(in.Channels))
	for i := range in.Channels {
		before = append(before, in.Channels[i].DeepCopy())
	}
	config.CompileKeepingLastGood(in, nil, first.LastGood)
	for i := range in.Channels {
		if in.Channels[i].Spec.QueueRef.Name != before[i].(*chatv1alpha1.Channel).Spec.QueueRef.Name {
			t.Errorf("channel %s changed", in.Channels[i].Name)
		}
	}
}
