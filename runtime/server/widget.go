package server

import "github.com/switchboard-chat/switchboard/runtime/chat"

// widgetOrigins returns the origins that may embed a web widget channel's frame: its
// allowedOrigins, read from the configuration in force at each request.
func widgetOrigins(engine *chat.Engine) func(channel string) []string {
	return func(channel string) []string {
		ch := engine.Channel(channel)
		if ch == nil || ch.WebWidget == nil {
			return nil
		}
		return ch.WebWidget.AllowedOrigins
	}
}
