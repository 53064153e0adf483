package dispatch_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/analytics"
	"github.com/switchboard-chat/switchboard/runtime/channelevents"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestDailyAnalyticsReachTheSupervisors: a DailyAnalytics event goes through the
// rules like any other: by email to the supervisors, with the day's figures in the
// template's merge fields.
func TestDailyAnalyticsReachTheSupervisors(t *testing.T) {
	const text = "{analytics_day}: {chats} chats, {missed_chats} missed; wait {median_wait} (p90 {ninetieth_percentile_wait}); handled in {median_handling_time}; ratings [{ratings}]"
	r := newRig(t, func(cfg *config.Config) {
		pol := &cfg.Policies[0]
		pol.Templates = append(pol.Templates, config.Template{Name: "daily", Subject: "Daily figures of {livechat}", Text: text,
			Fields: config.TemplateFields(text)})
		pol.Rules = append(pol.Rules, config.Rule{Name: "daily", Events: []config.EventType{"DailyAnalytics"},
			Recipients: config.Recipients{Kinds: []config.RecipientKind{"Supervisors"}},
			Send:       []config.SendSpec{{Provider: "email", Template: "daily"}}})
	})
	wait, p90, handled, stars := 42.0, 95.0, 600.0, 4.5
	detail, err := json.Marshal(analytics.Figures{Day: "2030-05-06", TimeZone: "Europe/Berlin", Chats: 12, MissedChats: 2,
		MedianWait: &wait, P90Wait: &p90, MedianHandling: &handled, Ratings: &analytics.Ratings{Count: 3, Average: &stars, ThumbsUp: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.st.AppendEvents(context.Background(), store.Event{Type: "DailyAnalytics", Detail: string(detail), Key: "DailyAnalytics/2030-05-06"}); err != nil {
		t.Fatal(err)
	}
	got := r.waitFor(t, 1)
	if len(got) != 1 || !strings.HasPrefix(got[0], "email→Sam") {
		t.Fatalf("deliveries %v, want one email to the supervisor", got)
	}
	r.rec.mu.Lock()
	body := r.rec.lastEmail
	r.rec.mu.Unlock()
	if want := "2030-05-06: 12 chats, 2 missed; wait 42s (p90 1m35s); handled in 10m0s; ratings [3 (average 4.5 of 2; 1 up, 0 down)]"; body != want {
		t.Errorf("email %q, want %q", body, want)
	}
}

// TestChannelChangedFollowsTheRules: a ChannelChanged event reaches the rules that
// name it, and a rule's channels condition applies to the event's channel.
func TestChannelChangedFollowsTheRules(t *testing.T) {
	const text = "{channel} {channel_status}: {channel_reason}"
	r := newRig(t, func(cfg *config.Config) {
		pol := &cfg.Policies[0]
		pol.Templates = append(pol.Templates, config.Template{Name: "channel", Subject: text, Text: text, Fields: config.TemplateFields(text)})
		pol.Rules = append(pol.Rules, config.Rule{Name: "channels", Events: []config.EventType{"ChannelChanged"},
			Recipients: config.Recipients{Kinds: []config.RecipientKind{"Supervisors"}},
			When:       config.When{Channels: []string{"telegram"}},
			Send:       []config.SendSpec{{Provider: "email", Template: "channel"}}})
	})
	for _, c := range []channelevents.Change{
		{Channel: "website", Status: channelevents.Deactivated},
		{Channel: "telegram", Status: channelevents.Disconnected, Reason: "InvalidCredentials", Message: "telegram rejects the bot token"},
	} {
		detail, _ := json.Marshal(c)
		if err := r.st.AppendEvents(context.Background(), store.Event{Type: "ChannelChanged", Detail: string(detail)}); err != nil {
			t.Fatal(err)
		}
	}
	got := r.waitFor(t, 1)
	time.Sleep(200 * time.Millisecond)
	got = r.rec.deliveries()
	if len(got) != 1 || !strings.HasSuffix(got[0], "disconnected: telegram rejects the bot token") {
		t.Fatalf("deliveries %v, want the supervisor told of telegram only", got)
	}
}
