package webhook

import (
	"strings"
	"unicode/utf8"

	"github.com/switchboard-chat/switchboard/runtime/notify"
)

// Slack's limits: a section's text is at most 3000 characters; the message's text,
// which notifications and clients without blocks show, is cut by Slack past 40000.
const (
	maxSectionText = 3000
	maxFallback    = 4000
)

// slack is an incoming-webhook message: text for notifications, blocks for the
// channel.
type slack struct {
	Text   string       `json:"text"`
	Blocks []slackBlock `json:"blocks"`
}

type slackBlock struct {
	Type     string      `json:"type"`
	Text     *slackText  `json:"text,omitempty"`
	Elements []slackText `json:"elements,omitempty"`
}

type slackText struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// slackMessage renders d for Slack: the subject in bold over the text, and a context
// line with a link to the conversation and the event.
func slackMessage(d notify.Delivery) slack {
	subject, text := strings.TrimSpace(d.Subject), strings.TrimSpace(d.Text)
	var section string
	switch {
	case subject != "" && text != "":
		section = "*" + escape(subject) + "*\n" + escape(text)
	default:
		section = escape(subject + text)
	}
	fallback := subject
	if text != "" {
		fallback = strings.TrimPrefix(subject+": "+text, ": ")
	}
	msg := slack{Text: clip(escape(fallback), maxFallback),
		Blocks: []slackBlock{{Type: "section", Text: &slackText{Type: "mrkdwn", Text: clip(section, maxSectionText)}}}}
	var context []string
	if link := slackLink(d.Link); link != "" {
		context = append(context, "<"+link+"|Open the conversation>")
	}
	if d.Event != "" {
		context = append(context, escape(d.Event))
	}
	if len(context) > 0 {
		msg.Blocks = append(msg.Blocks, slackBlock{Type: "context", Elements: []slackText{{Type: "mrkdwn", Text: strings.Join(context, " · ")}}})
	}
	return msg
}

// escape makes text literal in Slack's mrkdwn, where &, < and > are control characters.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// slackLink is link if Slack's <url|label> syntax can carry it, else "".
func slackLink(link string) string {
	if !strings.HasPrefix(link, "https://") && !strings.HasPrefix(link, "http://") {
		return ""
	}
	if strings.ContainsAny(link, "|<> \t\r\n") {
		return ""
	}
	return strings.ReplaceAll(link, "&", "&amp;")
}

// clip cuts s to n characters, ending in "…" when cut, without splitting an escape.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	cut := string([]rune(s)[:n-1])
	if i := strings.LastIndexByte(cut, '&'); i >= 0 && !strings.Contains(cut[i:], ";") {
		cut = cut[:i]
	}
	return cut + "…"
}
