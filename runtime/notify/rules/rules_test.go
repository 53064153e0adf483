package rules_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/rules"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// world is a State: who is offline, and since when.
type world struct {
	offline map[string]time.Time // operator name, or "visitor"
}

func (w world) OperatorOffline(name string) (bool, time.Time) {
	since, ok := w.offline[name]
	return ok, since
}

func (w world) VisitorOffline(string) (bool, time.Time) {
	since, ok := w.offline["visitor"]
	return ok, since
}

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

// offline marks these people offline since t0.
func offline(names ...string) world {
	w := world{offline: map[string]time.Time{}}
	for _, n := range names {
		w.offline[n] = t0
	}
	return w
}

func sampleConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func chat(state store.State, operator, lastOperator string) *store.Conversation {
	return &store.Conversation{ID: "c1", Channel: "website", Queue: "first-line", ContactID: "k1", State: state,
		Operator: operator, LastOperator: lastOperator}
}

var vera = &store.Contact{ID: "k1", Channel: "website", Name: "Vera", Email: "vera@example.org"}

// summary writes deliveries as "provider→recipient", in order.
func summary(ds []rules.Delivery) []string {
	var out []string
	for _, d := range ds {
		who := d.Recipient.Operator
		switch {
		case d.Recipient.Visitor:
			who = "visitor"
		case d.Kind == "Webhook":
			who = "hook"
		}
		out = append(out, d.Provider+"→"+who)
	}
	return out
}

// TestSupportBoardLogic drives the sample policy, which writes Support Board's rules
// out: a first message goes to the assignee, else the queue's operators, if offline;
// later messages to the last operator if offline; nothing when the bot answered; the
// visitor only when offline, once per offline session.
func TestSupportBoardLogic(t *testing.T) {
	botAnswered := chat(store.StateQueued, "", "")
	botAnswered.BotAnswered = true
	tests := []struct {
		name  string
		event config.EventType
		conv  *store.Conversation
		world world
		want  []string
	}{
		{"first message, unassigned: the queue's offline operators", "FirstMessageReceived", chat(store.StateQueued, "", ""),
			offline("alice", "carol"), []string{"email→alice", "email→carol"}},
		{"first message, unassigned, everyone online: nobody", "FirstMessageReceived", chat(store.StateQueued, "", ""),
			offline(), nil},
		{"first message, assigned: only the assignee, if offline", "FirstMessageReceived", chat(store.StateAssigned, "bob", ""),
			offline("alice", "bob", "carol"), []string{"email→bob"}},
		{"first message, assignee online: nobody, not the queue", "FirstMessageReceived", chat(store.StateActive, "bob", "bob"),
			offline("alice", "carol"), nil},
		{"first message the bot answered: nothing", "FirstMessageReceived", botAnswered, offline("alice", "bob", "carol"), nil},
		{"later message: the last operator, if offline, by email and SMS", "MessageReceived", chat(store.StateActive, "alice", "alice"),
			offline("alice"), []string{"email→alice", "sms→alice"}},
		{"later message: bob opted out of SMS for messages", "MessageReceived", chat(store.StateActive, "bob", "bob"),
			offline("bob"), []string{"email→bob"}},
		{"later message, last operator online: nothing", "MessageReceived", chat(store.StateActive, "alice", "alice"),
			offline("bob"), nil},
		{"operator's answer, visitor offline: the visitor", "MessageSent", chat(store.StateActive, "alice", "alice"),
			offline("visitor"), []string{"email→visitor"}},
		{"operator's answer, visitor online: nothing", "MessageSent", chat(store.StateActive, "alice", "alice"),
			offline("alice"), nil},
		{"offline message: every queue operator and the team webhook once", "OfflineMessage", chat(store.StateMissed, "", ""),
			offline(), []string{"email→alice", "email→bob", "email→carol", "team-webhook→hook"}},
		{"chat started: the activity feed webhook once", "ChatStarted", chat(store.StateQueued, "", ""),
			offline(), []string{"team-webhook→hook"}},
		{"an event no rule names", "OperatorOnline", nil, offline(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sampleConfig(t)
			ds := rules.Plan(cfg, rules.Event{ID: "e1", Type: tt.event, At: t0, Conversation: tt.conv, Contact: vera}, tt.world)
			if got := summary(ds); !slices.Equal(got, tt.want) {
				t.Fatalf("deliveries %v, want %v", got, tt.want)
			}
		})
	}
}

// TestOncePerOfflineSession: the visitor's replies while offline share one key per
// offline session, so the outbox sends the first only; a new session sends again.
func TestOncePerOfflineSession(t *testing.T) {
	cfg := sampleConfig(t)
	conv := chat(store.StateActive, "alice", "alice")
	plan := func(eventID string, w world) string {
		ds := rules.Plan(cfg, rules.Event{ID: eventID, Type: "MessageSent", Conversation: conv, Contact: vera}, w)
		if len(ds) != 1 {
			t.Fatalf("deliveries %v", summary(ds))
		}
		return ds[0].IdempotencyKey
	}
	first, second := plan("e1", offline("visitor")), plan("e2", offline("visitor"))
	if first != second {
		t.Fatalf("two replies in one offline session have keys %q and %q: the visitor would get both", first, second)
	}
	later := world{offline: map[string]time.Time{"visitor": t0.Add(time.Hour)}}
	if plan("e3", later) == first {
		t.Fatal("a new offline session has the old session's key: the visitor would never hear again")
	}
	// Without once-per-session, every event gets its own key.
	for i := range cfg.Policies[0].Rules {
		if r := &cfg.Policies[0].Rules[i]; r.Name == "visitor-replies" {
			r.When.OncePerOfflineSession = false
		}
	}
	if plan("e1", offline("visitor")) == plan("e2", offline("visitor")) {
		t.Fatal("two events share a key without once-per-session")
	}
}

// TestKeysAreStable: planning the same event again gives the same keys, and keys
// differ by event, rule, recipient and provider.
func TestKeysAreStable(t *testing.T) {
	cfg := sampleConfig(t)
	ev := rules.Event{ID: "e1", Type: "OfflineMessage", Conversation: chat(store.StateMissed, "", ""), Contact: vera}
	a, b := rules.Plan(cfg, ev, offline()), rules.Plan(cfg, ev, offline())
	keys := map[string]bool{}
	for i := range a {
		if a[i].IdempotencyKey != b[i].IdempotencyKey {
			t.Fatalf("replanning changed key %q to %q", a[i].IdempotencyKey, b[i].IdempotencyKey)
		}
		if keys[a[i].IdempotencyKey] {
			t.Fatalf("two deliveries share key %q", a[i].IdempotencyKey)
		}
		keys[a[i].IdempotencyKey] = true
	}
	ev.ID = "e2"
	for _, d := range rules.Plan(cfg, ev, offline()) {
		if keys[d.IdempotencyKey] {
			t.Fatalf("another event reuses key %q", d.IdempotencyKey)
		}
	}
}

// TestSettingsCombineAsUserlikes: a person's (or group's) notifications off silence
// them; an opt-out of the event on the kind always wins; the policy may mute (suspend)
// but never force someone who opted out. Every combination.
func TestSettingsCombineAsUserlikes(t *testing.T) {
	type optOut struct{ events, via bool } // whether the opt-out names this event / this kind
	for _, enabled := range []bool{true, false} {
		for _, opt := range []*optOut{nil, {true, true}, {true, false}, {false, true}, {false, false}} {
			for _, suspended := range []bool{false, true} {
				for _, emptyLists := range []bool{false, true} {
					name := fmt.Sprintf("enabled=%v optOut=%v suspended=%v emptyListsMeanAll=%v", enabled, opt, suspended, emptyLists)
					t.Run(name, func(t *testing.T) {
						cfg := sampleConfig(t)
						cfg.Policies[0].Suspend = suspended
						for i := range cfg.People {
							p := &cfg.People[i]
							if p.Name != "alice" {
								continue
							}
							p.NotificationsEnabled = enabled
							p.OptOuts = nil
							if opt != nil {
								o := config.NotificationOptOut{Events: []config.EventType{"ChatStarted"}, Via: []config.DeliveryKind{"Push"}}
								if opt.events {
									o.Events = []config.EventType{"MessageReceived"}
								}
								if opt.via {
									o.Via = []config.DeliveryKind{"SMS"}
								}
								if emptyLists && opt.events {
									o.Events = nil // no events named: every event
								}
								p.OptOuts = []config.NotificationOptOut{o}
							}
						}
						ds := rules.Plan(cfg, rules.Event{ID: "e", Type: "MessageReceived", Conversation: chat(store.StateActive, "alice", "alice"),
							Contact: vera}, offline("alice"))
						optedOutOfSMS := opt != nil && opt.events && opt.via
						var want []string
						switch {
						case suspended, !enabled:
						case optedOutOfSMS:
							want = []string{"email→alice"}
						default:
							want = []string{"email→alice", "sms→alice"}
						}
						if got := summary(ds); !slices.Equal(got, want) {
							t.Fatalf("deliveries %v, want %v", got, want)
						}
					})
				}
			}
		}
	}
}

// TestRuleFilters: queue and channel filters, groups and operators named by name, and
// recipients without an address for the kind.
func TestRuleFilters(t *testing.T) {
	base := func(t *testing.T) *config.Config {
		cfg := sampleConfig(t)
		cfg.Policies[0].Rules = []config.Rule{{Name: "r", Events: []config.EventType{"ChatStarted"},
			Recipients: config.Recipients{Strategy: config.RecipientsAll},
			Send:       []config.SendSpec{{Provider: "email"}, {Provider: "sms"}}}}
		return cfg
	}
	tests := []struct {
		name   string
		change func(r *config.Rule)
		want   []string
	}{
		{"named operators, by kind's address", func(r *config.Rule) { r.Recipients.Operators = []string{"bob", "erin"} },
			[]string{"email→bob", "email→erin", "sms→erin"}},
		{"a group's members", func(r *config.Rule) { r.Recipients.Groups = []string{"experts"} },
			[]string{"email→dave", "email→erin", "sms→erin"}},
		{"a queue filter that matches", func(r *config.Rule) {
			r.Recipients.Operators, r.When.Queues = []string{"carol"}, []string{"first-line"}
		}, []string{"email→carol"}},
		{"a queue filter that does not", func(r *config.Rule) {
			r.Recipients.Operators, r.When.Queues = []string{"carol"}, []string{"accounting"}
		}, nil},
		{"a channel filter that does not", func(r *config.Rule) {
			r.Recipients.Operators, r.When.Channels = []string{"carol"}, []string{"telegram"}
		}, nil},
		{"offline operators", func(r *config.Rule) { r.Recipients.Kinds = []config.RecipientKind{"OfflineOperators"} },
			[]string{"email→bob", "email→dave"}},
		{"everyone once, though named twice", func(r *config.Rule) {
			r.Recipients.Kinds = []config.RecipientKind{"Supervisors"}
			r.Recipients.Operators = []string{"sam"}
		}, []string{"email→sam", "sms→sam"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base(t)
			tt.change(&cfg.Policies[0].Rules[0])
			ds := rules.Plan(cfg, rules.Event{ID: "e", Type: "ChatStarted", Conversation: chat(store.StateQueued, "", ""), Contact: vera},
				offline("bob", "dave"))
			if got := summary(ds); !slices.Equal(got, tt.want) {
				t.Fatalf("deliveries %v, want %v", got, tt.want)
			}
			for _, d := range ds {
				if !strings.HasPrefix(d.IdempotencyKey, "notify/support-notifications/r/") {
					t.Fatalf("key %q", d.IdempotencyKey)
				}
			}
		})
	}
}
