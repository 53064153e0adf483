package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/internal/telegramfake"
)

var (
	photoBytes   = []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00 a photo of a router")
	invoiceBytes = []byte("%PDF-1.7\n an invoice")
)

// attachmentOf reads a message's attachment (by the message's text) through the API.
func attachmentOf(t *testing.T, rt *runtime, token, conversation, text string) map[string]any {
	t.Helper()
	var msgs struct {
		Messages []struct {
			Text        string           `json:"text"`
			Attachments []map[string]any `json:"attachments"`
		} `json:"messages"`
	}
	call(t, "GET", rt.base+"/api/v1/conversations/"+conversation+"/messages", token, nil, &msgs)
	for _, m := range msgs.Messages {
		if m.Text == text && len(m.Attachments) == 1 {
			return m.Attachments[0]
		}
	}
	t.Fatalf("no message %q with one attachment in %+v", text, msgs)
	return nil
}

// download gets a file with a bearer token (none when empty).
func download(t *testing.T, u, token string) (*http.Response, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

// uploadFile sends a file from an operator, as a multipart form with a caption.
func uploadFile(t *testing.T, rt *runtime, token, conversation, name, contentType string, data []byte, text string) map[string]any {
	t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("text", text)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="file"; filename="`+name+`"`)
	h.Set("Content-Type", contentType)
	part, _ := w.CreatePart(h)
	_, _ = part.Write(data)
	_ = w.Close()
	req, _ := http.NewRequest(http.MethodPost, rt.base+"/api/v1/conversations/"+conversation+"/attachments", &body)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("uploading %s: %d %v", name, resp.StatusCode, m)
	}
	return m
}

// TestTelegramAttachments runs the standalone runtime as a real process with a fake
// Bot API: a Telegram user's photo reaches the console as a message at once and is
// fetched and kept after; the operator downloads it, and sends a PDF back, which
// reaches the user as a document. A file the LiveChat does not allow is noted, its
// message kept.
func TestTelegramAttachments(t *testing.T) {
	dir := manifestsDir(t)
	fake := telegramSetup(t, dir)
	_, rt := runtimeProcess(t, dir, t.TempDir(), freeAddr(t))
	online(t, rt, alice)
	c := console(t, rt, alice)

	ada := telegramfake.User{ID: 4343, FirstName: "Ada"}
	fake.Queue(fake.Update(ada, map[string]any{"caption": "my router",
		"photo": []map[string]any{{"file_id": fake.AddFile(photoBytes, "photo.jpg"), "width": 640, "height": 480}}}))
	id := conversationOfMessage(t, c, "my router\n[image]")
	c.waitEvent(t, "the photo kept, on the console", func(ev map[string]any) bool {
		atts, _ := field(ev, "message", "attachments").([]any)
		return ev["type"] == "attachment" && len(atts) == 1 && field(atts[0].(map[string]any), "state") == "stored"
	})
	att := attachmentOf(t, rt, alice, id, "my router\n[image]")
	if att["contentType"] != "image/jpeg" || att["size"] != float64(len(photoBytes)) {
		t.Fatalf("the photo is listed as %v", att)
	}
	fileURL := rt.base + "/api/v1/conversations/" + id + "/attachments/" + att["id"].(string)
	if resp, _ := download(t, fileURL, ""); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the photo without credentials: %d", resp.StatusCode)
	}
	resp, data := download(t, fileURL, alice)
	if resp.StatusCode != http.StatusOK || !bytes.Equal(data, photoBytes) || resp.Header.Get("Content-Type") != "image/jpeg" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("the photo: %d, %d bytes of %q", resp.StatusCode, len(data), resp.Header.Get("Content-Type"))
	}

	// A file type the LiveChat does not keep: the message stays, with a note.
	fake.Queue(fake.Update(ada, map[string]any{"document": map[string]any{"file_id": fake.AddFile([]byte("MZ\x90\x00 a program"), "setup.exe"),
		"file_name": "setup.exe", "mime_type": "application/x-msdownload"}}))
	conversationOfMessage(t, c, "[document: setup.exe]")
	var refused map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if refused = attachmentOf(t, rt, alice, id, "[document: setup.exe]"); refused["state"] != "pending" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the program was never judged")
		}
	}
	if refused["state"] != "refused" || !strings.Contains(refused["note"].(string), "are not allowed here") {
		t.Fatalf("the program is %v", refused)
	}

	// The operator sends a PDF with a caption: Telegram gets a document.
	accept(t, rt, alice, id)
	uploadFile(t, rt, alice, id, "invoice.pdf", "application/pdf", invoiceBytes, "your invoice")
	var doc telegramfake.Sent
	for deadline := time.Now().Add(15 * time.Second); doc.Method == ""; time.Sleep(10 * time.Millisecond) {
		for _, s := range fake.Sent() {
			if s.Method == "sendDocument" {
				doc = s
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("Telegram never got the invoice; it got %+v", fake.Sent())
		}
	}
	if doc.ChatID != ada.ID || doc.Caption != "your invoice" || doc.FileName != "invoice.pdf" || !bytes.Equal(doc.File, invoiceBytes) {
		t.Fatalf("Telegram got %s %q captioned %q for %d", doc.Method, doc.FileName, doc.Caption, doc.ChatID)
	}
	waitDelivery(t, rt, alice, id, "your invoice", "sent")
}
