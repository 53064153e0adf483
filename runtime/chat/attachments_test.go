package chat_test

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/chat"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

var (
	pngFile = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR the rest of a picture")
	exeFile = []byte("MZ\x90\x00\x03\x00\x00\x00 a program")
)

// events collects what the hub publishes on a topic.
type events struct {
	mu  sync.Mutex
	got [][]byte
}

func (e *events) Deliver(ev []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.got = append(e.got, ev)
	return true
}

func (e *events) Overflow() {}

func (e *events) with(s string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, ev := range e.got {
		if strings.Contains(string(ev), s) {
			return true
		}
	}
	return false
}

func TestReplyWithFile(t *testing.T) {
	cfg := samples(t)
	cfg.LiveChat.Attachments.MaxSize = 1024
	h := newHarness(t, cfg, t.TempDir())
	h.activate("alice")
	conv := h.visit("Ada")
	if _, err := h.e.Take(ctx, "alice", conv.ID); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		caption string
		file    chat.File
		// wantType is the stored type; "" for a file refused with wantErr.
		wantType, wantName, wantErr string
	}{
		{"a picture declared as a PDF", "the screenshot", chat.File{Name: "shot.pdf", ContentType: "application/pdf", Data: pngFile},
			"image/png", "shot.pdf", ""},
		{"a picture without a name or caption", "", chat.File{Data: pngFile}, "image/png", "file.png", ""},
		{"a program", "", chat.File{Name: "setup.exe", ContentType: "image/png", Data: exeFile}, "", "",
			"files of type unknown (application/octet-stream) are not allowed here"},
		{"over the limit", "", chat.File{Name: "big.png", Data: append(pngFile, make([]byte, 1024)...)}, "", "",
			"the file is larger than the limit of 1 KiB"},
		{"empty", "", chat.File{Name: "nothing.txt"}, "", "", "the file is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := h.e.ReplyWithFile(ctx, "alice", conv.ID, tt.caption, tt.file)
			if tt.wantErr != "" {
				if chat.KindOf(err) != chat.KindInvalid || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want invalid: %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if m.Text != tt.caption || m.Direction != store.DirectionOut || m.Author != "alice" || len(m.Attachments) != 1 {
				t.Fatalf("stored %+v", m)
			}
			a := m.Attachments[0]
			if a.ContentType != tt.wantType || a.Name != tt.wantName || a.State != store.AttachmentStored || a.Size != int64(len(tt.file.Data)) {
				t.Fatalf("attachment %+v, want %s named %s", a, tt.wantType, tt.wantName)
			}
			got, err := h.e.OperatorAttachment(ctx, "alice", conv.ID, a.ID)
			if err != nil || !bytes.Equal(got.Data, tt.file.Data) {
				t.Fatalf("reading it back: %v", err)
			}
		})
	}
}

func TestAttachmentVisibility(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	h.activate("alice")
	conv := h.visit("Ada")
	other := h.visit("Grace")
	if _, err := h.e.Take(ctx, "alice", conv.ID); err != nil {
		t.Fatal(err)
	}
	m, err := h.e.ReplyWithFile(ctx, "alice", conv.ID, "", chat.File{Name: "a.png", Data: pngFile})
	if err != nil {
		t.Fatal(err)
	}
	id := m.Attachments[0].ID
	ada, _ := h.s.Contact(ctx, conv.ContactID)
	grace, _ := h.s.Contact(ctx, other.ContactID)
	tests := []struct {
		name     string
		read     func() (store.Attachment, error)
		wantKind chat.Kind // 0 when allowed
	}{
		{"the operator who holds it", func() (store.Attachment, error) { return h.e.OperatorAttachment(ctx, "alice", conv.ID, id) }, 0},
		{"another operator of the queue", func() (store.Attachment, error) { return h.e.OperatorAttachment(ctx, "bob", conv.ID, id) }, 0},
		{"a supervisor", func() (store.Attachment, error) { return h.e.OperatorAttachment(ctx, "sam", conv.ID, id) }, 0},
		{"an operator of another queue", func() (store.Attachment, error) { return h.e.OperatorAttachment(ctx, "dave", conv.ID, id) },
			chat.KindNotFound},
		{"through another conversation", func() (store.Attachment, error) { return h.e.OperatorAttachment(ctx, "alice", other.ID, id) },
			chat.KindNotFound},
		{"the visitor", func() (store.Attachment, error) { return h.e.VisitorAttachment(ctx, ada, conv.ID, id) }, 0},
		{"another visitor, through her conversation", func() (store.Attachment, error) { return h.e.VisitorAttachment(ctx, grace, other.ID, id) },
			chat.KindNotFound},
		{"another visitor, through his", func() (store.Attachment, error) { return h.e.VisitorAttachment(ctx, grace, conv.ID, id) },
			chat.KindNotFound},
		{"an unknown id", func() (store.Attachment, error) { return h.e.OperatorAttachment(ctx, "alice", conv.ID, "nope") },
			chat.KindNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := tt.read()
			if tt.wantKind == 0 {
				if err != nil || !bytes.Equal(a.Data, pngFile) {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if chat.KindOf(err) != tt.wantKind || a.Data != nil {
				t.Fatalf("error %v (kind %v), want kind %v and no file", err, chat.KindOf(err), tt.wantKind)
			}
		})
	}
}

// TestFetchedFilesReachConsolesAndVisitors: a contact's file stored pending, then
// kept, is published to the conversation's consoles and its visitor.
func TestFetchedFilesReachConsolesAndVisitors(t *testing.T) {
	h := newHarness(t, samples(t), t.TempDir())
	o, err := h.e.Open(ctx, "website", chat.Identity{Name: "Ada"})
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := h.e.InboundMessage(ctx, o.Contact, store.Message{Text: "[image]",
		Attachments: []store.Attachment{{ID: "fetched", Kind: "image", ContentType: "image/jpeg"}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Attachments) != 1 || m.Attachments[0].State != store.AttachmentPending {
		t.Fatalf("stored %+v", m)
	}
	if _, err := h.e.OperatorAttachment(ctx, "alice", o.Conversation.ID, "fetched"); chat.KindOf(err) != chat.KindUnavailable {
		t.Fatalf("a pending file: %v, want unavailable for now", err)
	}
	console, visitor := &events{}, &events{}
	h.hub.Subscribe(console, chat.TopicConversation(o.Conversation.ID))
	h.hub.Subscribe(visitor, chat.TopicVisitor(o.Conversation.ID))
	if _, err := h.s.CompleteAttachment(ctx, store.Attachment{ID: "fetched", State: store.AttachmentStored, ContentType: "image/png", Data: pngFile}); err != nil {
		t.Fatal(err)
	}
	for deadline := 0; !(console.with(`"type":"attachment"`) && visitor.with(`"type":"attachment"`)); deadline++ {
		if deadline > 500 {
			t.Fatalf("the kept file was not published: console %v, visitor %v", console.with("attachment"), visitor.with("attachment"))
		}
		time.Sleep(10 * time.Millisecond) // the store announces changes from its own goroutine
	}
	if !console.with(`"state":"stored"`) || !visitor.with(`"contentType":"image/png"`) {
		t.Fatal("the published message does not carry the kept file")
	}
}
