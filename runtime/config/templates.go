package config

import (
	"regexp"
	"sort"
)

// MergeFields are the fields a notification template may use, written {name}.
var MergeFields = map[string]string{
	"recipient_name":            "name of the person receiving the notification",
	"sender_name":               "name of the person who sent the triggering message",
	"sender_profile_image":      "profile image URL of the sender",
	"message":                   "text of the triggering message",
	"attachments":               "links to the message's attachments, one per line",
	"conversation_link":         "link to the conversation in the operator console (operators only)",
	"conversation_id":           "id of the conversation",
	"conversation":              "the whole conversation so far (for digests)",
	"contact_name":              "name of the visitor or client",
	"contact_email":             "email address of the visitor or client",
	"operator_name":             "name of the operator holding the chat",
	"queue":                     "display name of the chat's queue",
	"channel":                   "display name of the chat's channel",
	"livechat":                  "display name of the LiveChat",
	"event":                     "the event that triggered the notification",
	"time":                      "when the event happened, RFC 3339",
	"error":                     "the delivery error (onError notifications)",
	"analytics_day":             "the day the figures cover, YYYY-MM-DD in the LiveChat's time zone (DailyAnalytics)",
	"chats":                     "chats started that day (DailyAnalytics)",
	"missed_chats":              "chats of that day that no operator accepted (DailyAnalytics)",
	"median_wait":               "median time the day's chats waited for an operator to accept them (DailyAnalytics)",
	"ninetieth_percentile_wait": "90th percentile of that wait (DailyAnalytics)",
	"median_handling_time":      "median time from acceptance to the end of the day's finished chats (DailyAnalytics)",
	"ratings":                   "the day's chat ratings: how many, their average and thumbs up and down (DailyAnalytics)",
	"rating":                    "the visitor's rating of the chat: 4/5, thumbs up; empty until rated",
	"feedback":                  "the visitor's free-text feedback on the chat; empty until given",
	"survey":                    "the visitor's survey answers, a line per question: question: answer",
	"goals":                     "the goals the chat reached, comma-separated",
	"goal":                      "the goal just reached (ChatGoalReached)",
	"channel_status":            "what changed: activated, deactivated, connected or disconnected (ChannelChanged)",
	"channel_reason":            "why, in the provider's words and without secrets (ChannelChanged)",
}

var mergeFieldPattern = regexp.MustCompile(`\{([a-z_]+)\}`)

// TemplateFields returns the merge fields used in the texts, sorted and distinct.
func TemplateFields(texts ...string) []string {
	seen := map[string]bool{}
	for _, t := range texts {
		for _, m := range mergeFieldPattern.FindAllStringSubmatch(t, -1) {
			seen[m[1]] = true
		}
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// knownMergeFieldNames lists the catalogue for messages.
func knownMergeFieldNames() []string {
	out := make([]string, 0, len(MergeFields))
	for f := range MergeFields {
		out = append(out, "{"+f+"}")
	}
	sort.Strings(out)
	return out
}
