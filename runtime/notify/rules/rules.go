// Package rules decides who is told about an event: it applies a LiveChat's
// NotificationPolicies to one event and returns the deliveries to make. It is pure:
// what it needs to know of the world (who is offline, and since when) it asks a State,
// so the same event, configuration and state always give the same deliveries, with the
// same idempotency keys. That is what makes a replayed event send nothing twice.
//
// Settings combine as Userlike's do: a person (or any of their groups) with
// notifications off hears nothing; a person's opt-out of an event on a delivery kind
// always wins; a policy can mute (suspend, conditions) but never force a person who
// opted out.
package rules

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Event is what happened, as the rules see it.
type Event struct {
	// ID is unique and durable: the deliveries' idempotency keys derive from it.
	ID   string
	Type config.EventType
	At   time.Time
	// Conversation is the chat the event is about; nil for operator events.
	Conversation *store.Conversation
	// Contact is the conversation's contact, when there is one.
	Contact *store.Contact
	// Operator is the operator the event is about (presence changes, assignments).
	Operator string
	// Message is the triggering message's text.
	Message string
	// Channel is the channel the event is about when it is about no conversation
	// (ChannelChanged).
	Channel string
}

// State is what the rules ask of the world now.
type State interface {
	// OperatorOffline reports whether an operator is offline and, if so, since when.
	OperatorOffline(name string) (offline bool, since time.Time)
	// VisitorOffline reports whether a contact has no live connection and, if so,
	// since when.
	VisitorOffline(contactID string) (offline bool, since time.Time)
}

// Recipient is who a delivery goes to.
type Recipient struct {
	// Operator is the person's name; empty for the visitor and for webhooks.
	Operator string
	// Visitor is true for the conversation's contact.
	Visitor    bool
	Name       string
	Email      string
	Phone      string
	PushUserID string
}

// Delivery is one notification to send.
type Delivery struct {
	Policy   string
	Rule     string
	Provider string
	Kind     config.DeliveryKind
	// Template names the policy's template; empty for the event's built-in text.
	Template  string
	Recipient Recipient
	// IdempotencyKey is the same whenever the same event is planned again.
	IdempotencyKey string
}

// KindOf is the delivery kind of a provider.
func KindOf(p config.NotificationProvider) config.DeliveryKind {
	switch {
	case p.SMTP != nil:
		return "Email"
	case p.Twilio != nil:
		return "SMS"
	case p.PusherBeams != nil, p.OneSignal != nil:
		return "Push"
	case p.Webhook != nil:
		return "Webhook"
	case p.Messenger != nil:
		return "Messenger"
	}
	return ""
}

// Plan returns the deliveries every policy of cfg makes for ev, in policy, rule,
// send and recipient order.
func Plan(cfg *config.Config, ev Event, st State) []Delivery {
	p := planner{cfg: cfg, ev: ev, st: st, people: map[string]*config.Person{}}
	for i := range cfg.People {
		p.people[cfg.People[i].Name] = &cfg.People[i]
	}
	var out []Delivery
	for i := range cfg.Policies {
		pol := &cfg.Policies[i]
		if pol.Suspend {
			continue
		}
		for j := range pol.Rules {
			out = append(out, p.rule(pol, &pol.Rules[j])...)
		}
	}
	return out
}

type planner struct {
	cfg    *config.Config
	ev     Event
	st     State
	people map[string]*config.Person
}

// rule plans one rule's deliveries.
func (p *planner) rule(pol *config.Policy, r *config.Rule) []Delivery {
	c := p.ev.Conversation
	switch {
	case !slices.Contains(r.Events, p.ev.Type):
		return nil
	case r.When.SkipIfBotAnswered && c != nil && c.BotAnswered:
		return nil
	case len(r.When.Queues) > 0 && (c == nil || !slices.Contains(r.When.Queues, c.Queue)):
		return nil
	case len(r.When.Channels) > 0 && !slices.Contains(r.When.Channels, p.channel()):
		return nil
	}
	recipients := p.recipients(r.Recipients)
	var out []Delivery
	for _, send := range r.Send {
		prov := provider(pol, send.Provider)
		if prov == nil {
			continue // left out of the configuration: its problem is reported there
		}
		kind := KindOf(*prov)
		d := Delivery{Policy: pol.Name, Rule: r.Name, Provider: send.Provider, Kind: kind, Template: send.Template}
		if kind == "Webhook" {
			// A webhook is one call per event, whoever the rule names, as long as
			// someone is left to tell.
			if slices.ContainsFunc(recipients, func(rc Recipient) bool { return p.allowed(r, rc, kind) }) {
				d.IdempotencyKey = p.key(d, "")
				out = append(out, d)
			}
			continue
		}
		for _, rc := range recipients {
			if !p.allowed(r, rc, kind) || !reachable(rc, kind) {
				continue
			}
			d.Recipient = rc
			d.IdempotencyKey = p.key(d, p.session(r, rc))
			out = append(out, d)
		}
	}
	return out
}

func provider(pol *config.Policy, name string) *config.NotificationProvider {
	for i := range pol.Providers {
		if pol.Providers[i].Name == name {
			return &pol.Providers[i]
		}
	}
	return nil
}

// allowed applies a recipient's own settings and the rule's offline condition.
func (p *planner) allowed(r *config.Rule, rc Recipient, kind config.DeliveryKind) bool {
	if rc.Visitor {
		if !r.When.RecipientOffline {
			return true
		}
		offline, _ := p.st.VisitorOffline(p.contactID())
		return offline
	}
	person := p.people[rc.Operator]
	if person == nil || !person.NotificationsEnabled || optedOut(person, p.ev.Type, kind) {
		return false
	}
	if r.When.RecipientOffline {
		offline, _ := p.st.OperatorOffline(rc.Operator)
		return offline
	}
	return true
}

// optedOut reports whether a person opted out of the event on the kind; an opt-out
// with no events covers every event, one with no kinds every kind.
func optedOut(person *config.Person, ev config.EventType, kind config.DeliveryKind) bool {
	for _, o := range person.OptOuts {
		if (len(o.Events) == 0 || slices.Contains(o.Events, ev)) && (len(o.Via) == 0 || slices.Contains(o.Via, kind)) {
			return true
		}
	}
	return false
}

// reachable reports whether the recipient has an address for the kind.
func reachable(rc Recipient, kind config.DeliveryKind) bool {
	switch kind {
	case "Email":
		return rc.Email != ""
	case "SMS":
		return rc.Phone != ""
	case "Push":
		return rc.PushUserID != ""
	case "Messenger":
		return rc.Visitor
	}
	return false
}

// channel is the channel the event is about: its conversation's, or its own.
func (p *planner) channel() string {
	if p.ev.Conversation != nil {
		return p.ev.Conversation.Channel
	}
	return p.ev.Channel
}

func (p *planner) contactID() string {
	if p.ev.Conversation != nil {
		return p.ev.Conversation.ContactID
	}
	return ""
}

// session names the recipient's offline session for a rule that tells them once per
// session: the moment they went offline. Deliveries of one session share their
// idempotency key, so the outbox keeps only the first.
func (p *planner) session(r *config.Rule, rc Recipient) string {
	if !r.When.OncePerOfflineSession {
		return ""
	}
	var since time.Time
	if rc.Visitor {
		_, since = p.st.VisitorOffline(p.contactID())
	} else {
		_, since = p.st.OperatorOffline(rc.Operator)
	}
	return "session:" + strconv.FormatInt(since.UnixMilli(), 10)
}

// key is a delivery's idempotency key: from the event, the rule, the recipient and
// the provider; within an offline session, from the session instead of the event.
func (p *planner) key(d Delivery, session string) string {
	who := "webhook"
	switch {
	case d.Recipient.Visitor:
		who = "visitor:" + p.contactID()
	case d.Recipient.Operator != "":
		who = "operator:" + d.Recipient.Operator
	}
	what := "event:" + p.ev.ID
	if session != "" {
		what = session
	}
	return strings.Join([]string{"notify", d.Policy, d.Rule, who, d.Provider, what}, "/")
}
