package server

import (
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/messenger"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
	"github.com/switchboard-chat/switchboard/runtime/channels/twilio"
	"github.com/switchboard-chat/switchboard/runtime/channels/whatsapp"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// DefaultProviders are the messengers a runtime connects.
var DefaultProviders = map[config.ChannelType]channels.Provider{
	config.ChannelTelegram:          telegram.Provider,
	config.ChannelSMS:               twilio.Provider,
	config.ChannelFacebookMessenger: messenger.Provider,
	config.ChannelWhatsApp:          whatsapp.Provider,
}
