package messenger

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var (
	photo = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a photo")
	pdf   = []byte("%PDF-1.7 an invoice")
)

// TestFetch: a Messenger attachment is downloaded from its signed link, without the
// Page's token (the fake refuses a link fetched with one).
func TestFetch(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, nil)
	link := fake.AddMessengerAttachment(photo, "image/jpeg")
	tests := []struct {
		name    string
		ref     string
		max     int64
		wantErr func(error) bool
	}{
		{"a person's photo", link, 1 << 20, nil},
		{"over the limit", link, 10, func(err error) bool { return errors.Is(err, channels.ErrTooLarge) }},
		{"a link that expired", fake.URL + "/cdn/v/t1/expired.bin", 1 << 20, outbox.IsPermanent},
		{"no link", "", 1 << 20, outbox.IsPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _, err := a.Fetch(context.Background(), channels.Attachment{Kind: channels.AttachmentImage, Ref: tt.ref}, tt.max)
			if tt.wantErr == nil {
				if err != nil || !bytes.Equal(data, photo) {
					t.Fatalf("fetched %d bytes, %v; want the photo", len(data), err)
				}
				return
			}
			if !tt.wantErr(err) {
				t.Fatalf("error %v is not the one wanted", err)
			}
		})
	}
}

func TestSendFile(t *testing.T) {
	file := func(kind, name, ct string, data []byte) *channels.OutgoingAttachment {
		return &channels.OutgoingAttachment{Kind: kind, Name: name, ContentType: ct, Data: data}
	}
	tests := []struct {
		name     string
		bot      bool
		m        channels.Outgoing
		wantType string
		wantText string // the text message after the file
		wantTake int    // take_thread_control calls
	}{
		{"a photo", false, channels.Outgoing{To: psid, Attachment: file("image", "s.jpg", "image/jpeg", photo)}, "image", "", 0},
		{"a PDF with a text", false, channels.Outgoing{To: psid, Text: "your invoice", Attachment: file("document", "i.pdf", "application/pdf", pdf)},
			"file", "your invoice", 0},
		{"with a bot, the thread is taken once", true, channels.Outgoing{To: psid, Text: "see this",
			Attachment: file("image", "s.jpg", "image/jpeg", photo)}, "image", "see this", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := newFake(t)
			change := (func(*config.Channel, map[string]string))(nil)
			if tt.bot {
				change = withBot
			}
			sent, err := newAdapter(t, fake, change).Send(context.Background(), tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got := fake.Sends()
			f := got[0]
			if f.Type != tt.wantType || f.To != psid || f.MessagingType != "RESPONSE" || !bytes.Equal(f.File, tt.m.Attachment.Data) ||
				f.FileName != tt.m.Attachment.Name || f.ContentType != tt.m.Attachment.ContentType {
				t.Fatalf("Messenger got %+v, want a %s", f, tt.wantType)
			}
			if tt.wantText != "" && (len(got) != 2 || got[1].Text != tt.wantText) {
				t.Fatalf("the text did not follow the file: %+v", got)
			}
			if n := fake.TakeThreadControlCalls(); n != tt.wantTake {
				t.Fatalf("%d take_thread_control calls, want %d", n, tt.wantTake)
			}
			if sent.ProviderID != got[len(got)-1].MessageID {
				t.Fatalf("provider id %q, want the last message's", sent.ProviderID)
			}
		})
	}
	fake := newFake(t)
	_, err := newAdapter(t, fake, nil).Send(context.Background(), channels.Outgoing{To: psid,
		Attachment: file("document", "huge.bin", "application/pdf", make([]byte, maxAttachment+1))})
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "25 MB") || len(fake.Sends()) != 0 {
		t.Fatalf("a file over Messenger's limit: %v", err)
	}
}
