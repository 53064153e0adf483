// Package render fills notification templates: the merge fields of config.MergeFields,
// written {name}, replaced with the event's values. In HTML bodies every value is
// escaped and its line breaks become <br>; the template's own markup is the policy
// author's and is kept. A field a template may not use is a compile problem (see
// config.TemplateFields), so rendering never meets one.
package render

import (
	"html"
	"regexp"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Values are the merge fields' values, by field name.
type Values map[string]string

// Message is a rendered notification.
type Message struct {
	Subject string
	Text    string
	HTML    string
}

var field = regexp.MustCompile(`\{([a-z_]+)\}`)

// Render fills tpl with v. A field without a value renders empty.
func Render(tpl config.Template, v Values) Message {
	m := Message{
		Subject: oneLine(fill(tpl.Subject, v, plain)),
		Text:    fill(tpl.Text, v, plain),
	}
	if tpl.HTML != "" {
		m.HTML = fill(tpl.HTML, v, escaped)
	}
	return m
}

func plain(s string) string { return s }

// escaped is a value as HTML: escaped, with its line breaks kept as <br>.
func escaped(s string) string {
	s = html.EscapeString(strings.ReplaceAll(s, "\r\n", "\n"))
	return strings.ReplaceAll(s, "\n", "<br>")
}

func fill(text string, v Values, encode func(string) string) string {
	return field.ReplaceAllStringFunc(text, func(m string) string {
		return encode(v[m[1:len(m)-1]])
	})
}

// oneLine keeps a subject on one line: a value with a line break must not start a
// header of its own.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// Builtin is the template of a rule's send that names none: a short text per event.
func Builtin(event config.EventType) config.Template {
	subject, text := "{event}: {conversation_id}", "{event} in {queue} ({channel}).\n{conversation_link}"
	switch event {
	case "FirstMessageReceived", "MessageReceived":
		subject, text = "New message from {sender_name}", "{sender_name}: {message}\n{conversation_link}"
	case "MessageSent":
		subject, text = "A reply from {sender_name}", "{sender_name} answered:\n{message}"
	case "OfflineMessage":
		subject, text = "Offline message from {sender_name}", "{sender_name} left a message:\n{message}\n{conversation_link}"
	case "OperatorOnline", "OperatorAway", "OperatorBack", "OperatorOffline":
		subject, text = "{event}: {operator_name}", "{operator_name}: {event} at {time}"
	case "DeliveryFailed":
		subject, text = "A notification could not be delivered", "A notification about conversation {conversation_id} failed: {error}"
	case "DailyAnalytics":
		subject = "{livechat} on {analytics_day}: {chats} chats, {missed_chats} missed"
		text = "{livechat} on {analytics_day}\nChats: {chats}\nMissed chats: {missed_chats}\nMedian wait: {median_wait} (90% within {ninetieth_percentile_wait})\n" +
			"Median handling time: {median_handling_time}"
	case "ChannelChanged":
		subject, text = "Channel {channel} {channel_status}", "Channel {channel} of {livechat} was {channel_status} at {time}.\n{channel_reason}"
	}
	return config.Template{Name: "", Subject: subject, Text: text, Fields: config.TemplateFields(subject, text)}
}
