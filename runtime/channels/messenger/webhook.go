package messenger

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/meta"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Webhook verifies a request from Meta and parses the Page's events. Entries of other
// Pages and objects other than "page" are ignored, not refused: one app's webhook
// receives every Page and product subscribed to it, and a refusal would only make
// Meta deliver them again.
func (a *Adapter) Webhook(r *http.Request, body []byte) (channels.Reply, error) {
	reply, handshake, err := a.hook.Authenticate(r, body)
	if err != nil || handshake {
		return reply, err
	}
	var p delivery
	if err := json.Unmarshal(body, &p); err != nil {
		return channels.Reply{}, channels.Malformed("the body is not a Messenger webhook delivery: %v", jsonProblem(err))
	}
	if p.Object != "page" {
		return channels.Reply{}, nil
	}
	var events []channels.Event
	for _, e := range p.Entry {
		if string(e.ID) != a.pageID {
			continue
		}
		// standby: the events of threads another app (the bot's) holds, which a
		// secondary receiver gets. The person's messages are theirs all the same.
		for _, items := range [][]messaging{e.Messaging, e.Standby} {
			for _, m := range items {
				events = append(events, m.events()...)
			}
		}
	}
	return channels.Reply{Events: events}, nil
}

// jsonProblem says what is wrong with a body without quoting it.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "invalid JSON"
	case errors.As(err, &te):
		return "field " + te.Field + " has the wrong type"
	}
	return "invalid JSON"
}

// delivery is the body of a webhook POST.
type delivery struct {
	Object string `json:"object"`
	Entry  []struct {
		ID        meta.ID     `json:"id"`
		Messaging []messaging `json:"messaging"`
		Standby   []messaging `json:"standby"`
	} `json:"entry"`
}

// messaging is one event of a Page's thread with a person.
type messaging struct {
	Sender    party    `json:"sender"`
	Recipient party    `json:"recipient"`
	Timestamp meta.Int `json:"timestamp"`
	Message   *message `json:"message"`
	Postback  *struct {
		MID     string `json:"mid"`
		Title   string `json:"title"`
		Payload string `json:"payload"`
	} `json:"postback"`
	Delivery *struct {
		MIDs      []string `json:"mids"`
		Watermark meta.Int `json:"watermark"`
	} `json:"delivery"`
	Read *struct {
		Watermark meta.Int `json:"watermark"`
	} `json:"read"`
	PassThreadControl    *handover `json:"pass_thread_control"`
	TakeThreadControl    *handover `json:"take_thread_control"`
	RequestThreadControl *handover `json:"request_thread_control"`
}

type party struct {
	ID meta.ID `json:"id"`
}

type message struct {
	MID         string       `json:"mid"`
	Text        string       `json:"text"`
	IsEcho      bool         `json:"is_echo"`
	Attachments []attachment `json:"attachments"`
}

type attachment struct {
	Type  string `json:"type"`
	Title string `json:"title"`
	URL   string `json:"url"`
	// Payload is null for a fallback Meta cannot describe.
	Payload *struct {
		URL         string `json:"url"`
		Title       string `json:"title"`
		Coordinates *struct {
			Lat  float64 `json:"lat"`
			Long float64 `json:"long"`
		} `json:"coordinates"`
	} `json:"payload"`
}

type handover struct {
	NewOwnerAppID       meta.ID `json:"new_owner_app_id"`
	PreviousOwnerAppID  meta.ID `json:"previous_owner_app_id"`
	RequestedOwnerAppID meta.ID `json:"requested_owner_app_id"`
}

// events turns one messaging item into events; what the channel has no use for (an
// echo of the Page's own message, a reaction, an edit) gives none.
func (m messaging) events() []channels.Event {
	psid := string(m.Sender.ID)
	if psid == "" {
		return nil
	}
	contact := channels.Contact{ExternalID: psid}
	at := meta.Millis(m.Timestamp)
	switch {
	case m.Message != nil:
		if m.Message.IsEcho || m.Message.MID == "" {
			return nil
		}
		ev := channels.Event{Kind: channels.EventMessage, Contact: contact, ProviderID: m.Message.MID, Text: m.Message.Text, At: at}
		for _, a := range m.Message.Attachments {
			ev = withAttachment(ev, a)
		}
		if strings.TrimSpace(ev.Text) == "" && len(ev.Attachments) == 0 {
			return nil
		}
		return []channels.Event{ev}
	case m.Postback != nil:
		// A tapped button: its title is what the person "said". A postback has no mid
		// on older versions; the person and the time identify it then.
		text := m.Postback.Title
		if strings.TrimSpace(text) == "" {
			text = m.Postback.Payload
		}
		id := "postback:" + m.Postback.MID
		if m.Postback.MID == "" {
			id = "postback:" + psid + ":" + m.Timestamp.String()
		}
		if strings.TrimSpace(text) == "" {
			return nil
		}
		return []channels.Event{{Kind: channels.EventMessage, Contact: contact, ProviderID: id, Text: text, At: at}}
	case m.Delivery != nil:
		watermark := meta.Millis(m.Delivery.Watermark)
		var events []channels.Event
		for _, mid := range m.Delivery.MIDs {
			if mid != "" {
				events = append(events, channels.Event{Kind: channels.EventDelivery, Contact: contact, ProviderID: mid,
					Delivery: store.DeliveryDelivered, At: watermark})
			}
		}
		// The watermark covers the messages mids leaves out (older Messenger clients
		// send none).
		if !watermark.IsZero() {
			events = append(events, channels.Event{Kind: channels.EventDelivery, Contact: contact,
				Delivery: store.DeliveryDelivered, Watermark: watermark, At: watermark})
		}
		return events
	case m.Read != nil:
		watermark := meta.Millis(m.Read.Watermark)
		if watermark.IsZero() {
			return nil
		}
		return []channels.Event{{Kind: channels.EventDelivery, Contact: contact, Delivery: store.DeliveryRead,
			Watermark: watermark, At: at}}
	case m.PassThreadControl != nil:
		return handoverEvent(contact, at, "thread control passed from "+app(m.PassThreadControl.PreviousOwnerAppID)+
			" to "+app(m.PassThreadControl.NewOwnerAppID))
	case m.TakeThreadControl != nil:
		return handoverEvent(contact, at, app(m.TakeThreadControl.NewOwnerAppID)+" took thread control from "+
			app(m.TakeThreadControl.PreviousOwnerAppID))
	case m.RequestThreadControl != nil:
		return handoverEvent(contact, at, app(m.RequestThreadControl.RequestedOwnerAppID)+" asks for thread control")
	}
	return nil
}

func handoverEvent(c channels.Contact, at time.Time, text string) []channels.Event {
	return []channels.Event{{Kind: channels.EventHandover, Contact: c, Text: text, At: at}}
}

// app names an app id in a handover's words; none means the thread was idle.
func app(id meta.ID) string {
	if id == "" {
		return "no app (idle)"
	}
	return "app " + string(id)
}

// withAttachment adds what a Messenger attachment carries to a message event.
func withAttachment(ev channels.Event, a attachment) channels.Event {
	url, title := a.URL, a.Title
	if a.Payload != nil {
		url, title = first(a.Payload.URL, url), first(a.Payload.Title, title)
	}
	kind := ""
	switch a.Type {
	case "image":
		kind = channels.AttachmentImage // stickers too: an image with a sticker_id
	case "video", "reel", "ig_reel":
		kind = channels.AttachmentVideo
	case "audio":
		kind = channels.AttachmentAudio
	case "file":
		kind = channels.AttachmentDocument
	case "location":
		if a.Payload != nil && a.Payload.Coordinates != nil {
			c := a.Payload.Coordinates
			ev.Attachments = append(ev.Attachments, channels.Attachment{Kind: channels.AttachmentLocation, Name: title,
				Latitude: c.Lat, Longitude: c.Long})
		}
		return ev
	case "fallback":
		// A shared link: what the console can show of it is its title and address.
		if line := strings.TrimSpace(strings.TrimSpace(title) + " " + url); line != "" && (url == "" || !strings.Contains(ev.Text, url)) {
			ev.Text = strings.TrimSpace(ev.Text + "\n" + line)
		}
		return ev
	default:
		return ev // templates, products, posts: nothing a console can show
	}
	if url == "" {
		return ev
	}
	ev.Attachments = append(ev.Attachments, channels.Attachment{Kind: kind, Ref: url, Name: title})
	return ev
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
