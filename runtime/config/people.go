package config

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// compilePeople merges the members of every group the configuration uses. A person
// listed by several groups gets the lowest maxChats any of them sets, the union of
// their skills and opt-outs, and notifications only if no entry opts out.
func (c *compiler) compilePeople() {
	names := make([]string, 0, len(c.groups))
	for g := range c.groups {
		names = append(names, g)
	}
	sort.Strings(names)
	people := map[string]*Person{}
	for _, gname := range names {
		g := c.lk.Group(gname)
		group := Group{Name: g.Name, DisplayName: g.Spec.DisplayName, NotificationsEnabled: orTrue(g.Spec.NotificationsEnabled), Members: []string{}}
		for _, m := range g.Spec.Members {
			name := string(m.Name)
			group.Members = append(group.Members, name)
			p := people[name]
			if p == nil {
				p = &Person{Name: name, Skills: []string{}, Groups: []string{}, NotificationsEnabled: true,
					OptOuts: []NotificationOptOut{}}
				people[name] = p
			}
			p.Groups = append(p.Groups, g.Name)
			p.DisplayName = orString(p.DisplayName, m.DisplayName)
			p.Email = orString(p.Email, m.Email)
			p.Phone = orString(p.Phone, m.Phone)
			p.AvatarURL = orString(p.AvatarURL, m.AvatarURL)
			p.PushUserID = orString(p.PushUserID, m.PushUserID)
			if m.MaxChats != nil && (p.MaxChats == 0 || *m.MaxChats < p.MaxChats) {
				p.MaxChats = *m.MaxChats
			}
			p.Skills = append(p.Skills, m.Skills...)
			if n := m.Notifications; n != nil {
				p.NotificationsEnabled = p.NotificationsEnabled && orTrue(n.Enabled)
				for _, o := range n.OptOuts {
					p.OptOuts = append(p.OptOuts, optOut(o))
				}
			}
		}
		group.Members = sortedUnique(group.Members)
		c.cfg.Groups = append(c.cfg.Groups, group)
	}
	c.cfg.People = []Person{}
	for _, p := range people {
		if p.MaxChats == 0 {
			p.MaxChats = c.cfg.LiveChat.SimultaneousChats
		}
		p.PushUserID = orString(p.PushUserID, p.Name)
		p.Skills = sortedUnique(p.Skills)
		p.Groups = sortedUnique(p.Groups)
		c.cfg.People = append(c.cfg.People, *p)
	}
	var supervisors []string
	for _, g := range c.cfg.LiveChat.SupervisorGroups {
		for _, grp := range c.cfg.Groups {
			if grp.Name == g {
				supervisors = append(supervisors, grp.Members...)
			}
		}
	}
	c.cfg.LiveChat.Supervisors = sortedUnique(supervisors)
}

// checkTokens reports people who could not sign in: without OIDC, everyone needs a
// key in the tokens Secret; with OIDC, tokens are optional.
func (c *compiler) checkTokens() {
	auth := c.cfg.LiveChat.AgentAuth
	if auth.OIDC != nil {
		return
	}
	if auth.TokensSecret == "" {
		if len(c.cfg.People) > 0 {
			s := &problemSink{kind: "LiveChat", name: c.cfg.LiveChat.Name}
			s.add("spec.agentAuth", chatv1alpha1.ReasonOperatorWithoutToken,
				"nobody can sign in: set spec.agentAuth.tokensSecretRef (a Secret with one key per operator), spec.agentAuth.oidc, or both")
			c.problems = append(c.problems, s.list...)
		}
		return
	}
	keys, exists, known := c.lk.SecretKeys(auth.TokensSecret)
	if !known || !exists {
		return
	}
	s := &problemSink{kind: "LiveChat", name: c.cfg.LiveChat.Name}
	for _, p := range c.cfg.People {
		if !keys[p.Name] {
			s.add("spec.agentAuth.tokensSecretRef", chatv1alpha1.ReasonOperatorWithoutToken,
				"%q (OperatorGroup %s) cannot sign in: add the key %q with their token to Secret %q",
				p.Name, p.Groups[0], p.Name, auth.TokensSecret)
		}
	}
	c.problems = append(c.problems, s.list...)
}

// checkPolicyOperators reports recipients named by operator name who are nobody in
// this LiveChat.
func (c *compiler) checkPolicyOperators() {
	known := map[string]bool{}
	for _, p := range c.cfg.People {
		known[p.Name] = true
	}
	for _, pol := range c.in.Policies {
		if pol.Spec.LiveChatRef.Name != c.cfg.LiveChat.Name {
			continue
		}
		s := &problemSink{kind: "NotificationPolicy", name: pol.Name}
		check := func(field string, r chatv1alpha1.Recipients) {
			for i, op := range r.Operators {
				if !known[string(op)] {
					s.add(fmt.Sprintf("%s.recipients.operators[%d]", field, i), chatv1alpha1.ReasonInvalidRecipients,
						"%q is not a member of any OperatorGroup that LiveChat %q uses: add them to a queue's or supervisor group, or remove them",
						op, c.cfg.LiveChat.Name)
				}
			}
		}
		for i, r := range pol.Spec.Rules {
			check(fmt.Sprintf("spec.rules[%d]", i), r.Recipients)
		}
		if pol.Spec.OnError != nil {
			check("spec.onError", pol.Spec.OnError.Recipients)
		}
		c.problems = append(c.problems, s.list...)
	}
}

func (c *compiler) collectSecrets() {
	c.cfg.Secrets = []SecretUse{}
	for name, keys := range c.secrets {
		use := SecretUse{Name: name, Keys: []string{}}
		for k := range keys {
			use.Keys = append(use.Keys, k)
		}
		sort.Strings(use.Keys)
		c.cfg.Secrets = append(c.cfg.Secrets, use)
	}
}

func (c *compiler) sortAll() {
	cfg := c.cfg
	sort.Slice(cfg.People, func(i, j int) bool { return cfg.People[i].Name < cfg.People[j].Name })
	sort.Slice(cfg.Groups, func(i, j int) bool { return cfg.Groups[i].Name < cfg.Groups[j].Name })
	sort.Slice(cfg.Queues, func(i, j int) bool { return cfg.Queues[i].Name < cfg.Queues[j].Name })
	sort.Slice(cfg.Channels, func(i, j int) bool { return cfg.Channels[i].Name < cfg.Channels[j].Name })
	sort.Slice(cfg.Policies, func(i, j int) bool { return cfg.Policies[i].Name < cfg.Policies[j].Name })
	sort.Slice(cfg.Secrets, func(i, j int) bool { return cfg.Secrets[i].Name < cfg.Secrets[j].Name })
	for i := range cfg.Queues {
		sort.Slice(cfg.Queues[i].Actions, func(a, b int) bool { return cfg.Queues[i].Actions[a].Name < cfg.Queues[i].Actions[b].Name })
	}
	for i := range cfg.Policies {
		p := &cfg.Policies[i]
		sort.Slice(p.Rules, func(a, b int) bool { return p.Rules[a].Name < p.Rules[b].Name })
		sort.Slice(p.Providers, func(a, b int) bool { return p.Providers[a].Name < p.Providers[b].Name })
		sort.Slice(p.Templates, func(a, b int) bool { return p.Templates[a].Name < p.Templates[b].Name })
	}
	if cfg.Queues == nil {
		cfg.Queues = []Queue{}
	}
	if cfg.Channels == nil {
		cfg.Channels = []Channel{}
	}
	if cfg.Policies == nil {
		cfg.Policies = []Policy{}
	}
	if cfg.Groups == nil {
		cfg.Groups = []Group{}
	}
}

// sortedNames returns a sorted, de-duplicated, never-nil copy of a list of names.
func sortedNames[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return sortedUnique(out)
}

func sortedUnique(in []string) []string {
	out := append([]string{}, in...)
	sort.Strings(out)
	w := 0
	for i, s := range out {
		if i == 0 || s != out[w-1] {
			out[w] = s
			w++
		}
	}
	return out[:w]
}

// Marshal encodes the configuration canonically: the same configuration always gives
// the same bytes.
func (cfg *Config) Marshal() []byte {
	data, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("config: marshal: %v", err)) // only plain data types: cannot fail
	}
	return append(data, '\n')
}

// Revision identifies the configuration: a hash of its canonical bytes.
func (cfg *Config) Revision() string {
	sum := sha256.Sum256(cfg.Marshal())
	return hex.EncodeToString(sum[:8])
}

// Parse decodes a configuration, refusing one of a schema version it does not know.
// The version is read first, so a layout that differs is reported as such rather than
// as whatever decoding error the difference causes.
func Parse(data []byte) (*Config, error) {
	var head struct {
		SchemaVersion *string `json:"schemaVersion"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("runtime configuration is not a JSON object with a string schemaVersion: %w", err)
	}
	if head.SchemaVersion == nil {
		return nil, fmt.Errorf("runtime configuration has no schemaVersion; this runtime reads %q", SchemaVersion)
	}
	if *head.SchemaVersion != SchemaVersion {
		return nil, fmt.Errorf("runtime configuration has schemaVersion %q; this runtime reads %q: run operator and runtime of the same version",
			*head.SchemaVersion, SchemaVersion)
	}
	var cfg Config
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("runtime configuration of %s does not match its layout: %w", SchemaVersion, err)
	}
	return &cfg, nil
}

// sortedSame is sortedNames keeping the element type.
func sortedSame[T ~string](in []T) []T {
	names := sortedNames(in)
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = T(n)
	}
	return out
}
