package config_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

func queueNamed(in *config.Input, name string) *chatv1alpha1.ChatQueue {
	for i := range in.Queues {
		if in.Queues[i].Name == name {
			return &in.Queues[i]
		}
	}
	panic("no queue " + name)
}

func channelNamed(in *config.Input, name string) *chatv1alpha1.Channel {
	for i := range in.Channels {
		if in.Channels[i].Name == name {
			return &in.Channels[i]
		}
	}
	panic("no channel " + name)
}

func groupNamed(in *config.Input, name string) *chatv1alpha1.OperatorGroup {
	for i := range in.Groups {
		if in.Groups[i].Name == name {
			return &in.Groups[i]
		}
	}
	panic("no group " + name)
}

func policy(in *config.Input) *chatv1alpha1.NotificationPolicy { return &in.Policies[0] }

func otherLiveChatQueue() chatv1alpha1.ChatQueue {
	return chatv1alpha1.ChatQueue{
		ObjectMeta: metav1.ObjectMeta{Name: "sales", Namespace: "default"},
		Spec: chatv1alpha1.ChatQueueSpec{LiveChatRef: chatv1alpha1.LiveChatReference{Name: "shop"},
			OperatorGroups: []chatv1alpha1.ObjectName{"first-line"}},
	}
}

func hasChannel(cfg *config.Config, name string) bool {
	for _, c := range cfg.Channels {
		if c.Name == name {
			return true
		}
	}
	return false
}

func TestCompileProblems(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(in *config.Input)
		want    config.Problem // Kind, Name, Field and Reason must match
		wantMsg string
		check   func(t *testing.T, cfg *config.Config)
	}{
		{
			name: "queue names a group that does not exist",
			mutate: func(in *config.Input) {
				queueNamed(in, "accounting").Spec.OperatorGroups = []chatv1alpha1.ObjectName{"auditors"}
			},
			want:    config.Problem{Kind: "ChatQueue", Name: "accounting", Field: "spec.operatorGroups[0]", Reason: "OperatorGroupNotFound"},
			wantMsg: `OperatorGroup "auditors" does not exist: create it, or remove it from the list`,
		},
		{
			name:    "queue with no operators",
			mutate:  func(in *config.Input) { groupNamed(in, "experts").Spec.Members = nil },
			want:    config.Problem{Kind: "ChatQueue", Name: "accounting", Field: "spec.operatorGroups", Reason: "NoOperators"},
			wantMsg: "the queue has no operators, so its chats would wait forever",
		},
		{
			name: "channel whose queue belongs to another LiveChat",
			mutate: func(in *config.Input) {
				in.Queues = append(in.Queues, otherLiveChatQueue())
				channelNamed(in, "telegram").Spec.QueueRef.Name = "sales"
			},
			want:    config.Problem{Kind: "Channel", Name: "telegram", Field: "spec.queueRef.name", Reason: "InvalidReference"},
			wantMsg: `ChatQueue "sales" belongs to LiveChat "shop", not "support": point spec.queueRef at a queue of LiveChat "support"`,
			check: func(t *testing.T, cfg *config.Config) {
				if hasChannel(cfg, "telegram") {
					t.Error("the broken channel is in the config; it must be left out")
				}
				if !hasChannel(cfg, "website") {
					t.Error("the healthy channels must stay in the config")
				}
			},
		},
		{
			name:    "channel whose queue does not exist",
			mutate:  func(in *config.Input) { channelNamed(in, "website").Spec.QueueRef.Name = "second-line" },
			want:    config.Problem{Kind: "Channel", Name: "website", Field: "spec.queueRef.name", Reason: "QueueNotFound"},
			wantMsg: `ChatQueue "second-line" does not exist`,
		},
		{
			name:    "channel Secret missing",
			mutate:  func(in *config.Input) { delete(in.Secrets, "telegram-bot") },
			want:    config.Problem{Kind: "Channel", Name: "telegram", Field: "spec.telegram.botTokenSecretRef", Reason: "SecretNotFound"},
			wantMsg: `Secret "telegram-bot" does not exist: create it with the key "token"`,
			check: func(t *testing.T, cfg *config.Config) {
				if hasChannel(cfg, "telegram") {
					t.Error("a channel without its token is in the config")
				}
			},
		},
		{
			name:    "channel Secret key missing",
			mutate:  func(in *config.Input) { in.Secrets["telegram-bot"] = []string{"tokn"} },
			want:    config.Problem{Kind: "Channel", Name: "telegram", Field: "spec.telegram.botTokenSecretRef", Reason: "SecretKeyNotFound"},
			wantMsg: `Secret "telegram-bot" has no key "token": add it, or correct the key`,
		},
		{
			name: "process API token Secret key missing",
			mutate: func(in *config.Input) {
				in.LiveChat.Spec.ProcessAPI = &chatv1alpha1.ProcessAPISpec{
					TokenSecretRef: chatv1alpha1.SecretKeyReference{Name: "telegram-bot", Key: "process-token"}}
			},
			want:    config.Problem{Kind: "LiveChat", Name: "support", Field: "spec.processAPI.tokenSecretRef", Reason: "SecretKeyNotFound"},
			wantMsg: `Secret "telegram-bot" has no key "process-token": add it, or correct the key`,
			check: func(t *testing.T, cfg *config.Config) {
				want := config.SecretKeyReference{Name: "telegram-bot", Key: "process-token"}
				if p := cfg.LiveChat.ProcessAPI; p == nil || p.TokenSecret != want {
					t.Errorf("processAPI compiled to %+v, want its token Secret %+v", p, want)
				}
				for _, s := range cfg.Secrets {
					if s.Name == want.Name && slices.Contains(s.Keys, want.Key) {
						return
					}
				}
				t.Errorf("the runtime is not told to read the process API token: secrets %+v", cfg.Secrets)
			},
		},
		{
			name:    "unknown merge field in a template",
			mutate:  func(in *config.Input) { policy(in).Spec.Templates[1].Text += " {visitor_name}" },
			want:    config.Problem{Kind: "NotificationPolicy", Name: "support-notifications", Field: "spec.templates[1]", Reason: "UnknownMergeField"},
			wantMsg: `template "operator-message" uses {visitor_name}, which is not a merge field: use one of {analytics_day}, {attachments}, `,
		},
		{
			name: "operator without a token",
			mutate: func(in *config.Input) {
				keys := in.Secrets["support-operator-tokens"]
				in.Secrets["support-operator-tokens"] = keys[:0:0]
				for _, k := range keys {
					if k != "erin" {
						in.Secrets["support-operator-tokens"] = append(in.Secrets["support-operator-tokens"], k)
					}
				}
			},
			want:    config.Problem{Kind: "LiveChat", Name: "support", Field: "spec.agentAuth.tokensSecretRef", Reason: "OperatorWithoutToken"},
			wantMsg: `"erin" (OperatorGroup experts) cannot sign in: add the key "erin" with their token to Secret "support-operator-tokens"`,
		},
		{
			name: "transfer target of another LiveChat",
			mutate: func(in *config.Input) {
				in.Queues = append(in.Queues, otherLiveChatQueue())
				queueNamed(in, "first-line").Spec.TransferTargets = []chatv1alpha1.ObjectName{"sales"}
			},
			want:    config.Problem{Kind: "ChatQueue", Name: "first-line", Field: "spec.transferTargets[0]", Reason: "InvalidReference"},
			wantMsg: "chats can only move between queues of one LiveChat",
			check: func(t *testing.T, cfg *config.Config) {
				for _, q := range cfg.Queues {
					if q.Name == "first-line" && len(q.TransferTargets) != 0 {
						t.Errorf("transfer targets = %v, want the foreign queue left out", q.TransferTargets)
					}
				}
			},
		},
		{
			name:    "Telegram without a public URL",
			mutate:  func(in *config.Input) { in.LiveChat.Spec.PublicURL = "" },
			want:    config.Problem{Kind: "Channel", Name: "telegram", Field: "spec.type", Reason: "PublicURLRequired"},
			wantMsg: `Telegram delivers messages to a webhook, but LiveChat "support" has no spec.publicURL`,
		},
		{
			name: "recipient operator who is nobody here",
			mutate: func(in *config.Input) {
				policy(in).Spec.Rules[0].Recipients.Operators = []chatv1alpha1.OperatorName{"zoe"}
			},
			want:    config.Problem{Kind: "NotificationPolicy", Name: "support-notifications", Field: "spec.rules[0].recipients.operators[0]", Reason: "InvalidRecipients"},
			wantMsg: `"zoe" is not a member of any OperatorGroup that LiveChat "support" uses`,
		},
		{
			name: "messenger provider sending to operators",
			mutate: func(in *config.Input) {
				p := policy(in)
				p.Spec.Providers = append(p.Spec.Providers, chatv1alpha1.NotificationProvider{Name: "chat", Messenger: &chatv1alpha1.MessengerProvider{}})
				p.Spec.Rules[0].Send = append(p.Spec.Rules[0].Send, chatv1alpha1.SendSpec{Provider: "chat"})
			},
			want:    config.Problem{Kind: "NotificationPolicy", Name: "support-notifications", Field: "spec.rules[0].send[1].provider", Reason: "InvalidRecipients"},
			wantMsg: `provider "chat" writes to visitors over their channel, but the recipients name operators`,
		},
		{
			name: "rule limited to a queue of another LiveChat",
			mutate: func(in *config.Input) {
				in.Queues = append(in.Queues, otherLiveChatQueue())
				policy(in).Spec.Rules[0].When.Queues = []chatv1alpha1.ObjectName{"sales"}
			},
			want:    config.Problem{Kind: "NotificationPolicy", Name: "support-notifications", Field: "spec.rules[0].when.queues[0]", Reason: "QueueNotFound"},
			wantMsg: `LiveChat "support" has no ChatQueue "sales"`,
		},
		{
			name:    "supervisor group missing",
			mutate:  func(in *config.Input) { in.LiveChat.Spec.SupervisorGroups = []chatv1alpha1.ObjectName{"managers"} },
			want:    config.Problem{Kind: "LiveChat", Name: "support", Field: "spec.supervisorGroups[0]", Reason: "OperatorGroupNotFound"},
			wantMsg: `OperatorGroup "managers" does not exist`,
		},
		{
			name:    "rule sends through an undefined provider (caught offline, where no CEL runs)",
			mutate:  func(in *config.Input) { policy(in).Spec.Rules[0].Send[0].Provider = "pager" },
			want:    config.Problem{Kind: "NotificationPolicy", Name: "support-notifications", Field: "spec.rules[0].send[0].provider", Reason: "InvalidReference"},
			wantMsg: `provider "pager" is not defined in spec.providers`,
		},
		{
			name:    "provider Secret missing",
			mutate:  func(in *config.Input) { delete(in.Secrets, "twilio") },
			want:    config.Problem{Kind: "NotificationPolicy", Name: "support-notifications", Field: "spec.providers[1].twilio.authTokenSecretRef", Reason: "SecretNotFound"},
			wantMsg: `Secret "twilio" does not exist`,
			check: func(t *testing.T, cfg *config.Config) {
				p := cfg.Policies[0]
				for _, pr := range p.Providers {
					if pr.Name == "sms" {
						t.Error("the provider without its Secret is in the config")
					}
				}
				for _, r := range p.Rules {
					for _, s := range r.Send {
						if s.Provider == "sms" {
							t.Errorf("rule %s still sends through the broken provider", r.Name)
						}
					}
				}
			},
		},
		{
			name:    "queue action Secret missing",
			mutate:  func(in *config.Input) { in.Secrets["webhook-signing"] = []string{"notifications"} },
			want:    config.Problem{Kind: "ChatQueue", Name: "accounting", Field: "spec.actions[0].webhook.secretRef", Reason: "SecretKeyNotFound"},
			wantMsg: `Secret "webhook-signing" has no key "actions"`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := sampleInput(t)
			tt.mutate(&in)
			cfg, problems := config.Compile(in)
			var found bool
			for _, p := range problems {
				if p.Kind == tt.want.Kind && p.Name == tt.want.Name && p.Field == tt.want.Field && p.Reason == tt.want.Reason &&
					strings.Contains(p.Message, tt.wantMsg) {
					found = true
				}
			}
			if !found {
				t.Fatalf("want a problem %s %s %s (%s) containing %q; got:\n%s", tt.want.Kind, tt.want.Name, tt.want.Field,
					tt.want.Reason, tt.wantMsg, problems.Summary(20))
			}
			if tt.check != nil {
				tt.check(t, cfg)
			}
		})
	}
}

func TestCompileWithoutSecretsChecksNoSecrets(t *testing.T) {
	in := sampleInput(t)
	in.Secrets = nil
	_, problems := config.Compile(in)
	if len(problems) > 0 {
		t.Fatalf("with Secrets unknown, no Secret problems may be reported; got:\n%s", problems.Summary(20))
	}
}

func TestProblemsAreSortedAndSummarised(t *testing.T) {
	in := sampleInput(t)
	in.Secrets = map[string][]string{}
	_, problems := config.Compile(in)
	if len(problems) < 5 {
		t.Fatalf("want many problems with every Secret missing, got %d", len(problems))
	}
	for i := 1; i < len(problems); i++ {
		a, b := problems[i-1], problems[i]
		if a.Kind > b.Kind || (a.Kind == b.Kind && a.Name > b.Name) {
			t.Fatalf("problems not sorted: %v before %v", a, b)
		}
	}
	s := problems.Summary(2)
	if !strings.HasSuffix(s, fmt.Sprintf("and %d more", len(problems)-2)) {
		t.Errorf("summary %q does not say how many more", s)
	}
}
