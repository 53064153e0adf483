package config_test

import (
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

func TestTimeZones(t *testing.T) {
	tests := []struct {
		zone    string
		problem bool
		want    string
	}{
		{"", false, "UTC"}, // read without the API server, which defaults it
		{"UTC", false, "UTC"},
		{"Europe/Berlin", false, "Europe/Berlin"},
		{"America/Argentina/Buenos_Aires", false, "America/Argentina/Buenos_Aires"},
		{"Mars/Olympus_Mons", true, ""},
		{"Local", true, ""}, // the machine's zone: runtimes in different places would differ
		{"europe/berlin", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.zone, func(t *testing.T) {
			in := sampleInput(t)
			in.LiveChat.Spec.TimeZone = tt.zone
			cfg, problems := config.Compile(in)
			var got []config.Problem
			for _, p := range problems {
				if p.Field == "spec.timeZone" {
					got = append(got, p)
				}
			}
			switch {
			case tt.problem && (len(got) != 1 || got[0].Reason != "InvalidTimeZone"):
				t.Errorf("problems %+v, want one InvalidTimeZone on spec.timeZone", got)
			case !tt.problem && len(got) > 0:
				t.Errorf("problems %+v, want none", got)
			case !tt.problem && cfg.LiveChat.TimeZone != tt.want:
				t.Errorf("compiled time zone %q, want %q", cfg.LiveChat.TimeZone, tt.want)
			}
		})
	}
}

// TestAnalyticsAndChannelFieldsCompile: the merge fields of DailyAnalytics and
// ChannelChanged are fields a template may use; a misspelt one is still a problem.
func TestAnalyticsAndChannelFieldsCompile(t *testing.T) {
	tests := []struct {
		text    string
		problem bool
	}{
		{"{analytics_day}: {chats} chats, {missed_chats} missed, waits {median_wait} (p90 {ninetieth_percentile_wait}), handled in {median_handling_time}, ratings {ratings}", false},
		{"{channel} {channel_status}: {channel_reason}", false},
		{"{median_waits}", true},
		{"{channel_state}", true},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			in := sampleInput(t)
			pol := &in.Policies[0]
			pol.Spec.Templates[0].Text = tt.text
			_, problems := config.Compile(in)
			found := false
			for _, p := range problems {
				found = found || p.Reason == "UnknownMergeField"
			}
			if found != tt.problem {
				t.Errorf("UnknownMergeField reported: %v, want %v (%+v)", found, tt.problem, problems)
			}
		})
	}
}

// TestEveryMergeFieldIsOneTemplatesCanName: a field whose name the template syntax
// does not read ({p90}: digits) would pass the compile check unseen and never render.
func TestEveryMergeFieldIsOneTemplatesCanName(t *testing.T) {
	for name := range config.MergeFields {
		if got := config.TemplateFields("{" + name + "}"); len(got) != 1 || got[0] != name {
			t.Errorf("merge field %q is not read from {%s}: name it with lowercase letters and underscores", name, name)
		}
	}
}
