package config

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Input is everything Compile reads: one LiveChat and the objects of its namespace.
// Objects of other LiveChats may be included; Compile picks what references this one
// and uses the rest to explain misplaced references.
type Input struct {
	LiveChat *chatv1alpha1.LiveChat
	Queues   []chatv1alpha1.ChatQueue
	Channels []chatv1alpha1.Channel
	Groups   []chatv1alpha1.OperatorGroup
	Policies []chatv1alpha1.NotificationPolicy
	// Secrets maps the name of each Secret in the namespace to its keys. Nil means
	// Secrets are unknown and not checked.
	Secrets map[string][]string
}

// Lookup returns a Lookup over the input's objects.
func (in *Input) Lookup() Lookup {
	idx := &inputLookup{in: in, queues: map[string]*chatv1alpha1.ChatQueue{}, channels: map[string]*chatv1alpha1.Channel{},
		groups: map[string]*chatv1alpha1.OperatorGroup{}}
	for i := range in.Queues {
		idx.queues[in.Queues[i].Name] = &in.Queues[i]
	}
	for i := range in.Channels {
		idx.channels[in.Channels[i].Name] = &in.Channels[i]
	}
	for i := range in.Groups {
		idx.groups[in.Groups[i].Name] = &in.Groups[i]
	}
	return idx
}

type inputLookup struct {
	in       *Input
	queues   map[string]*chatv1alpha1.ChatQueue
	channels map[string]*chatv1alpha1.Channel
	groups   map[string]*chatv1alpha1.OperatorGroup
}

func (l *inputLookup) LiveChat(name string) *chatv1alpha1.LiveChat {
	if l.in.LiveChat != nil && l.in.LiveChat.Name == name {
		return l.in.LiveChat
	}
	return nil
}
func (l *inputLookup) Queue(name string) *chatv1alpha1.ChatQueue     { return l.queues[name] }
func (l *inputLookup) Channel(name string) *chatv1alpha1.Channel     { return l.channels[name] }
func (l *inputLookup) Group(name string) *chatv1alpha1.OperatorGroup { return l.groups[name] }
func (l *inputLookup) SecretKeys(name string) (map[string]bool, bool, bool) {
	if l.in.Secrets == nil {
		return nil, false, false
	}
	keys, ok := l.in.Secrets[name]
	if !ok {
		return nil, false, true
	}
	set := make(map[string]bool, len(keys))
	for _, k := range keys {
		set[k] = true
	}
	return set, true, true
}

// compiler carries the state of one Compile.
type compiler struct {
	in       *Input
	lk       Lookup
	cfg      *Config
	problems Problems
	groups   map[string]bool // groups the configuration uses
	secrets  map[string]map[string]bool
}

// Compile turns a LiveChat and the objects that reference it into the runtime
// configuration, and lists the problems found. Parts that cannot work (a channel
// whose queue is missing, a provider whose Secret is missing) are left out of the
// configuration; everything else is compiled, so one broken channel never takes the
// others down.
func Compile(in Input) (*Config, Problems) {
	lc := in.LiveChat
	c := &compiler{in: &in, lk: in.Lookup(), groups: map[string]bool{}, secrets: map[string]map[string]bool{}}
	c.cfg = &Config{SchemaVersion: SchemaVersion}
	c.problems = append(c.problems, CheckLiveChat(lc, c.lk)...)
	c.compileLiveChat()
	for i := range in.Queues {
		if q := &in.Queues[i]; q.Spec.LiveChatRef.Name == lc.Name {
			c.compileQueue(q)
		}
	}
	for i := range in.Channels {
		if ch := &in.Channels[i]; ch.Spec.LiveChatRef.Name == lc.Name {
			c.compileChannel(ch)
		}
	}
	for i := range in.Policies {
		if p := &in.Policies[i]; p.Spec.LiveChatRef.Name == lc.Name {
			c.compilePolicy(p)
		}
	}
	c.compilePeople()
	c.checkTokens()
	c.checkPolicyOperators()
	c.collectSecrets()
	c.sortAll()
	c.problems.sort()
	return c.cfg, c.problems
}

func (c *compiler) useSecret(ref *SecretKeyReference) {
	if ref == nil {
		return
	}
	if c.secrets[ref.Name] == nil {
		c.secrets[ref.Name] = map[string]bool{}
	}
	c.secrets[ref.Name][ref.Key] = true
}

func (c *compiler) compileLiveChat() {
	lc := c.in.LiveChat
	s := lc.Spec
	out := LiveChat{
		Namespace:         lc.Namespace,
		Name:              lc.Name,
		DisplayName:       s.DisplayName,
		PublicURL:         strings.TrimSuffix(s.PublicURL, "/"),
		SimultaneousChats: s.Defaults.SimultaneousChats,
		AcceptTimeout:     orDuration(s.Defaults.AcceptTimeout, DefaultAcceptTimeout),
		SupervisorGroups:  sortedNames(s.SupervisorGroups),
		Storage:           Storage{Driver: StorageSQLite, Durability: string(chatv1alpha1.DurabilityNormal)},
		Console: Console{
			SoundEnabled:         orTrue(s.Console.Sound.Enabled),
			SoundURL:             s.Console.Sound.URL,
			SoundLoop:            s.Console.Sound.Loop,
			DesktopNotifications: orTrue(s.Console.DesktopNotifications),
		},
		Attachments:      attachments(s.Attachments),
		OperatorPresence: operatorPresence(s.OperatorPresence),
		TimeZone:         s.TimeZone,
	}
	if out.TimeZone == "" {
		out.TimeZone = DefaultTimeZone // the CRD's default, for manifests read without the API server
	}
	if out.SimultaneousChats == 0 {
		out.SimultaneousChats = DefaultSimultaneousChats
	}
	if s.Storage != nil && s.Storage.Embedded != nil && s.Storage.Embedded.Durability != "" {
		out.Storage.Durability = string(s.Storage.Embedded.Durability)
	}
	if s.Storage != nil && s.Storage.Postgres != nil {
		ref := secretKeyRef(s.Storage.Postgres.URISecretRef)
		out.Storage = Storage{Driver: StoragePostgres, PostgresURI: &ref, Durability: out.Storage.Durability}
		c.useSecret(&ref)
	}
	if s.AgentAuth.TokensSecretRef != nil {
		out.AgentAuth.TokensSecret = s.AgentAuth.TokensSecretRef.Name
		c.secrets[out.AgentAuth.TokensSecret] = map[string]bool{}
	}
	if s.AgentAuth.OIDC != nil {
		out.AgentAuth.OIDC = oidc(*s.AgentAuth.OIDC)
		c.useSecret(out.AgentAuth.OIDC.ClientSecret)
	}
	if s.ProcessAPI != nil {
		out.ProcessAPI = &ProcessAPI{TokenSecret: secretKeyRef(s.ProcessAPI.TokenSecretRef)}
		c.useSecret(&out.ProcessAPI.TokenSecret)
	}
	for _, g := range out.SupervisorGroups {
		if c.lk.Group(g) != nil {
			c.groups[g] = true
		}
	}
	c.cfg.LiveChat = out
}

func (c *compiler) compileQueue(q *chatv1alpha1.ChatQueue) {
	c.problems = append(c.problems, CheckQueue(q, c.lk)...)
	s := q.Spec
	out := Queue{
		Name:              q.Name,
		DisplayName:       s.DisplayName,
		Rule:              orString(RoutingRule(s.Routing.Rule), RoutingAvailableAgent),
		AcceptTimeout:     orDuration(s.Routing.AcceptTimeout, c.cfg.LiveChat.AcceptTimeout.Duration),
		CompletionTimeout: orDuration(s.CompletionTimeout, 0),
		OperatorGroups:    sortedNames(s.OperatorGroups),
		Operators:         []string{},
		TransferTargets:   []string{},
		Offline:           Offline{AcceptMessages: orTrue(s.Offline.AcceptMessages), Message: s.Offline.Message},
		Actions:           []Action{},
	}
	for _, name := range out.OperatorGroups {
		if g := c.lk.Group(name); g != nil {
			c.groups[name] = true
			for _, m := range g.Spec.Members {
				out.Operators = append(out.Operators, string(m.Name))
			}
		}
	}
	for _, t := range s.TransferTargets {
		if tq := c.lk.Queue(string(t)); tq != nil && tq.Spec.LiveChatRef.Name == q.Spec.LiveChatRef.Name {
			out.TransferTargets = append(out.TransferTargets, string(t))
		}
	}
	for _, a := range s.Actions {
		action := Action{Name: a.Name, Caption: a.Caption, Webhook: webhook(a.Webhook)}
		out.Actions = append(out.Actions, action)
		c.useSecret(action.Webhook.SecretRef)
	}
	out.Operators = sortedUnique(out.Operators)
	sort.Strings(out.TransferTargets)
	c.cfg.Queues = append(c.cfg.Queues, out)
}

func (c *compiler) compileChannel(ch *chatv1alpha1.Channel) {
	problems := CheckChannel(ch, c.lk)
	c.problems = append(c.problems, problems...)
	if len(problems) > 0 {
		return // a channel that cannot work is left out, not half-configured
	}
	s := &ch.Spec
	out := Channel{Name: ch.Name, DisplayName: s.DisplayName, Type: ChannelType(s.Type), Queue: s.QueueRef.Name, Active: orTrue(s.Active)}
	if needsPublicURL(s.Type) {
		out.WebhookPath = "/webhooks/" + ch.Name
	}
	switch {
	case s.Telegram != nil:
		out.Telegram = telegram(*s.Telegram)
		c.useSecret(&out.Telegram.BotTokenSecretRef)
	case s.FacebookMessenger != nil:
		f := facebookMessenger(*s.FacebookMessenger)
		out.FacebookMessenger = f
		c.useSecret(&f.PageAccessTokenSecretRef)
		c.useSecret(&f.AppSecretSecretRef)
		c.useSecret(&f.VerifyTokenSecretRef)
	case s.WhatsApp != nil:
		w := whatsApp(*s.WhatsApp)
		out.WhatsApp = w
		c.useSecret(&w.AccessTokenSecretRef)
		c.useSecret(&w.AppSecretSecretRef)
		c.useSecret(&w.VerifyTokenSecretRef)
	case s.SMS != nil:
		out.SMS = sms(*s.SMS)
		c.useSecret(&out.SMS.AuthTokenSecretRef)
	case s.WebWidget != nil:
		w := s.WebWidget
		out.WebWidget = &WebWidget{
			AllowedOrigins:          sortedUnique(w.AllowedOrigins),
			Title:                   w.Title,
			Greeting:                w.Greeting,
			Color:                   w.Color,
			OfflineFormEnabled:      orTrue(w.OfflineForm.Enabled),
			OfflineFormRequireEmail: orTrue(w.OfflineForm.RequireEmail),
			Ratings:                 orTrue(w.Ratings),
			RatingScale:             ratingScale(w.RatingScale),
			Survey:                  surveyQuestions(w.Survey),
			Goals:                   sortedUnique(w.Goals),
		}
		if w.PreChat.Enabled != nil && *w.PreChat.Enabled {
			out.WebWidget.PreChat = &PreChat{RequireEmail: w.PreChat.RequireEmail != nil && *w.PreChat.RequireEmail}
		}
	case s.Internal != nil:
		in := &Internal{ClientGroups: sortedNames(s.Internal.ClientGroups), Clients: []string{}}
		for _, name := range in.ClientGroups {
			c.groups[name] = true
			for _, m := range c.lk.Group(name).Spec.Members {
				in.Clients = append(in.Clients, string(m.Name))
			}
		}
		in.Clients = sortedUnique(in.Clients)
		out.Internal = in
	}
	if b := s.Bot; b != nil {
		keywords := b.HandoverKeywords
		if keywords == nil {
			keywords = DefaultHandoverKeywords
		}
		lower := make([]string, len(keywords))
		for i, k := range keywords {
			lower[i] = strings.ToLower(k)
		}
		out.Bot = &Bot{Webhook: webhook(b.Webhook), HandoverKeywords: sortedUnique(lower)}
		c.useSecret(out.Bot.Webhook.SecretRef)
	}
	c.cfg.Channels = append(c.cfg.Channels, out)
}

func (c *compiler) compilePolicy(p *chatv1alpha1.NotificationPolicy) {
	problems := CheckPolicy(p, c.lk)
	c.problems = append(c.problems, problems...)
	s := p.Spec
	// Providers whose Secrets are missing are left out, with every send through them.
	broken := map[string]bool{}
	for i, pr := range s.Providers {
		prefix := fmt.Sprintf("spec.providers[%d].", i)
		for _, pb := range problems {
			if strings.HasPrefix(pb.Field, prefix) {
				broken[pr.Name] = true
			}
		}
	}
	out := Policy{Name: p.Name, Suspend: s.Suspend, Rules: []Rule{}, Providers: []NotificationProvider{}, Templates: []Template{}}
	providers := map[string]bool{}
	for _, in := range s.Providers {
		if broken[in.Name] {
			continue
		}
		pr := provider(in)
		providers[pr.Name] = true
		out.Providers = append(out.Providers, pr)
		switch {
		case pr.SMTP != nil:
			c.useSecret(pr.SMTP.UsernameSecretRef)
			c.useSecret(pr.SMTP.PasswordSecretRef)
		case pr.Twilio != nil:
			c.useSecret(&pr.Twilio.AuthTokenSecretRef)
		case pr.PusherBeams != nil:
			c.useSecret(&pr.PusherBeams.SecretKeySecretRef)
		case pr.OneSignal != nil:
			c.useSecret(&pr.OneSignal.APIKeySecretRef)
		case pr.Webhook != nil:
			c.useSecret(pr.Webhook.SecretRef)
		}
	}
	templates := map[string]bool{}
	for _, t := range s.Templates {
		templates[t.Name] = true
		out.Templates = append(out.Templates, Template{Name: t.Name, Subject: t.Subject, Text: t.Text, HTML: t.HTML,
			Fields: TemplateFields(t.Subject, t.Text, t.HTML)})
	}
	// Sends through a left-out provider or to a missing template are left out too.
	usable := func(in []chatv1alpha1.SendSpec) []SendSpec {
		out := []SendSpec{}
		for _, sd := range sends(in) {
			if providers[sd.Provider] && (sd.Template == "" || templates[sd.Template]) {
				out = append(out, sd)
			}
		}
		return out
	}
	for _, r := range s.Rules {
		rule := Rule{
			Name:       r.Name,
			Events:     converted[EventType](slices.Sorted(slices.Values(r.Events))),
			Recipients: recipients(r.Recipients),
			When: When{
				RecipientOffline:      r.When.RecipientOffline,
				OncePerOfflineSession: r.When.OncePerOfflineSession,
				SkipIfBotAnswered:     orTrue(r.When.SkipIfBotAnswered),
				Queues:                sortedNames(r.When.Queues),
				Channels:              sortedNames(r.When.Channels),
			},
			Send: usable(r.Send),
		}
		for _, g := range rule.Recipients.Groups {
			if c.lk.Group(g) != nil {
				c.groups[g] = true
			}
		}
		out.Rules = append(out.Rules, rule)
	}
	if s.Batching != nil {
		out.BatchWindow = duration(s.Batching.Window)
	}
	out.Retry = Retry{
		Attempts: DefaultRetryAttempts,
		Delay:    orDuration(s.Retry.Delay, DefaultRetryDelay),
		Backoff:  orString(BackoffKind(s.Retry.Backoff), BackoffExponential),
	}
	if s.Retry.Attempts != nil {
		out.Retry.Attempts = *s.Retry.Attempts
	}
	if oe := s.OnError; oe != nil {
		out.OnError = &OnError{Recipients: recipients(oe.Recipients), Send: usable(oe.Send)}
		for _, g := range out.OnError.Recipients.Groups {
			if c.lk.Group(g) != nil {
				c.groups[g] = true
			}
		}
	}
	c.cfg.Policies = append(c.cfg.Policies, out)
}
