package processmsg

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/render"
)

// Modes of a request: how many of the contact's conversations the message reaches.
const (
	// ModeIntegration writes to every open conversation of the contact.
	ModeIntegration = "integration"
	// ModeApp writes to one conversation: the one named, or the contact's open one on
	// the channel named (the contact's own channel by default).
	ModeApp = "app"
)

// Request is what a business process sends.
type Request struct {
	// Recipient is a contact or a conversation: exactly one.
	Recipient Recipient `json:"recipient"`
	// Mode is ModeIntegration (the default) or ModeApp.
	Mode string `json:"mode,omitempty"`
	// Channel, in ModeApp, picks the channel the message goes through.
	Channel string `json:"channel,omitempty"`
	// Sender is the LiveChat that writes; the one this runtime serves when empty.
	Sender string `json:"sender,omitempty"`
	// Text with {name} merge fields, filled from Variables and the built-in fields.
	Text      string            `json:"text"`
	Variables map[string]string `json:"variables,omitempty"`
	// Object is what the message is about, recorded in the conversation's activity.
	Object  *Object `json:"object,omitempty"`
	OnError OnError `json:"onError,omitzero"`
}

// Recipient names who the message is for.
type Recipient struct {
	ContactID      string `json:"contactID,omitempty"`
	ConversationID string `json:"conversationID,omitempty"`
}

// Object is the business object a message is about: a warranty claim, an order.
type Object struct {
	Kind  string `json:"kind"`
	ID    string `json:"id"`
	Title string `json:"title,omitempty"`
}

// OnError says what happens when the message cannot be sent.
type OnError struct {
	// Retry tries again, Attempts more times, Delay apart.
	Retry *Retry `json:"retry,omitempty"`
	// Notify tells operators and groups of the LiveChat when the message failed for
	// good, through the onError sends of its NotificationPolicies.
	Notify *Notify `json:"notify,omitempty"`
	// Interrupt gives up after the first failed attempt and reports it to the caller:
	// in the answer, or with CallbackURL set, in a signed POST to it.
	Interrupt *Interrupt `json:"interrupt,omitempty"`
}

// Retry is how often and how far apart a failed send is tried again.
type Retry struct {
	Attempts int `json:"attempts"`
	// Delay is a duration such as "30s"; 30s when empty.
	Delay string `json:"delay,omitempty"`
}

// Notify names who hears of a failure.
type Notify struct {
	Operators []string `json:"operators,omitempty"`
	Groups    []string `json:"groups,omitempty"`
}

// Interrupt reports a failure to the caller.
type Interrupt struct {
	// CallbackURL receives the failure as a signed POST; without it the request
	// waits for the outcome.
	CallbackURL string `json:"callbackURL,omitempty"`
}

// Bounds of a request.
const (
	maxRetries    = 20
	defaultDelay  = 30 * time.Second
	minDelay      = time.Second
	maxDelay      = 24 * time.Hour
	maxObjectText = 256
	maxIDLength   = 128
)

// plan is a validated request: the text filled, the retry schedule resolved.
type plan struct {
	text     string
	attempts int
	delay    time.Duration
}

var variableName = regexp.MustCompile(`^[a-z_]+$`)

// check validates a request (whose recipient was found) against the configuration and
// fills its text with builtin (the contact's fields) and its variables. Its errors are chat.Invalid, with
// a message that says what to change.
func check(req *Request, cfg *config.Config, builtin render.Values) (plan, error) {
	var p plan
	r := req.Recipient
	if len(r.ContactID) > maxIDLength || len(r.ConversationID) > maxIDLength {
		return p, chat.Invalid(fmt.Sprintf("recipient ids are at most %d characters", maxIDLength))
	}
	if req.Mode == "" {
		req.Mode = ModeIntegration
	}
	switch {
	case req.Mode != ModeIntegration && req.Mode != ModeApp:
		return p, chat.Invalid(fmt.Sprintf("mode %q is not known: use %q (every conversation of the contact) or %q (one conversation)", req.Mode, ModeIntegration, ModeApp))
	case req.Channel != "" && req.Mode != ModeApp:
		return p, chat.Invalid(`channel picks the channel of mode "app": set mode to "app", or leave channel out`)
	case req.Channel != "" && !slices.ContainsFunc(cfg.Channels, func(c config.Channel) bool { return c.Name == req.Channel }):
		return p, chat.Invalid(fmt.Sprintf("channel %q is not a channel of LiveChat %s", req.Channel, cfg.LiveChat.Name))
	case req.Sender != "" && req.Sender != cfg.LiveChat.Name:
		return p, chat.Invalid(fmt.Sprintf("sender %q is not the LiveChat this runtime serves: send to the runtime of %s, or set sender to %q", req.Sender, req.Sender, cfg.LiveChat.Name))
	}
	if err := checkObject(req.Object); err != nil {
		return p, err
	}
	text, err := fill(req.Text, req.Variables, builtin)
	if err != nil {
		return p, err
	}
	p.text = text
	p.attempts, p.delay, err = checkOnError(req.OnError, cfg)
	return p, err
}

func checkObject(o *Object) error {
	switch {
	case o == nil:
		return nil
	case o.Kind == "" || o.ID == "":
		return chat.Invalid("object needs a kind and an id, for example {\"kind\": \"WarrantyClaim\", \"id\": \"WC-1042\"}")
	case len(o.Kind)+len(o.ID)+len(o.Title) > maxObjectText:
		return chat.Invalid(fmt.Sprintf("object's kind, id and title are at most %d characters together", maxObjectText))
	case strings.ContainsAny(o.Kind+o.ID+o.Title, "\r\n"):
		return chat.Invalid("object's kind, id and title must be on one line")
	}
	return nil
}

// fill replaces the text's {name} fields with the variables, then the built-in
// fields; a field with neither is an error that names it.
func fill(text string, vars map[string]string, builtin render.Values) (string, error) {
	values := render.Values{}
	for k, v := range builtin {
		values[k] = v
	}
	for k, v := range vars {
		if !variableName.MatchString(k) {
			return "", chat.Invalid(fmt.Sprintf("variable %q cannot be used in the text: names are lowercase letters and _, as in {claim_number}", k))
		}
		values[k] = v
	}
	var unknown []string
	for _, f := range config.TemplateFields(text) {
		if _, ok := values[f]; !ok {
			unknown = append(unknown, "{"+f+"}")
		}
	}
	if len(unknown) > 0 {
		known := make([]string, 0, len(values))
		for k := range values {
			known = append(known, "{"+k+"}")
		}
		slices.Sort(known)
		return "", chat.Invalid(fmt.Sprintf("the text uses %s, which no variable sets: add it to variables, or use one of %s",
			strings.Join(unknown, ", "), strings.Join(known, ", ")))
	}
	out := render.Render(config.Template{Text: text}, values).Text
	if strings.TrimSpace(out) == "" {
		return "", chat.Invalid("text is empty: send at least one character")
	}
	if len(out) > chat.MaxMessageLength {
		return "", chat.Invalid(fmt.Sprintf("the text is %d bytes long once filled: the limit is %d", len(out), chat.MaxMessageLength))
	}
	return out, nil
}

// checkOnError returns how many attempts a send gets and how far apart.
func checkOnError(o OnError, cfg *config.Config) (attempts int, delay time.Duration, err error) {
	attempts, delay = 1, defaultDelay
	if r := o.Retry; r != nil {
		if o.Interrupt != nil {
			return 0, 0, chat.Invalid("onError.interrupt gives up after the first failure, so it cannot go with onError.retry: keep one of them")
		}
		if r.Attempts < 1 || r.Attempts > maxRetries {
			return 0, 0, chat.Invalid(fmt.Sprintf("onError.retry.attempts is how many times to try again: 1 to %d", maxRetries))
		}
		attempts = 1 + r.Attempts
		if r.Delay != "" {
			d, perr := time.ParseDuration(r.Delay)
			if perr != nil || d < minDelay || d > maxDelay {
				return 0, 0, chat.Invalid(fmt.Sprintf("onError.retry.delay %q must be a duration from %s to %s, such as 30s or 5m", r.Delay, minDelay, maxDelay))
			}
			delay = d
		}
	}
	if n := o.Notify; n != nil {
		if err := checkNotify(n, cfg); err != nil {
			return 0, 0, err
		}
	}
	if i := o.Interrupt; i != nil && i.CallbackURL != "" {
		u, perr := url.Parse(i.CallbackURL)
		if perr != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil {
			return 0, 0, chat.Invalid("onError.interrupt.callbackURL must be an absolute http:// or https:// URL without user info")
		}
	}
	return attempts, delay, nil
}

// checkNotify makes sure the people named exist and that some policy can tell them.
func checkNotify(n *Notify, cfg *config.Config) error {
	if len(n.Operators)+len(n.Groups) == 0 {
		return chat.Invalid("onError.notify names nobody: list operators or groups")
	}
	for _, name := range n.Operators {
		if !slices.ContainsFunc(cfg.People, func(p config.Person) bool { return p.Name == name }) {
			return chat.Invalid(fmt.Sprintf("onError.notify.operators: %q is not a person of LiveChat %s", name, cfg.LiveChat.Name))
		}
	}
	for _, name := range n.Groups {
		if !slices.ContainsFunc(cfg.Groups, func(g config.Group) bool { return g.Name == name }) {
			return chat.Invalid(fmt.Sprintf("onError.notify.groups: %q is not an OperatorGroup of LiveChat %s", name, cfg.LiveChat.Name))
		}
	}
	if !slices.ContainsFunc(cfg.Policies, func(p config.Policy) bool { return !p.Suspend && p.OnError != nil && len(p.OnError.Send) > 0 }) {
		return chat.Invalid(fmt.Sprintf("onError.notify tells people through a NotificationPolicy's onError.send, and no policy of LiveChat %s has one: add onError to a NotificationPolicy", cfg.LiveChat.Name))
	}
	return nil
}
