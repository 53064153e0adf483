package twilio_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/twiliofake"
	"github.com/switchboard-chat/switchboard/runtime/channels"
	"github.com/switchboard-chat/switchboard/runtime/channels/twilio"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
)

var photo = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a photo")

func TestFetch(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	defer fake.Close()
	// Another host must never see the account's credentials.
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			http.Error(w, "credentials sent to another host", http.StatusTeapot)
			return
		}
		_, _ = w.Write(photo)
	}))
	defer elsewhere.Close()
	mediaURL := fake.AddMedia(photo, "image/jpeg")
	tests := []struct {
		name    string
		secret  string
		ref     string
		max     int64
		wantErr func(error) bool
	}{
		{"an MMS's photo, with the account's credentials", token, mediaURL, 1 << 20, nil},
		{"a photo on another host, without them", token, elsewhere.URL + "/photo.jpg", 1 << 20, nil},
		{"over the limit", token, mediaURL, 10, func(err error) bool { return errors.Is(err, channels.ErrTooLarge) }},
		{"media Twilio deleted", token, fake.URL + "/2010-04-01/Accounts/" + account + "/Messages/MM1/Media/ME1", 1 << 20, outbox.IsPermanent},
		{"a wrong auth token", "f0e1d2c3b4a5968778695a4b3c2d1e00", mediaURL, 1 << 20, outbox.IsPermanent},
		{"no URL", token, "", 1 << 20, outbox.IsPermanent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newAdapter(t, settings(fake.URL), tt.secret, hookURL).(channels.Fetcher)
			data, ct, err := a.Fetch(context.Background(), channels.Attachment{Kind: channels.AttachmentImage, Ref: tt.ref}, tt.max)
			noSecret(t, err)
			if tt.wantErr == nil {
				if err != nil || !bytes.Equal(data, photo) {
					t.Fatalf("fetched %d bytes of %q, %v; want the photo", len(data), ct, err)
				}
				return
			}
			if !tt.wantErr(err) {
				t.Fatalf("error %v is not the one wanted", err)
			}
		})
	}
}

func TestSendMMS(t *testing.T) {
	fake := twiliofake.New(twiliofake.Options{})
	defer fake.Close()
	// The runtime serves the file at its signed URL; here, a stand-in.
	public := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		_, _ = w.Write(photo)
	}))
	defer public.Close()
	a := newAdapter(t, settings(fake.URL), token, hookURL)
	file := func(url string, data []byte) *channels.OutgoingAttachment {
		return &channels.OutgoingAttachment{Kind: "image", Name: "p.jpg", ContentType: "image/jpeg", Data: data, URL: url}
	}
	tests := []struct {
		name     string
		m        channels.Outgoing
		wantBody string
		wantErr  string // a permanent refusal, before any call
	}{
		{"a photo with a text", channels.Outgoing{To: contact, Text: "your receipt", Attachment: file(public.URL+"/api/v1/media/t", photo)}, "your receipt", ""},
		{"a photo alone", channels.Outgoing{To: contact, Attachment: file(public.URL+"/api/v1/media/t", photo)}, "", ""},
		{"no public URL", channels.Outgoing{To: contact, Attachment: file("", photo)}, "", "set the LiveChat's spec.publicURL to an https URL"},
		{"larger than an MMS takes", channels.Outgoing{To: contact, Attachment: file(public.URL+"/x", make([]byte, twilio.MaxMMS+1))}, "",
			"larger than the 5 MiB Twilio takes in an MMS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(fake.Messages())
			sent, err := a.Send(context.Background(), tt.m)
			if tt.wantErr != "" {
				if !outbox.IsPermanent(err) || !strings.Contains(err.Error(), tt.wantErr) || len(fake.Messages()) != before {
					t.Fatalf("error %v, want a permanent refusal saying %q and no call", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			m := fake.Messages()[before]
			if m.SID != sent.ProviderID || m.Body != tt.wantBody || m.Form.Get("MediaUrl") != tt.m.Attachment.URL || m.From != number ||
				m.StatusCallback != hookURL {
				t.Fatalf("Twilio got %+v", m)
			}
			data, _, err := fake.FetchMedia(context.Background(), m)
			if err != nil || !bytes.Equal(data, photo) {
				t.Fatalf("Twilio fetching the MediaUrl: %v", err)
			}
		})
	}
}
