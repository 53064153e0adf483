package render

import (
	"fmt"
	"sort"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

func describePolicy(p config.Policy) []string {
	var d []string
	if p.Suspend {
		d = append(d, "suspended: sends nothing")
	}
	for _, r := range p.Rules {
		d = append(d, "rule "+r.Name+": "+describeRule(r))
	}
	for _, pr := range p.Providers {
		d = append(d, fmt.Sprintf("provider %s (%s)", pr.Name, providerKind(pr)))
	}
	return d
}

// describeRule says a rule in a sentence: on which events, who, through what.
func describeRule(r config.Rule) string {
	var sends []string
	for _, s := range r.Send {
		if s.Template != "" {
			sends = append(sends, s.Provider+" (template "+s.Template+")")
		} else {
			sends = append(sends, s.Provider)
		}
	}
	var who []string
	for _, k := range r.Recipients.Kinds {
		who = append(who, string(k))
	}
	who = append(who, prefixed("group ", r.Recipients.Groups)...)
	who = append(who, r.Recipients.Operators...)
	whom := strings.Join(who, ", ")
	if r.Recipients.Strategy == config.RecipientsFirstMatch && len(who) > 1 {
		whom = "the first of " + whom + " that names anyone"
	}
	line := fmt.Sprintf("on %s tell %s via %s", joinAny(r.Events), whom, strings.Join(sends, ", "))
	var when []string
	if r.When.RecipientOffline {
		when = append(when, "recipient offline")
	}
	if r.When.OncePerOfflineSession {
		when = append(when, "once per offline session")
	}
	if r.When.SkipIfBotAnswered {
		when = append(when, "not when the bot answered")
	}
	if len(r.When.Queues) > 0 {
		when = append(when, "queues "+strings.Join(r.When.Queues, ", "))
	}
	if len(r.When.Channels) > 0 {
		when = append(when, "channels "+strings.Join(r.When.Channels, ", "))
	}
	if len(when) > 0 {
		line += " (" + strings.Join(when, "; ") + ")"
	}
	return line
}

func joinAny[T ~string](vs []T) string {
	s := make([]string, len(vs))
	for i, v := range vs {
		s[i] = string(v)
	}
	return strings.Join(s, ", ")
}

func prefixed(p string, vs []string) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = p + v
	}
	return out
}

func providerKind(p config.NotificationProvider) string {
	switch {
	case p.SMTP != nil:
		return "email via SMTP " + p.SMTP.Host
	case p.Twilio != nil:
		return "SMS via Twilio"
	case p.PusherBeams != nil:
		return "push via Pusher Beams"
	case p.OneSignal != nil:
		return "push via OneSignal"
	case p.Webhook != nil:
		return "webhook " + p.Webhook.URL
	case p.Messenger != nil:
		return "the visitor's messenger"
	}
	return "unknown"
}

func comparePolicy(base, head config.Policy) []string {
	var d []string
	switch {
	case !base.Suspend && head.Suspend:
		d = append(d, "suspended: sends nothing until resumed")
	case base.Suspend && !head.Suspend:
		d = append(d, "resumed: sends notifications again")
	}
	for _, e := range diffNamed(base.Rules, head.Rules, func(r config.Rule) string { return r.Name },
		func(r config.Rule) []string { return []string{describeRule(r)} }, compareRule) {
		d = append(d, nested("rule", e))
	}
	for _, e := range diffNamed(base.Providers, head.Providers, func(p config.NotificationProvider) string { return p.Name },
		func(p config.NotificationProvider) []string { return []string{providerKind(p)} },
		func(a, b config.NotificationProvider) []string { return fieldChanges("", a, b) }) {
		d = append(d, nested("provider", e))
	}
	for _, e := range diffNamed(base.Templates, head.Templates, func(t config.Template) string { return t.Name },
		func(config.Template) []string { return nil }, compareTemplate) {
		d = append(d, nested("template", e))
	}
	d = append(d, valueLine("digest window", orNever(base.BatchWindow), orNever(head.BatchWindow))...)
	d = append(d, fieldChanges("retry", base.Retry, head.Retry)...)
	return append(d, fieldChanges("onError", base.OnError, head.OnError)...)
}

func compareRule(base, head config.Rule) []string {
	var d []string
	d = append(d, listLines("events", base.Events, head.Events)...)
	d = append(d, listLines("recipients", base.Recipients.Kinds, head.Recipients.Kinds)...)
	d = append(d, listLines("recipient groups", base.Recipients.Groups, head.Recipients.Groups)...)
	d = append(d, listLines("recipient operators", base.Recipients.Operators, head.Recipients.Operators)...)
	d = append(d, valueLine("recipient strategy", string(base.Recipients.Strategy), string(head.Recipients.Strategy))...)
	d = append(d, fieldChanges("when", base.When, head.When)...)
	return append(d, fieldChanges("send", base.Send, head.Send)...)
}

// compareTemplate names what changed; bodies are long, so their text is left to the
// file diff.
func compareTemplate(base, head config.Template) []string {
	var d []string
	d = append(d, valueLine("subject", base.Subject, head.Subject)...)
	if base.Text != head.Text {
		d = append(d, "text changed")
	}
	if base.HTML != head.HTML {
		d = append(d, "HTML changed")
	}
	return d
}

// sortEntries orders entries by name, then added before changed before removed.
func sortEntries(es []Entry) {
	rank := map[Change]int{Added: 0, Changed: 1, Removed: 2}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].Name != es[j].Name {
			return es[i].Name < es[j].Name
		}
		return rank[es[i].Change] < rank[es[j].Change]
	})
}
