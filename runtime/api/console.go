package api

import (
	"slices"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// meView is GET /api/v1/me: who the operator is, with what the console needs to
// draw itself: the LiveChat's console settings and, for each queue they see, where
// its chats may be transferred and which chat actions it has.
type meView struct {
	chat.Me
	Console      consoleSettings `json:"console"`
	QueueDetails []queueDetails  `json:"queueDetails"`
}

// consoleSettings are the LiveChat's spec.console.
type consoleSettings struct {
	Sound                soundSettings `json:"sound"`
	DesktopNotifications bool          `json:"desktopNotifications"`
}

type soundSettings struct {
	Enabled bool `json:"enabled"`
	// URL of the alert sound; empty: the console's own chime.
	URL  string `json:"url,omitempty"`
	Loop bool   `json:"loop"`
}

// queueDetails is what a console shows of one queue: never its webhooks.
type queueDetails struct {
	Name            string          `json:"name"`
	DisplayName     string          `json:"displayName,omitempty"`
	TransferTargets []string        `json:"transferTargets"`
	Actions         []actionCaption `json:"actions"`
	Operators       []personName    `json:"operators"`
}

type actionCaption struct {
	Name    string `json:"name"`
	Caption string `json:"caption"`
}

type personName struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// Skills are the operator's labels (OperatorGroup members' skills), shown where an
	// operator picks an expert to transfer a chat to.
	Skills []string `json:"skills,omitempty"`
}

// meWithConsole adds the console's settings and the queues' details to me.
func (s *Server) meWithConsole(me chat.Me) meView {
	v := meView{Me: me, QueueDetails: []queueDetails{}}
	cfg, _ := s.engine.Config()
	if cfg == nil {
		return v
	}
	c := cfg.LiveChat.Console
	v.Console = consoleSettings{Sound: soundSettings{Enabled: c.SoundEnabled, URL: c.SoundURL, Loop: c.SoundLoop},
		DesktopNotifications: c.DesktopNotifications}
	people := map[string]personName{}
	for _, p := range cfg.People {
		people[p.Name] = personName{Name: p.Name, DisplayName: p.DisplayName, Skills: p.Skills}
	}
	for _, q := range cfg.Queues {
		if !slices.Contains(me.Queues, q.Name) {
			continue
		}
		v.QueueDetails = append(v.QueueDetails, detailsOf(q, people))
	}
	return v
}

func detailsOf(q config.Queue, people map[string]personName) queueDetails {
	d := queueDetails{Name: q.Name, DisplayName: q.DisplayName, TransferTargets: append([]string{}, q.TransferTargets...),
		Actions: []actionCaption{}, Operators: []personName{}}
	for _, a := range q.Actions {
		d.Actions = append(d.Actions, actionCaption{Name: a.Name, Caption: a.Caption})
	}
	for _, op := range q.Operators {
		p := people[op]
		p.Name = op
		d.Operators = append(d.Operators, p)
	}
	return d
}
