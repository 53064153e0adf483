package whatsapp

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var (
	photo = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a photo")
	voice = []byte("OggS\x00\x02 a voice note")
	pdf   = []byte("%PDF-1.7 an invoice")
)

func TestFetch(t *testing.T) {
	fake := newFake(t)
	id := fake.AddWhatsAppMedia(photo, "image/jpeg")
	tests := []struct {
		name      string
		adapter   *Adapter
		ref       string
		max       int64
		wantErr   func(error) bool
		downloads int
	}{
		{"a customer's photo", newAdapter(t, fake, nil), id, 1 << 20, nil, 1},
		{"over the limit, known from the media's size", newAdapter(t, fake, nil), id, 10,
			func(err error) bool { return errors.Is(err, channels.ErrTooLarge) }, 1},
		{"media Meta no longer has", newAdapter(t, fake, nil), "1999", 1 << 20, outbox.IsPermanent, 1},
		{"a wrong token", newAdapter(t, fake, wrongToken), id, 1 << 20, func(err error) bool {
			return outbox.IsAuth(err) && !strings.Contains(err.Error(), "EAAGwrong")
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, ct, err := tt.adapter.Fetch(context.Background(), channels.Attachment{Kind: channels.AttachmentImage, Ref: tt.ref}, tt.max)
			if tt.wantErr == nil {
				if err != nil || !bytes.Equal(data, photo) || ct != "image/jpeg" {
					t.Fatalf("fetched %d bytes of %q, %v; want the photo", len(data), ct, err)
				}
			} else if !tt.wantErr(err) {
				t.Fatalf("error %v is not the one wanted", err)
			}
			if got := fake.Downloads(); got != tt.downloads {
				t.Fatalf("%d downloads, want %d", got, tt.downloads)
			}
		})
	}
}

func TestSendFile(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, nil)
	file := func(kind, name, ct string, data []byte) *channels.OutgoingAttachment {
		return &channels.OutgoingAttachment{Kind: kind, Name: name, ContentType: ct, Data: data}
	}
	long := strings.Repeat("ä", maxCaption+1)
	tests := []struct {
		name        string
		m           channels.Outgoing
		wantType    string
		wantCaption string
		wantName    string
		wantText    string // a text message after the file
	}{
		{"a photo with a caption", channels.Outgoing{To: waID, Text: "the screenshot", Attachment: file("image", "s.jpg", "image/jpeg", photo)},
			"image", "the screenshot", "", ""},
		{"a PDF", channels.Outgoing{To: waID, Text: "your invoice", Attachment: file("document", "invoice.pdf", "application/pdf", pdf)},
			"document", "your invoice", "invoice.pdf", ""},
		{"a WebP picture goes as a document", channels.Outgoing{To: waID, Attachment: file("image", "a.webp", "image/webp", []byte("RIFF"))},
			"document", "", "a.webp", ""},
		{"a voice note takes no caption", channels.Outgoing{To: waID, Text: "listen", Attachment: file("audio", "v.ogg", "audio/ogg", voice)},
			"audio", "", "", "listen"},
		{"a caption too long follows the file", channels.Outgoing{To: waID, Text: long, Attachment: file("document", "i.pdf", "application/pdf", pdf)},
			"document", "", "i.pdf", long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Sends())
			sent, err := a.Send(context.Background(), tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got := fake.Sends()[before:]
			f := got[0]
			if f.Type != tt.wantType || f.Text != tt.wantCaption || f.FileName != tt.wantName || f.To != waID ||
				!bytes.Equal(f.File, tt.m.Attachment.Data) || f.ContentType != tt.m.Attachment.ContentType {
				t.Fatalf("WhatsApp got a %s %q captioned %q of %s, want a %s", f.Type, f.FileName, f.Text, f.ContentType, tt.wantType)
			}
			if tt.wantText != "" && (len(got) != 2 || got[1].Type != "" || got[1].Text != tt.wantText) {
				t.Fatalf("the text did not follow the file: %+v", got)
			}
			if sent.ProviderID != got[len(got)-1].MessageID {
				t.Fatalf("provider id %q, want the last message's", sent.ProviderID)
			}
		})
	}
	// Outside the 24-hour window a file is refused like a text, before any upload.
	fake.SetLastCustomerMessage(waID, epoch.Add(-25*time.Hour))
	_, err := a.Send(context.Background(), channels.Outgoing{To: waID, LastInbound: epoch.Add(-25 * time.Hour),
		Attachment: file("document", "i.pdf", "application/pdf", pdf)})
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "24 hours") {
		t.Fatalf("a file outside the window: %v", err)
	}
}
