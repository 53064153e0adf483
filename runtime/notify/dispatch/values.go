package dispatch

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/channelevents"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/render"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// notAvailable stands for a figure the day had no data for (no chat was accepted).
const notAvailable = "n/a"

// analyticsValues are the merge fields of a DailyAnalytics event.
func analyticsValues(v render.Values, detail string) {
	var f analytics.Figures
	if json.Unmarshal([]byte(detail), &f) != nil {
		return
	}
	v["message"] = ""
	v["analytics_day"] = f.Day
	v["chats"], v["missed_chats"] = strconv.Itoa(f.Chats), strconv.Itoa(f.MissedChats)
	v["median_wait"], v["ninetieth_percentile_wait"] = seconds(f.MedianWait), seconds(f.P90Wait)
	v["median_handling_time"] = seconds(f.MedianHandling)
	if r := f.Ratings; r != nil && r.Count > 0 {
		v["ratings"] = ratingsText(*r)
	}
}

// ratingsText writes a day's ratings: "5 (average 4.2 of 3; 1 up, 1 down)".
func ratingsText(r analytics.Ratings) string {
	var parts []string
	if r.Average != nil {
		parts = append(parts, "average "+strconv.FormatFloat(*r.Average, 'f', 1, 64)+" of "+strconv.Itoa(r.Count-r.ThumbsUp-r.ThumbsDown))
	}
	if r.ThumbsUp+r.ThumbsDown > 0 {
		parts = append(parts, strconv.Itoa(r.ThumbsUp)+" up, "+strconv.Itoa(r.ThumbsDown)+" down")
	}
	return strconv.Itoa(r.Count) + " (" + strings.Join(parts, "; ") + ")"
}

// feedbackValues are the merge fields of what the visitor told of the chat, for
// every event about a conversation; {goal} is the goal a ChatGoalReached is about.
func feedbackValues(cfg *config.Config, v render.Values, conv store.Conversation, ev store.Event) {
	if conv.Rating != nil {
		v["rating"] = conv.Rating.String()
	}
	v["feedback"] = conv.Feedback
	if len(conv.Survey) > 0 {
		for _, ch := range cfg.Channels {
			if ch.Name == conv.Channel {
				v["survey"] = config.SurveyText(ch.WebWidget, conv.Survey)
			}
		}
	}
	v["goals"] = strings.Join(conv.Goals, ", ")
	if ev.Type == string(chatv1alpha1.EventChatGoalReached) {
		v["goal"] = ev.Detail
	}
}

// seconds writes a duration figure as people read it: 1m30s.
func seconds(s *float64) string {
	if s == nil {
		return notAvailable
	}
	return (time.Duration(*s * float64(time.Second))).Round(time.Second).String()
}

// channelValues are the merge fields of a ChannelChanged event.
func channelValues(cfg *config.Config, v render.Values, detail string) {
	var c channelevents.Change
	if json.Unmarshal([]byte(detail), &c) != nil {
		return
	}
	v["message"] = ""
	v["channel"] = c.Channel
	for _, ch := range cfg.Channels {
		if ch.Name == c.Channel && ch.DisplayName != "" {
			v["channel"] = ch.DisplayName
		}
	}
	v["channel_status"], v["channel_reason"] = c.Status, c.Message
}
