package dispatch

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/channelevents"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/notify/render"
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
		v["ratings"] = strconv.Itoa(r.Count) + " (average " + strconv.FormatFloat(r.Average, 'f', 1, 64) + ")"
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
