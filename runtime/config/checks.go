package config

import (
	"fmt"
	"strings"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Lookup finds the objects and Secrets that switchboard objects reference, all in one
// namespace. The operator implements it over its cache; Compile over its inputs.
type Lookup interface {
	LiveChat(name string) *chatv1alpha1.LiveChat
	Queue(name string) *chatv1alpha1.ChatQueue
	Channel(name string) *chatv1alpha1.Channel
	Group(name string) *chatv1alpha1.OperatorGroup
	// SecretKeys returns the keys of a Secret and whether it exists. known is false
	// when Secrets are not being checked (an offline render without Secret manifests).
	SecretKeys(name string) (keys map[string]bool, exists, known bool)
}

func checkLiveChatRef(s *problemSink, lk Lookup, name string) *chatv1alpha1.LiveChat {
	lc := lk.LiveChat(name)
	if lc == nil {
		s.add("spec.liveChatRef.name", chatv1alpha1.ReasonLiveChatNotFound,
			"LiveChat %q does not exist: create it, or correct spec.liveChatRef.name", name)
	}
	return lc
}

func checkGroupRef(s *problemSink, lk Lookup, field, name string) *chatv1alpha1.OperatorGroup {
	g := lk.Group(name)
	if g == nil {
		s.add(field, chatv1alpha1.ReasonGroupNotFound,
			"OperatorGroup %q does not exist: create it, or remove it from the list", name)
	}
	return g
}

func checkSecretKey(s *problemSink, lk Lookup, field string, ref *chatv1alpha1.SecretKeyReference) {
	if ref == nil {
		return
	}
	keys, exists, known := lk.SecretKeys(ref.Name)
	switch {
	case !known:
	case !exists:
		s.add(field, chatv1alpha1.ReasonSecretNotFound,
			"Secret %q does not exist: create it with the key %q", ref.Name, ref.Key)
	case !keys[ref.Key]:
		s.add(field, chatv1alpha1.ReasonSecretKeyNotFound,
			"Secret %q has no key %q: add it, or correct the key", ref.Name, ref.Key)
	}
}

func checkSecret(s *problemSink, lk Lookup, field, name string) {
	if _, exists, known := lk.SecretKeys(name); known && !exists {
		s.add(field, chatv1alpha1.ReasonSecretNotFound, "Secret %q does not exist: create it", name)
	}
}

// CheckLiveChat returns the problems of a LiveChat's own references.
func CheckLiveChat(lc *chatv1alpha1.LiveChat, lk Lookup) Problems {
	s := &problemSink{kind: "LiveChat", name: lc.Name}
	for i, g := range lc.Spec.SupervisorGroups {
		checkGroupRef(s, lk, fmt.Sprintf("spec.supervisorGroups[%d]", i), string(g))
	}
	if ref := lc.Spec.AgentAuth.TokensSecretRef; ref != nil {
		checkSecret(s, lk, "spec.agentAuth.tokensSecretRef", ref.Name)
	}
	if st := lc.Spec.Storage; st != nil && st.Postgres != nil {
		checkSecretKey(s, lk, "spec.storage.postgres.uriSecretRef", &st.Postgres.URISecretRef)
	}
	if p := lc.Spec.ProcessAPI; p != nil {
		checkSecretKey(s, lk, "spec.processAPI.tokenSecretRef", &p.TokenSecretRef)
	}
	if o := lc.Spec.AgentAuth.OIDC; o != nil {
		if o.ClientSecretRef != nil {
			checkSecretKey(s, lk, "spec.agentAuth.oidc.clientSecretRef", o.ClientSecretRef)
		}
		if lc.Spec.PublicURL == "" {
			s.add("spec.agentAuth.oidc", chatv1alpha1.ReasonPublicURLRequired,
				"OIDC sign-in needs spec.publicURL: the provider sends operators back to <publicURL>/auth/oidc/callback; set publicURL and register that redirect URI with the provider")
		}
	}
	if _, err := Location(lc.Spec.TimeZone); err != nil {
		s.add("spec.timeZone", chatv1alpha1.ReasonInvalidTimeZone,
			"time zone %q is not an IANA time zone name: use one such as Europe/Berlin, America/New_York or UTC", lc.Spec.TimeZone)
	}
	return s.list
}

// CheckQueue returns the problems of a ChatQueue: missing references, transfer targets
// of another LiveChat, missing Secrets, and a queue nobody can answer.
func CheckQueue(q *chatv1alpha1.ChatQueue, lk Lookup) Problems {
	s := &problemSink{kind: "ChatQueue", name: q.Name}
	checkLiveChatRef(s, lk, q.Spec.LiveChatRef.Name)
	members := 0
	for i, name := range q.Spec.OperatorGroups {
		if g := checkGroupRef(s, lk, fmt.Sprintf("spec.operatorGroups[%d]", i), string(name)); g != nil {
			members += len(g.Spec.Members)
		}
	}
	if members == 0 {
		s.add("spec.operatorGroups", chatv1alpha1.ReasonNoOperators,
			"the queue has no operators, so its chats would wait forever: add an OperatorGroup with members to spec.operatorGroups")
	}
	for i, name := range q.Spec.TransferTargets {
		field := fmt.Sprintf("spec.transferTargets[%d]", i)
		target := lk.Queue(string(name))
		switch {
		case target == nil:
			s.add(field, chatv1alpha1.ReasonQueueNotFound, "ChatQueue %q does not exist: create it, or remove it from the list", name)
		case target.Spec.LiveChatRef.Name != q.Spec.LiveChatRef.Name:
			s.add(field, chatv1alpha1.ReasonInvalidReference,
				"ChatQueue %q belongs to LiveChat %q, not %q: chats can only move between queues of one LiveChat",
				name, target.Spec.LiveChatRef.Name, q.Spec.LiveChatRef.Name)
		}
	}
	for i := range q.Spec.Actions {
		checkSecretKey(s, lk, fmt.Sprintf("spec.actions[%d].webhook.secretRef", i), q.Spec.Actions[i].Webhook.SecretRef)
	}
	return s.list
}

// needsPublicURL reports whether a channel type receives provider webhooks.
func needsPublicURL(t chatv1alpha1.ChannelType) bool {
	switch t {
	case chatv1alpha1.ChannelTelegram, chatv1alpha1.ChannelFacebookMessenger, chatv1alpha1.ChannelWhatsApp, chatv1alpha1.ChannelSMS:
		return true
	}
	return false
}

// CheckChannel returns the problems of a Channel.
func CheckChannel(c *chatv1alpha1.Channel, lk Lookup) Problems {
	s := &problemSink{kind: "Channel", name: c.Name}
	lc := checkLiveChatRef(s, lk, c.Spec.LiveChatRef.Name)
	switch q := lk.Queue(c.Spec.QueueRef.Name); {
	case q == nil:
		s.add("spec.queueRef.name", chatv1alpha1.ReasonQueueNotFound,
			"ChatQueue %q does not exist: create it, or correct spec.queueRef.name", c.Spec.QueueRef.Name)
	case q.Spec.LiveChatRef.Name != c.Spec.LiveChatRef.Name:
		s.add("spec.queueRef.name", chatv1alpha1.ReasonInvalidReference,
			"ChatQueue %q belongs to LiveChat %q, not %q: point spec.queueRef at a queue of LiveChat %q",
			c.Spec.QueueRef.Name, q.Spec.LiveChatRef.Name, c.Spec.LiveChatRef.Name, c.Spec.LiveChatRef.Name)
	}
	if lc != nil && lc.Spec.PublicURL == "" && needsPublicURL(c.Spec.Type) {
		s.add("spec.type", chatv1alpha1.ReasonPublicURLRequired,
			"%s delivers messages to a webhook, but LiveChat %q has no spec.publicURL: set it to the runtime's external URL",
			c.Spec.Type, lc.Name)
	}
	if t := c.Spec.Telegram; t != nil {
		checkSecretKey(s, lk, "spec.telegram.botTokenSecretRef", &t.BotTokenSecretRef)
	}
	if f := c.Spec.FacebookMessenger; f != nil {
		checkSecretKey(s, lk, "spec.facebookMessenger.pageAccessTokenSecretRef", &f.PageAccessTokenSecretRef)
		checkSecretKey(s, lk, "spec.facebookMessenger.appSecretSecretRef", &f.AppSecretSecretRef)
		checkSecretKey(s, lk, "spec.facebookMessenger.verifyTokenSecretRef", &f.VerifyTokenSecretRef)
	}
	if w := c.Spec.WhatsApp; w != nil {
		checkSecretKey(s, lk, "spec.whatsApp.accessTokenSecretRef", &w.AccessTokenSecretRef)
		checkSecretKey(s, lk, "spec.whatsApp.appSecretSecretRef", &w.AppSecretSecretRef)
		checkSecretKey(s, lk, "spec.whatsApp.verifyTokenSecretRef", &w.VerifyTokenSecretRef)
	}
	if m := c.Spec.SMS; m != nil {
		checkSecretKey(s, lk, "spec.sms.authTokenSecretRef", &m.AuthTokenSecretRef)
	}
	if in := c.Spec.Internal; in != nil {
		for i, g := range in.ClientGroups {
			checkGroupRef(s, lk, fmt.Sprintf("spec.internal.clientGroups[%d]", i), string(g))
		}
	}
	if b := c.Spec.Bot; b != nil {
		checkSecretKey(s, lk, "spec.bot.webhook.secretRef", b.Webhook.SecretRef)
	}
	return s.list
}

// CheckPolicy returns the problems of a NotificationPolicy: missing references,
// unknown merge fields, sends to undefined providers or templates, and providers
// that cannot reach the recipients a rule names.
func CheckPolicy(p *chatv1alpha1.NotificationPolicy, lk Lookup) Problems {
	s := &problemSink{kind: "NotificationPolicy", name: p.Name}
	checkLiveChatRef(s, lk, p.Spec.LiveChatRef.Name)

	providers := map[string]*chatv1alpha1.NotificationProvider{}
	for i := range p.Spec.Providers {
		pr := &p.Spec.Providers[i]
		providers[pr.Name] = pr
		field := fmt.Sprintf("spec.providers[%d]", i)
		switch {
		case pr.SMTP != nil:
			checkSecretKey(s, lk, field+".smtp.usernameSecretRef", pr.SMTP.UsernameSecretRef)
			checkSecretKey(s, lk, field+".smtp.passwordSecretRef", pr.SMTP.PasswordSecretRef)
		case pr.Twilio != nil:
			checkSecretKey(s, lk, field+".twilio.authTokenSecretRef", &pr.Twilio.AuthTokenSecretRef)
		case pr.PusherBeams != nil:
			checkSecretKey(s, lk, field+".pusherBeams.secretKeySecretRef", &pr.PusherBeams.SecretKeySecretRef)
		case pr.OneSignal != nil:
			checkSecretKey(s, lk, field+".oneSignal.apiKeySecretRef", &pr.OneSignal.APIKeySecretRef)
		case pr.Webhook != nil:
			checkSecretKey(s, lk, field+".webhook.secretRef", pr.Webhook.SecretRef)
		}
	}
	templates := map[string]bool{}
	for i, t := range p.Spec.Templates {
		templates[t.Name] = true
		var unknown []string
		for _, f := range TemplateFields(t.Subject, t.Text, t.HTML) {
			if _, ok := MergeFields[f]; !ok {
				unknown = append(unknown, "{"+f+"}")
			}
		}
		if len(unknown) > 0 {
			s.add(fmt.Sprintf("spec.templates[%d]", i), chatv1alpha1.ReasonUnknownMergeField,
				"template %q uses %s, which %s not a merge field: use one of %s",
				t.Name, strings.Join(unknown, ", "), pluralIs(len(unknown)), strings.Join(knownMergeFieldNames(), ", "))
		}
	}

	checkSends := func(field string, sends []chatv1alpha1.SendSpec, r chatv1alpha1.Recipients) {
		for j, send := range sends {
			sf := fmt.Sprintf("%s.send[%d]", field, j)
			pr, ok := providers[send.Provider]
			if !ok {
				s.add(sf+".provider", chatv1alpha1.ReasonInvalidReference,
					"provider %q is not defined in spec.providers: add it, or correct the name", send.Provider)
			}
			if send.Template != "" && !templates[send.Template] {
				s.add(sf+".template", chatv1alpha1.ReasonInvalidReference,
					"template %q is not defined in spec.templates: add it, or correct the name", send.Template)
			}
			if ok && pr.Messenger != nil && !onlyVisitor(r) {
				s.add(sf+".provider", chatv1alpha1.ReasonInvalidRecipients,
					"provider %q writes to visitors over their channel, but the recipients name operators: send to kinds [Visitor] only, or use another provider", send.Provider)
			}
		}
		for k, g := range r.Groups {
			checkGroupRef(s, lk, fmt.Sprintf("%s.recipients.groups[%d]", field, k), string(g))
		}
	}
	for i, r := range p.Spec.Rules {
		field := fmt.Sprintf("spec.rules[%d]", i)
		checkSends(field, r.Send, r.Recipients)
		for k, q := range r.When.Queues {
			if qq := lk.Queue(string(q)); qq == nil || qq.Spec.LiveChatRef.Name != p.Spec.LiveChatRef.Name {
				s.add(fmt.Sprintf("%s.when.queues[%d]", field, k), chatv1alpha1.ReasonQueueNotFound,
					"LiveChat %q has no ChatQueue %q: correct the name, or remove it", p.Spec.LiveChatRef.Name, q)
			}
		}
		for k, c := range r.When.Channels {
			if cc := lk.Channel(string(c)); cc == nil || cc.Spec.LiveChatRef.Name != p.Spec.LiveChatRef.Name {
				s.add(fmt.Sprintf("%s.when.channels[%d]", field, k), chatv1alpha1.ReasonChannelNotFound,
					"LiveChat %q has no Channel %q: correct the name, or remove it", p.Spec.LiveChatRef.Name, c)
			}
		}
	}
	if oe := p.Spec.OnError; oe != nil {
		checkSends("spec.onError", oe.Send, oe.Recipients)
	}
	return s.list
}

func onlyVisitor(r chatv1alpha1.Recipients) bool {
	if len(r.Groups) > 0 || len(r.Operators) > 0 {
		return false
	}
	for _, k := range r.Kinds {
		if k != chatv1alpha1.RecipientVisitor {
			return false
		}
	}
	return true
}

func pluralIs(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}
