package render

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// comparePlatform compares two compiled configurations of one LiveChat.
func comparePlatform(base, head *config.Config) PlatformReport {
	p := PlatformReport{Namespace: head.LiveChat.Namespace, Name: head.LiveChat.Name, Change: Changed}
	add := func(title string, entries []Entry) {
		if len(entries) > 0 {
			p.Sections = append(p.Sections, Section{Title: title, Entries: entries})
		}
	}
	add("LiveChat", compareLiveChat(base.LiveChat, head.LiveChat))
	add("Queues", diffNamed(base.Queues, head.Queues, func(q config.Queue) string { return q.Name }, describeQueue, compareQueue))
	add("Channels", diffNamed(base.Channels, head.Channels, func(c config.Channel) string { return c.Name }, describeChannel, compareChannel))
	add("People", diffNamed(base.People, head.People, func(p config.Person) string { return p.Name }, describePerson, comparePerson))
	add("Operator groups", diffNamed(base.Groups, head.Groups, func(g config.Group) string { return g.Name }, describeGroup, compareGroup))
	add("Notification policies", diffNamed(base.Policies, head.Policies, func(p config.Policy) string { return p.Name }, describePolicy, comparePolicy))
	add("Secrets", diffNamed(base.Secrets, head.Secrets, func(s config.SecretUse) string { return s.Name }, describeSecret, compareSecret))
	if len(p.Sections) == 0 && !bytes.Equal(base.Marshal(), head.Marshal()) {
		// A setting the review has no words for yet still shows, field by field.
		add("Other settings", []Entry{{Name: head.LiveChat.Name, Change: Changed, Details: fieldChanges("", base, head)}})
	}
	return p
}

// diffNamed compares two lists keyed by name: describe says what an added object
// is, compare what changed in one that is in both.
func diffNamed[T any](base, head []T, name func(T) string, describe func(T) []string, compare func(a, b T) []string) []Entry {
	inBase := map[string]T{}
	for _, b := range base {
		inBase[name(b)] = b
	}
	inHead := map[string]bool{}
	var out []Entry
	for _, h := range head {
		n := name(h)
		inHead[n] = true
		b, ok := inBase[n]
		if !ok {
			out = append(out, Entry{Name: n, Change: Added, Details: describe(h)})
			continue
		}
		if details := compare(b, h); len(details) > 0 {
			out = append(out, Entry{Name: n, Change: Changed, Details: details})
		}
	}
	for _, b := range base {
		if !inHead[name(b)] {
			out = append(out, Entry{Name: name(b), Change: Removed})
		}
	}
	sortEntries(out)
	return out
}

func compareLiveChat(base, head config.LiveChat) []Entry {
	if base.DisplayName == "" && base.Storage.Driver == "" {
		// A new LiveChat: say what it is, not how each setting moved from nothing.
		return []Entry{{Name: head.Name, Change: Added, Details: []string{
			fmt.Sprintf("chat limit per operator %d, accept timeout %s, storage %s", head.SimultaneousChats, duration(head.AcceptTimeout), head.Storage.Driver),
		}}}
	}
	var d []string
	d = append(d, valueLine("display name", base.DisplayName, head.DisplayName)...)
	d = append(d, valueLine("public URL (messenger webhooks and conversation links)", base.PublicURL, head.PublicURL)...)
	d = append(d, valueLine("default chat limit per operator", fmt.Sprint(base.SimultaneousChats), fmt.Sprint(head.SimultaneousChats))...)
	d = append(d, valueLine("default accept timeout", duration(base.AcceptTimeout), duration(head.AcceptTimeout))...)
	d = append(d, listLines("supervisors", base.Supervisors, head.Supervisors)...)
	d = append(d, listLines("supervisor groups", base.SupervisorGroups, head.SupervisorGroups)...)
	d = append(d, fieldChanges("storage", base.Storage, head.Storage)...)
	d = append(d, valueLine("operator tokens Secret", base.AgentAuth.TokensSecret, head.AgentAuth.TokensSecret)...)
	d = append(d, fieldChanges("oidc", base.AgentAuth.OIDC, head.AgentAuth.OIDC)...)
	d = append(d, fieldChanges("console", base.Console, head.Console)...)
	d = append(d, fieldChanges("attachments", base.Attachments, head.Attachments)...)
	d = append(d, valueLine("time zone", base.TimeZone, head.TimeZone)...)
	switch {
	case base.ProcessAPI == nil && head.ProcessAPI != nil:
		d = append(d, "process API enabled")
	case base.ProcessAPI != nil && head.ProcessAPI == nil:
		d = append(d, "process API disabled")
	default:
		d = append(d, fieldChanges("processAPI", base.ProcessAPI, head.ProcessAPI)...)
	}
	if len(d) == 0 {
		return nil
	}
	return []Entry{{Name: head.Name, Change: Changed, Details: d}}
}

// ruleMeaning explains a routing rule in a sentence.
func ruleMeaning(r config.RoutingRule) string {
	switch r {
	case config.RoutingAvailableAgent:
		return "each chat goes to the eligible operator with the fewest chats in progress"
	case config.RoutingAllAgents:
		return "each chat is offered to every eligible operator; the first to accept takes it"
	}
	return string(r)
}

func describeQueue(q config.Queue) []string {
	d := []string{fmt.Sprintf("routing %s (%s), accept timeout %s, completion timeout %s", q.Rule, ruleMeaning(q.Rule), duration(q.AcceptTimeout), orNever(q.CompletionTimeout))}
	d = append(d, "operators: "+orNone(strings.Join(q.Operators, ", ")))
	if len(q.TransferTargets) > 0 {
		d = append(d, "transfers to: "+strings.Join(q.TransferTargets, ", "))
	}
	for _, a := range q.Actions {
		d = append(d, fmt.Sprintf("chat action %s (%q) calls %s", a.Name, a.Caption, a.Webhook.URL))
	}
	return d
}

func compareQueue(base, head config.Queue) []string {
	var d []string
	d = append(d, listLines("operators", base.Operators, head.Operators)...)
	if len(head.Operators) == 0 && len(base.Operators) > 0 {
		d = append(d, "no operators left: new chats will wait unanswered")
	}
	d = append(d, listLines("operator groups", base.OperatorGroups, head.OperatorGroups)...)
	if base.Rule != head.Rule {
		d = append(d, fmt.Sprintf("routing rule: %s → %s (%s)", base.Rule, head.Rule, ruleMeaning(head.Rule)))
	}
	d = append(d, valueLine("accept timeout", duration(base.AcceptTimeout), duration(head.AcceptTimeout))...)
	d = append(d, valueLine("completion timeout", orNever(base.CompletionTimeout), orNever(head.CompletionTimeout))...)
	d = append(d, listLines("transfer targets", base.TransferTargets, head.TransferTargets)...)
	if base.Offline.AcceptMessages != head.Offline.AcceptMessages {
		if head.Offline.AcceptMessages {
			d = append(d, "offline messages are now accepted when no operator is online")
		} else {
			d = append(d, "offline messages are no longer accepted when no operator is online")
		}
	}
	d = append(d, valueLine("offline message", base.Offline.Message, head.Offline.Message)...)
	d = append(d, valueLine("display name", base.DisplayName, head.DisplayName)...)
	for _, e := range diffNamed(base.Actions, head.Actions, func(a config.Action) string { return a.Name },
		func(a config.Action) []string {
			return []string{fmt.Sprintf("(%q) calls %s", a.Caption, a.Webhook.URL)}
		},
		func(a, b config.Action) []string { return fieldChanges("", a, b) }) {
		d = append(d, nested("chat action", e))
	}
	return d
}

// nested writes an entry of a list inside another object as one line.
func nested(kind string, e Entry) string {
	line := fmt.Sprintf("%s %s %s", kind, e.Name, e.Change)
	if len(e.Details) > 0 {
		line += ": " + strings.Join(e.Details, "; ")
	}
	return line
}

func describeChannel(c config.Channel) []string {
	state := "active"
	if !c.Active {
		state = "inactive"
	}
	d := []string{fmt.Sprintf("%s channel, %s, routes to queue %s", c.Type, state, c.Queue)}
	if c.Bot != nil {
		d = append(d, "a bot answers first: "+c.Bot.Webhook.URL)
	}
	return d
}

func compareChannel(base, head config.Channel) []string {
	var d []string
	switch {
	case !base.Active && head.Active:
		d = append(d, "activated: visitors can start chats here")
	case base.Active && !head.Active:
		d = append(d, "deactivated: visitors can no longer start chats here (the history is kept)")
	}
	d = append(d, valueLine("routes to queue", base.Queue, head.Queue)...)
	d = append(d, valueLine("type", string(base.Type), string(head.Type))...)
	d = append(d, valueLine("display name", base.DisplayName, head.DisplayName)...)
	switch {
	case base.Bot == nil && head.Bot != nil:
		d = append(d, "bot added: it answers first and hands over to the queue ("+head.Bot.Webhook.URL+")")
	case base.Bot != nil && head.Bot == nil:
		d = append(d, "bot removed: chats go straight to the queue")
	}
	// Everything else, the provider's settings above all, field by field.
	rest := func(c config.Channel) config.Channel {
		c.Name, c.DisplayName, c.Type, c.Queue, c.Active, c.WebhookPath = "", "", "", "", false, ""
		if base.Bot == nil || head.Bot == nil {
			c.Bot = nil
		}
		return c
	}
	return append(d, fieldChanges("", rest(base), rest(head))...)
}

func describePerson(p config.Person) []string {
	return []string{fmt.Sprintf("in %s; chat limit %d", strings.Join(p.Groups, ", "), p.MaxChats)}
}

func comparePerson(base, head config.Person) []string {
	var d []string
	d = append(d, listLines("groups", base.Groups, head.Groups)...)
	d = append(d, valueLine("chat limit", fmt.Sprint(base.MaxChats), fmt.Sprint(head.MaxChats))...)
	if base.NotificationsEnabled != head.NotificationsEnabled {
		d = append(d, "notifications "+onOff(head.NotificationsEnabled))
	}
	d = append(d, listLines("skills", base.Skills, head.Skills)...)
	d = append(d, valueLine("display name", base.DisplayName, head.DisplayName)...)
	d = append(d, valueLine("email", base.Email, head.Email)...)
	d = append(d, valueLine("phone", base.Phone, head.Phone)...)
	d = append(d, valueLine("push user id", base.PushUserID, head.PushUserID)...)
	d = append(d, valueLine("avatar", base.AvatarURL, head.AvatarURL)...)
	return append(d, fieldChanges("optOuts", base.OptOuts, head.OptOuts)...)
}

func describeGroup(g config.Group) []string {
	return []string{"members: " + orNone(strings.Join(g.Members, ", "))}
}

func compareGroup(base, head config.Group) []string {
	d := listLines("members", base.Members, head.Members)
	if base.NotificationsEnabled != head.NotificationsEnabled {
		d = append(d, "notifications "+onOff(head.NotificationsEnabled))
	}
	return append(d, valueLine("display name", base.DisplayName, head.DisplayName)...)
}

func describeSecret(s config.SecretUse) []string {
	if len(s.Keys) == 0 {
		return []string{"newly referenced: all keys; make sure it exists in the cluster before merging"}
	}
	return []string{"newly referenced, keys: " + strings.Join(s.Keys, ", ") + "; make sure it exists in the cluster before merging"}
}

func compareSecret(base, head config.SecretUse) []string {
	return listLines("keys", base.Keys, head.Keys)
}
