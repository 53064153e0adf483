package whatsapp

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/meta"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// Webhook verifies a request from Meta and parses the phone number's messages and
// statuses. Changes of other phone numbers, fields other than "messages" and objects
// other than WhatsApp Business Accounts are ignored, not refused: one app's webhook
// receives every number and field subscribed to it, and a refusal would only make
// Meta deliver them again.
func (a *Adapter) Webhook(r *http.Request, body []byte) (channels.Reply, error) {
	reply, handshake, err := a.hook.Authenticate(r, body)
	if err != nil || handshake {
		return reply, err
	}
	var p delivery
	if err := json.Unmarshal(body, &p); err != nil {
		problem := "invalid JSON"
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			problem = "field " + te.Field + " has the wrong type"
		}
		return channels.Reply{}, channels.Malformed("the body is not a WhatsApp webhook delivery: %s", problem)
	}
	if p.Object != "whatsapp_business_account" {
		return channels.Reply{}, nil
	}
	var events []channels.Event
	for _, e := range p.Entry {
		for _, c := range e.Changes {
			if c.Field != "messages" || string(c.Value.Metadata.PhoneNumberID) != a.phoneNumberID {
				continue
			}
			events = append(events, c.Value.events()...)
		}
	}
	return channels.Reply{Events: events}, nil
}

// delivery is the body of a webhook POST.
type delivery struct {
	Object string `json:"object"`
	Entry  []struct {
		Changes []struct {
			Field string `json:"field"`
			Value value  `json:"value"`
		} `json:"changes"`
	} `json:"entry"`
}

// value is a change of the "messages" field: customers' messages, or statuses of the
// business's.
type value struct {
	Metadata struct {
		PhoneNumberID meta.ID `json:"phone_number_id"`
	} `json:"metadata"`
	Contacts []struct {
		Profile struct {
			Name string `json:"name"`
		} `json:"profile"`
		WaID meta.ID `json:"wa_id"`
	} `json:"contacts"`
	Messages []message `json:"messages"`
	Statuses []status  `json:"statuses"`
}

type message struct {
	From      meta.ID  `json:"from"`
	ID        string   `json:"id"`
	Timestamp meta.Int `json:"timestamp"`
	Type      string   `json:"type"`
	Text      *struct {
		Body string `json:"body"`
	} `json:"text"`
	Image    *media `json:"image"`
	Sticker  *media `json:"sticker"`
	Video    *media `json:"video"`
	Audio    *media `json:"audio"`
	Document *media `json:"document"`
	Location *struct {
		Latitude  float64 `json:"latitude"`
		Longitude float64 `json:"longitude"`
		Name      string  `json:"name"`
		Address   string  `json:"address"`
	} `json:"location"`
	// Button is a tapped quick-reply button of a template.
	Button *struct {
		Text string `json:"text"`
	} `json:"button"`
	// Interactive is a tapped reply button or list row.
	Interactive *struct {
		ButtonReply *struct {
			Title string `json:"title"`
		} `json:"button_reply"`
		ListReply *struct {
			Title string `json:"title"`
		} `json:"list_reply"`
	} `json:"interactive"`
}

// media is an image, video, audio, sticker or document: fetched later by its id.
type media struct {
	ID       string `json:"id"`
	MimeType string `json:"mime_type"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

type status struct {
	ID          string   `json:"id"`
	Status      string   `json:"status"`
	Timestamp   meta.Int `json:"timestamp"`
	RecipientID meta.ID  `json:"recipient_id"`
	Errors      []struct {
		Code      int             `json:"code"`
		Title     string          `json:"title"`
		Message   string          `json:"message"`
		ErrorData json.RawMessage `json:"error_data"`
	} `json:"errors"`
}

// events turns a change into events, in the order of its messages and statuses.
func (v value) events() []channels.Event {
	names := map[string]string{}
	for _, c := range v.Contacts {
		names[string(c.WaID)] = c.Profile.Name
	}
	var events []channels.Event
	for _, m := range v.Messages {
		from := string(m.From)
		if from == "" || m.ID == "" {
			continue
		}
		ev := channels.Event{Kind: channels.EventMessage, ProviderID: m.ID, At: meta.Seconds(m.Timestamp),
			Contact: channels.Contact{ExternalID: from, Name: names[from], Phone: "+" + strings.TrimPrefix(from, "+")}}
		ev = m.content(ev)
		if strings.TrimSpace(ev.Text) != "" || len(ev.Attachments) > 0 {
			events = append(events, ev)
		}
	}
	for _, s := range v.Statuses {
		if ev, ok := s.event(); ok {
			events = append(events, ev)
		}
	}
	return events
}

// content adds a message's text or attachment to ev; types the console cannot show
// (reactions, orders, unsupported ones) add nothing.
func (m message) content(ev channels.Event) channels.Event {
	attach := func(kind string, md *media) channels.Event {
		if md == nil || md.ID == "" {
			return ev
		}
		ev.Text = md.Caption
		ev.Attachments = []channels.Attachment{{Kind: kind, Ref: md.ID, Name: md.Filename, ContentType: md.MimeType}}
		return ev
	}
	switch m.Type {
	case "text":
		if m.Text != nil {
			ev.Text = m.Text.Body
		}
	case "image":
		return attach(channels.AttachmentImage, m.Image)
	case "sticker":
		return attach(channels.AttachmentImage, m.Sticker)
	case "video":
		return attach(channels.AttachmentVideo, m.Video)
	case "audio":
		return attach(channels.AttachmentAudio, m.Audio)
	case "document":
		return attach(channels.AttachmentDocument, m.Document)
	case "location":
		if l := m.Location; l != nil {
			ev.Attachments = []channels.Attachment{{Kind: channels.AttachmentLocation, Name: first(l.Name, l.Address),
				Latitude: l.Latitude, Longitude: l.Longitude}}
		}
	case "button":
		if m.Button != nil {
			ev.Text = m.Button.Text
		}
	case "interactive":
		if i := m.Interactive; i != nil && i.ButtonReply != nil {
			ev.Text = i.ButtonReply.Title
		} else if i != nil && i.ListReply != nil {
			ev.Text = i.ListReply.Title
		}
	}
	return ev
}

// deliveryStates maps the statuses the channel records; others (deleted, warning)
// are not news of delivery.
var deliveryStates = map[string]store.DeliveryState{"sent": store.DeliverySent, "delivered": store.DeliveryDelivered,
	"read": store.DeliveryRead, "failed": store.DeliveryFailed}

// event turns a status into a delivery event; a failure carries its reason in plain
// words.
func (s status) event() (channels.Event, bool) {
	state, ok := deliveryStates[s.Status]
	if !ok || s.ID == "" {
		return channels.Event{}, false
	}
	ev := channels.Event{Kind: channels.EventDelivery, ProviderID: s.ID, Delivery: state, At: meta.Seconds(s.Timestamp),
		Contact: channels.Contact{ExternalID: string(s.RecipientID)}}
	if state == store.DeliveryFailed {
		var reasons []string
		for _, e := range s.Errors {
			ge := &meta.Error{Code: e.Code, Message: first(e.Title, e.Message), Details: meta.ErrorDetails(e.ErrorData)}
			if words := explain(ge); words != "" {
				reasons = append(reasons, words+" ("+ge.Describe()+")")
			} else {
				reasons = append(reasons, ge.Describe())
			}
		}
		ev.Error = strings.Join(reasons, "; ")
		if ev.Error == "" {
			ev.Error = "WhatsApp reported the message failed without saying why"
		}
	}
	return ev, true
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
