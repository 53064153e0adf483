package telegram

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var photo = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a photo")

func TestFetch(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	id := fake.AddFile(photo, "photo.jpg")
	big := fake.AddFile(make([]byte, 2048), "big.pdf")
	tests := []struct {
		name      string
		adapter   *Adapter
		ref       string
		max       int64
		wantErr   func(error) bool
		downloads int // counted after the case
	}{
		{"a photo", a, id, 1 << 20, nil, 1},
		{"over the limit, known from getFile", a, big, 1024, func(err error) bool { return errors.Is(err, channels.ErrTooLarge) }, 1},
		{"an unknown file id", a, "nope", 1 << 20, outbox.IsPermanent, 1},
		{"a wrong token", newAdapter(t, fake, "7000000001:AAHwrongTOKEN"), id, 1 << 20, func(err error) bool {
			return outbox.IsAuth(err) && !strings.Contains(err.Error(), "AAHwrong")
		}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, _, err := tt.adapter.Fetch(context.Background(), channels.Attachment{Kind: channels.AttachmentImage, Ref: tt.ref}, tt.max)
			if tt.wantErr == nil {
				if err != nil || !bytes.Equal(data, photo) {
					t.Fatalf("fetched %d bytes, %v; want the photo", len(data), err)
				}
			} else if !tt.wantErr(err) {
				t.Fatalf("error %v is not the one wanted", err)
			}
			if got := fake.Downloads(); got != tt.downloads {
				t.Fatalf("%d downloads from the file server, want %d", got, tt.downloads)
			}
		})
	}
}

// TestFetchKeepsTheTokenOutOfErrors: the file server's URL holds the bot token; no
// error may show it, whether the server fails or cannot be reached.
func TestFetchKeepsTheTokenOutOfErrors(t *testing.T) {
	for _, tt := range []struct {
		name  string
		serve http.HandlerFunc
	}{
		{"the file server fails", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/file/") {
				http.Error(w, "down for maintenance", http.StatusBadGateway)
				return
			}
			_, _ = w.Write([]byte(`{"ok":true,"result":{"file_size":10,"file_path":"photos/file_1.jpg"}}`))
		}},
		{"the file server hangs up", func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/file/") {
				hj, _ := w.(http.Hijacker)
				conn, _, _ := hj.Hijack()
				_ = conn.Close()
				return
			}
			_, _ = w.Write([]byte(`{"ok":true,"result":{"file_size":10,"file_path":"photos/file_1.jpg"}}`))
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(tt.serve)
			defer srv.Close()
			fake := &telegramfake.Server{URL: srv.URL}
			_, _, err := newAdapter(t, fake, token).Fetch(context.Background(), channels.Attachment{Ref: "x"}, 1<<20)
			if err == nil || outbox.IsPermanent(err) {
				t.Fatalf("error %v, want a temporary one", err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "AAH") {
				t.Fatalf("the error shows the token: %v", err)
			}
		})
	}
}

func TestSendFile(t *testing.T) {
	fake := newFake(t)
	a := newAdapter(t, fake, token)
	pdf := []byte("%PDF-1.7 an invoice")
	longText := strings.Repeat("ü", maxCaption+1)
	tests := []struct {
		name        string
		m           channels.Outgoing
		wantMethod  string
		wantCaption string
		wantText    string // a message after the file, for a caption too long
	}{
		{"a photo with a caption", channels.Outgoing{To: "42", Text: "the screenshot", Attachment: &channels.OutgoingAttachment{
			Kind: channels.AttachmentImage, Name: "shot.jpg", ContentType: "image/jpeg", Data: photo}}, "sendPhoto", "the screenshot", ""},
		{"a PDF", channels.Outgoing{To: "42", Attachment: &channels.OutgoingAttachment{
			Kind: channels.AttachmentDocument, Name: "invoice.pdf", ContentType: "application/pdf", Data: pdf}}, "sendDocument", "", ""},
		{"a GIF goes as a document", channels.Outgoing{To: "42", Attachment: &channels.OutgoingAttachment{
			Kind: channels.AttachmentImage, Name: "a.gif", ContentType: "image/gif", Data: []byte("GIF89a")}}, "sendDocument", "", ""},
		{"a caption too long follows the file", channels.Outgoing{To: "42", Text: longText, Attachment: &channels.OutgoingAttachment{
			Kind: channels.AttachmentDocument, Name: "invoice.pdf", ContentType: "application/pdf", Data: pdf}}, "sendDocument", "", longText},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Sent())
			sent, err := a.Send(context.Background(), tt.m)
			if err != nil {
				t.Fatal(err)
			}
			got := fake.Sent()[before:]
			f := got[0]
			if f.Method != tt.wantMethod || f.ChatID != 42 || f.Caption != tt.wantCaption || !bytes.Equal(f.File, tt.m.Attachment.Data) ||
				f.FileName != tt.m.Attachment.Name || f.ContentType != tt.m.Attachment.ContentType {
				t.Fatalf("Telegram got %s with caption %q, %q of %s, want %s", f.Method, f.Caption, f.FileName, f.ContentType, tt.wantMethod)
			}
			last := got[len(got)-1]
			if tt.wantText != "" && (len(got) != 2 || last.Text != tt.wantText) {
				t.Fatalf("the long text was not sent after the file: %+v", got)
			}
			if sent.ProviderID != messageKey(42, last.MessageID) {
				t.Fatalf("provider id %q, want the last message's", sent.ProviderID)
			}
		})
	}
	fake.Block(43)
	_, err := a.Send(context.Background(), channels.Outgoing{To: "43", Attachment: &channels.OutgoingAttachment{
		Kind: channels.AttachmentDocument, Name: "a.pdf", ContentType: "application/pdf", Data: pdf}})
	if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), "blocked") {
		t.Fatalf("a file to a user who blocked the bot: %v", err)
	}
}
