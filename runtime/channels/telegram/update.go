package telegram

import (
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// update is the part of a Bot API Update the channel reads.
type update struct {
	UpdateID int64    `json:"update_id"`
	Message  *message `json:"message"`
}

type message struct {
	MessageID int64 `json:"message_id"`
	From      *user `json:"from"`
	Chat      struct {
		ID        int64  `json:"id"`
		Type      string `json:"type"`
		FirstName string `json:"first_name"`
		LastName  string `json:"last_name"`
		Username  string `json:"username"`
	} `json:"chat"`
	Date     int64          `json:"date"`
	Text     string         `json:"text"`
	Caption  string         `json:"caption"`
	Photo    []photoSize    `json:"photo"`
	Document *file          `json:"document"`
	Voice    *file          `json:"voice"`
	Audio    *file          `json:"audio"`
	Video    *file          `json:"video"`
	Location *location      `json:"location"`
	Contact  *sharedContact `json:"contact"`
}

type user struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Username  string `json:"username"`
}

type photoSize struct {
	FileID   string `json:"file_id"`
	Width    int    `json:"width"`
	Height   int    `json:"height"`
	FileSize int64  `json:"file_size"`
}

type file struct {
	FileID   string `json:"file_id"`
	FileName string `json:"file_name"`
	MimeType string `json:"mime_type"`
}

type location struct {
	Latitude  float64 `json:"latitude"`
	Longitude float64 `json:"longitude"`
}

type sharedContact struct {
	PhoneNumber string `json:"phone_number"`
	UserID      int64  `json:"user_id"`
}

// messageKey identifies a message within the bot: message ids count per chat.
func messageKey(chatID, messageID int64) string {
	return strconv.FormatInt(chatID, 10) + ":" + strconv.FormatInt(messageID, 10)
}

// event turns an update into a message event; ok is false for updates the channel
// does not take (edits, channel posts, a bot's own messages, group chats).
func (u update) event() (channels.Event, bool) {
	m := u.Message
	if m == nil || m.Chat.ID == 0 || m.MessageID <= 0 || m.Chat.Type != "private" || m.From != nil && m.From.IsBot {
		return channels.Event{}, false
	}
	ev := channels.Event{Kind: channels.EventMessage, ProviderID: messageKey(m.Chat.ID, m.MessageID),
		Contact: channels.Contact{ExternalID: strconv.FormatInt(m.Chat.ID, 10), Name: displayName(m)}, Text: m.Text}
	if m.Date > 0 {
		ev.At = time.Unix(m.Date, 0).UTC()
	}
	if ev.Text == "" {
		ev.Text = m.Caption
	}
	if len(m.Photo) > 0 {
		largest := m.Photo[len(m.Photo)-1] // sizes come smallest first
		ev.Attachments = append(ev.Attachments, channels.Attachment{Kind: channels.AttachmentImage, Ref: largest.FileID, ContentType: "image/jpeg"})
	}
	for _, f := range []struct {
		f    *file
		kind string
	}{{m.Document, channels.AttachmentDocument}, {m.Voice, channels.AttachmentAudio}, {m.Audio, channels.AttachmentAudio}, {m.Video, channels.AttachmentVideo}} {
		if f.f != nil && f.f.FileID != "" {
			ev.Attachments = append(ev.Attachments, channels.Attachment{Kind: f.kind, Ref: f.f.FileID, Name: f.f.FileName, ContentType: f.f.MimeType})
		}
	}
	if l := m.Location; l != nil {
		ev.Attachments = append(ev.Attachments, channels.Attachment{Kind: channels.AttachmentLocation, Latitude: l.Latitude, Longitude: l.Longitude})
	}
	if c := m.Contact; c != nil && c.UserID == m.Chat.ID && c.PhoneNumber != "" {
		// The user shared their own number.
		ev.Contact.Phone = "+" + strings.TrimPrefix(c.PhoneNumber, "+")
		if ev.Text == "" {
			ev.Text = "[shared their phone number: " + ev.Contact.Phone + "]"
		}
	}
	return ev, true
}

// displayName is the contact's name as the console shows it.
func displayName(m *message) string {
	first, last, username := m.Chat.FirstName, m.Chat.LastName, m.Chat.Username
	if m.From != nil {
		first, last, username = m.From.FirstName, m.From.LastName, m.From.Username
	}
	name := strings.TrimSpace(first + " " + last)
	if name == "" && username != "" {
		name = "@" + username
	}
	return name
}
