package channels_test

import (
	"bytes"
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
	"github.com/switchboard-chat/switchboard/runtime/channels/telegram"
	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

var (
	jpegBytes = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a photo")
	pdfBytes  = []byte("%PDF-1.7 an invoice")
	zipBytes  = []byte("PK\x03\x04\x14\x00\x06\x00 an archive")
)

// webhookRig is a rig whose Telegram webhook is registered, keeping files of up to
// 1 KiB of pictures and PDFs.
func webhookRig(t *testing.T) *rig {
	t.Helper()
	r := newRig(t, openSQLite(t), rigOptions{publicURL: "https://chat.example.test", unlimited: true})
	waitFor(t, "the webhook registration", 10*time.Second, func() bool { _, sets, _ := r.fake.Webhook(); return sets > 0 })
	r.cfg.LiveChat.Attachments = &config.Attachments{MaxSize: 1024, AllowedContentTypes: []string{"application/pdf", "image/*"}}
	r.engine.Apply(r.cfg)
	return r
}

// lastMessage waits for a Telegram user's latest message and returns it once none
// of its attachments is pending any more.
func (r *rig) lastMessage(t *testing.T, userID int64) store.Message {
	t.Helper()
	var m store.Message
	waitFor(t, "the message's files to be fetched", 10*time.Second, func() bool {
		c, err := r.st.ContactByExternalID(context.Background(), "telegram", strconv.FormatInt(userID, 10))
		if err != nil {
			return false
		}
		convs, _ := r.st.Conversations(context.Background(), store.ConversationFilter{ContactID: c.ID})
		if len(convs) == 0 {
			return false
		}
		msgs, _ := r.st.Messages(context.Background(), convs[0].ID, 0, 0)
		if len(msgs) == 0 {
			return false
		}
		m = msgs[len(msgs)-1]
		for _, a := range m.Attachments {
			if a.State == store.AttachmentPending {
				return false
			}
		}
		return true
	})
	return m
}

// TestContactsFilesAreFetchedAfterTheWebhookAnswers: the webhook stores the message
// with its files pending and answers; the files are fetched after, through the
// outbox, and kept or refused with a note, the message kept either way.
func TestContactsFilesAreFetchedAfterTheWebhookAnswers(t *testing.T) {
	r := webhookRig(t)
	secret := telegram.SecretToken([]byte(sampleToken))
	tests := []struct {
		name     string
		fields   func() map[string]any
		wantText string
		// wantType is the kept file's sniffed type; wantNote, when set, says why none.
		wantType, wantName, wantNote string
		wantData                     []byte
	}{
		{"a photo", func() map[string]any {
			return map[string]any{"photo": []map[string]any{{"file_id": r.fake.AddFile(jpegBytes, "p.jpg"), "width": 90, "height": 90}},
				"caption": "my router"}
		}, "my router\n[image]", "image/jpeg", "", "", jpegBytes},
		{"a PDF its sender called a picture", func() map[string]any {
			return map[string]any{"document": map[string]any{"file_id": r.fake.AddFile(pdfBytes, "scan.png"), "file_name": "scan.png",
				"mime_type": "image/png"}}
		}, "[document: scan.png]", "application/pdf", "scan.png", "", pdfBytes},
		{"an archive", func() map[string]any {
			return map[string]any{"document": map[string]any{"file_id": r.fake.AddFile(zipBytes, "logs.zip"), "file_name": "logs.zip",
				"mime_type": "application/zip"}}
		}, "[document: logs.zip]", "", "logs.zip", "files of type application/zip are not allowed here", nil},
		{"a file over the limit", func() map[string]any {
			return map[string]any{"document": map[string]any{"file_id": r.fake.AddFile(append(pdfBytes, make([]byte, 1024)...), "big.pdf"),
				"file_name": "big.pdf", "mime_type": "application/pdf"}}
		}, "[document: big.pdf]", "", "big.pdf", "the file is larger than the limit of 1 KiB", nil},
		{"a file Telegram no longer has", func() map[string]any {
			return map[string]any{"voice": map[string]any{"file_id": "gone", "mime_type": "audio/ogg"}}
		}, "[audio]", "", "", "the messenger would not give the file: telegram getFile: 400 Bad Request: invalid file_id", nil},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := telegramfake.User{ID: int64(500 + i), FirstName: "Ada"}
			if rec := serveWebhook(r, "telegram", r.fake.Update(user, tt.fields()), secret); rec.Code != http.StatusOK {
				t.Fatalf("webhook answered %d: %s", rec.Code, rec.Body)
			}
			m := r.lastMessage(t, user.ID)
			if m.Text != tt.wantText || len(m.Attachments) != 1 {
				t.Fatalf("stored %q with %d attachments, want %q with one", m.Text, len(m.Attachments), tt.wantText)
			}
			a := m.Attachments[0]
			if a.Name != tt.wantName {
				t.Errorf("named %q, want %q", a.Name, tt.wantName)
			}
			if tt.wantNote != "" {
				if a.State != store.AttachmentRefused || !strings.Contains(a.Note, tt.wantNote) {
					t.Fatalf("attachment %s with note %q, want refused: %s", a.State, a.Note, tt.wantNote)
				}
				return
			}
			got, err := r.st.Attachment(context.Background(), a.ID)
			if err != nil || got.State != store.AttachmentStored || got.ContentType != tt.wantType || !bytes.Equal(got.Data, tt.wantData) {
				t.Fatalf("kept %s %s of %d bytes (%v), want %s", got.State, got.ContentType, len(got.Data), err, tt.wantType)
			}
		})
	}
}

// TestFetchOutlastsAnOutage: while Telegram's API fails, the webhook still takes the
// message; its file is fetched once the API is back.
func TestFetchOutlastsAnOutage(t *testing.T) {
	r := webhookRig(t)
	user := telegramfake.User{ID: 600, FirstName: "Grace"}
	r.fake.FailNext(3, http.StatusInternalServerError, "Internal Server Error", 0)
	update := r.fake.Update(user, map[string]any{"photo": []map[string]any{{"file_id": r.fake.AddFile(jpegBytes, "p.jpg")}}})
	if rec := serveWebhook(r, "telegram", update, telegram.SecretToken([]byte(sampleToken))); rec.Code != http.StatusOK {
		t.Fatalf("webhook answered %d during the outage", rec.Code)
	}
	m := r.lastMessage(t, user.ID)
	if a := m.Attachments[0]; a.State != store.AttachmentStored || a.Size != int64(len(jpegBytes)) {
		t.Fatalf("after the outage the file is %s (%s)", a.State, a.Note)
	}
}

// TestOperatorsFilesReachTelegram: a file an operator sends goes out with sendPhoto,
// its job holding the file's id only, and its delivery is recorded.
func TestOperatorsFilesReachTelegram(t *testing.T) {
	r := newRig(t, openSQLite(t), rigOptions{unlimited: true})
	conv := r.chatWith(t, 700, "alice")
	m, err := r.engine.ReplyWithFile(context.Background(), "alice", conv, "here is the diagram", chat.File{Name: "diagram.jpg", Data: jpegBytes})
	if err != nil {
		t.Fatal(err)
	}
	var sent telegramfake.Sent
	waitFor(t, "the photo at Telegram", 10*time.Second, func() bool {
		for _, s := range r.fake.Sent() {
			if s.Method == "sendPhoto" {
				sent = s
				return true
			}
		}
		return false
	})
	if sent.ChatID != 700 || sent.Caption != "here is the diagram" || !bytes.Equal(sent.File, jpegBytes) || sent.FileName != "diagram.jpg" {
		t.Fatalf("Telegram got %+v", sent)
	}
	waitFor(t, "the delivery state", 10*time.Second, func() bool {
		msgs, _ := r.st.Messages(context.Background(), conv, 0, 0)
		return msgs[len(msgs)-1].ID == m.ID && msgs[len(msgs)-1].Delivery == store.DeliverySent
	})
	jobs, err := r.st.Job(context.Background(), "channel.send.telegram/message/"+strconv.FormatInt(m.ID, 10))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(jobs.Payload, jpegBytes[:4]) || !bytes.Contains(jobs.Payload, []byte(m.Attachments[0].ID)) || len(jobs.Payload) > 300 {
		t.Fatalf("the send job carries %s: want the file's id, not its bytes", jobs.Payload)
	}
}
