package channelevents_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/channelevents"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// TestChannelChangesAreRecorded feeds two recorders on one store (two replicas) the
// same configurations and connection statuses: every change is one ChannelChanged
// event, first sights and repeats are none, and an inactive channel's connection
// news is left out.
func TestChannelChangesAreRecorded(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := sqlstore.OpenSQLite(ctx, t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recorders := []*channelevents.Recorder{channelevents.New(st, nil), channelevents.New(st, nil)}
	for _, r := range recorders {
		go r.Run(ctx)
	}
	configured := func(active bool) func(*channelevents.Recorder) {
		return func(r *channelevents.Recorder) {
			r.Configured(&config.Config{Channels: []config.Channel{{Name: "telegram", Active: active}, {Name: "website", Active: true}}})
		}
	}
	status := func(reason, message string) func(*channelevents.Recorder) {
		return func(r *channelevents.Recorder) {
			r.Status(channels.Status{Channel: "telegram", Connected: reason == channels.ReasonConnected, Reason: reason, Message: message})
		}
	}
	var last int64
	steps := []struct {
		name string
		do   func(*channelevents.Recorder)
		want []channelevents.Change
	}{
		{"first configuration: first sight", configured(true), nil},
		{"first connection status: first sight", status(channels.ReasonConnected, "ok"), nil},
		{"the same again", status(channels.ReasonConnected, "the webhook is registered"), nil},
		{"the token is refused", status(channels.ReasonInvalidCredentials, "telegram rejects the bot token\n(401)"),
			[]channelevents.Change{{Channel: "telegram", Status: channelevents.Disconnected, Reason: "InvalidCredentials",
				Message: "telegram rejects the bot token (401)"}}},
		{"still refused", status(channels.ReasonProviderError, "timeout"), nil},
		{"switched off", configured(false), []channelevents.Change{{Channel: "telegram", Status: channelevents.Deactivated}}},
		{"an inactive channel's status is no news", status(channels.ReasonConnected, "ok"), nil},
		{"the manager reports it inactive", status(channels.ReasonInactive, "the channel is switched off"), nil},
		{"switched on", configured(true), []channelevents.Change{{Channel: "telegram", Status: channelevents.Activated}}},
		{"connected again", status(channels.ReasonConnected, "ok"),
			[]channelevents.Change{{Channel: "telegram", Status: channelevents.Connected, Reason: "Connected", Message: "ok"}}},
	}
	for _, s := range steps {
		for _, r := range recorders {
			s.do(r)
		}
		deadline := time.Now().Add(10 * time.Second)
		for recorders[0].Pending()+recorders[1].Pending() > 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		evs, err := st.Events(ctx, last, 100)
		if err != nil {
			t.Fatal(err)
		}
		var got []channelevents.Change
		for _, e := range evs {
			last = e.ID
			var c channelevents.Change
			if e.Type != "ChannelChanged" || json.Unmarshal([]byte(e.Detail), &c) != nil {
				t.Fatalf("%s: recorded %+v", s.name, e)
			}
			got = append(got, c)
		}
		if len(got) != len(s.want) || (len(got) > 0 && got[0] != s.want[0]) {
			t.Errorf("%s: recorded %+v, want %+v", s.name, got, s.want)
		}
	}
}
