package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/store"
)

// TestAttachmentsComeWithTheirMessage: files are written in the message's
// transaction, read back one at a time with their bytes, and listed with messages
// without them.
func TestAttachmentsComeWithTheirMessage(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			conv := seedConversation(t, s, store.StateActive)
			changes := make(chan store.Change, 16)
			defer s.Subscribe(func(c store.Change) { changes <- c })()

			photo := bytes.Repeat([]byte{0xff, 0xd8, 0xff}, 1000)
			m, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionOut,
				AuthorKind: "operator", Author: "alice", Text: "the invoice and a photo", Attachments: []store.Attachment{
					{ID: "att-photo", Kind: "image", Name: "photo.jpg", ContentType: "image/jpeg", State: store.AttachmentStored, Data: photo},
					{ID: "att-pending", Kind: "document", Name: "invoice.pdf", ContentType: "application/pdf"},
				}})
			if err != nil {
				t.Fatal(err)
			}
			want := []struct {
				id    string
				state store.AttachmentState
				size  int64
			}{{"att-photo", store.AttachmentStored, 3000}, {"att-pending", store.AttachmentPending, 0}}
			// Announcements travel as JSON on PostgreSQL: without the ids a message implies.
			check := func(what string, got []store.Attachment) {
				t.Helper()
				if len(got) != len(want) {
					t.Fatalf("%s: %d attachments, want %d: %+v", what, len(got), len(want), got)
				}
				for i, w := range want {
					if g := got[i]; g.ID != w.id || g.State != w.state || g.Size != w.size || g.Data != nil || (g.MessageID != m.ID && what != "the announced message") {
						t.Errorf("%s: attachment %d is %+v, want %s %s of %d bytes, without its bytes", what, i, g, w.id, w.state, w.size)
					}
				}
			}
			check("the stored message", m.Attachments)
			if sum := sha256.Sum256(photo); m.Attachments[0].SHA256 != hex.EncodeToString(sum[:]) {
				t.Errorf("sha256 %q, want the photo's", m.Attachments[0].SHA256)
			}
			msgs, err := s.Messages(ctx, conv.ID, 0, 0)
			if err != nil || len(msgs) != 1 {
				t.Fatalf("messages: %v %+v", err, msgs)
			}
			check("the listed message", msgs[0].Attachments)
			listed, err := s.MessageAttachments(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			check("the message's attachments", listed)
			check("the announced message", nextChange(t, changes, store.ChangeMessage).Message.Attachments)

			got, err := s.Attachment(ctx, "att-photo")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got.Data, photo) || got.ConversationID != conv.ID || got.ContentType != "image/jpeg" || got.Name != "photo.jpg" {
				t.Fatalf("read back %s of %d bytes in %q, want the photo in %q", got.ContentType, len(got.Data), got.ConversationID, conv.ID)
			}
			if pending, err := s.Attachment(ctx, "att-pending"); err != nil || pending.Data != nil {
				t.Fatalf("a pending attachment: %v, %d bytes", err, len(pending.Data))
			}
			if _, err := s.Attachment(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("an unknown attachment: %v, want ErrNotFound", err)
			}
			// A message without files lists none.
			plain, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn, AuthorKind: "contact", Text: "thanks"})
			if err != nil {
				t.Fatal(err)
			}
			if msgs, _ := s.Messages(ctx, conv.ID, 0, 0); len(msgs) != 2 || len(msgs[1].Attachments) != 0 || plain.Attachments != nil {
				t.Fatalf("messages %+v", msgs)
			}
			// A message too large to announce whole (PostgreSQL's NOTIFY) is read back
			// by whoever hears of it, attachments included.
			long := strings.Repeat(`"quoted" `, 1000)
			if _, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn,
				AuthorKind: "contact", Text: long, Attachments: []store.Attachment{{ID: "att-long", Kind: "image"}}}); err != nil {
				t.Fatal(err)
			}
			for {
				c := nextChange(t, changes, store.ChangeMessage)
				if c.Message.Text != long {
					continue
				}
				if len(c.Message.Attachments) != 1 || c.Message.Attachments[0].ID != "att-long" {
					t.Fatalf("a long message was announced with attachments %+v", c.Message.Attachments)
				}
				break
			}
		})
	}
}

// TestCompleteAttachment: a pending file is kept or refused once, and the message is
// announced with its attachments.
func TestCompleteAttachment(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			conv := seedConversation(t, s, store.StateQueued)
			m, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn,
				AuthorKind: "contact", Text: "[image]\n[document: big.pdf]", ProviderID: "p1", Attachments: []store.Attachment{
					{ID: "a1", Kind: "image", ContentType: "image/jpeg"},
					{ID: "a2", Kind: "document", Name: "big.pdf", ContentType: "application/pdf"},
				}})
			if err != nil {
				t.Fatal(err)
			}
			changes := make(chan store.Change, 16)
			defer s.Subscribe(func(c store.Change) { changes <- c })()

			png := []byte("\x89PNG\r\n\x1a\nrest of the picture")
			tests := []struct {
				name    string
				a       store.Attachment
				wantErr error
			}{
				{"kept", store.Attachment{ID: "a1", State: store.AttachmentStored, ContentType: "image/png", Name: "photo.png", Data: png}, nil},
				{"kept again", store.Attachment{ID: "a1", State: store.AttachmentStored, ContentType: "image/png", Data: png}, store.ErrConflict},
				{"refused", store.Attachment{ID: "a2", State: store.AttachmentRefused, ContentType: "application/pdf",
					Note: "the file is larger than the limit of 20 MiB"}, nil},
				{"unknown", store.Attachment{ID: "a3", State: store.AttachmentRefused}, store.ErrNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got, err := s.CompleteAttachment(ctx, tt.a)
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("error %v, want %v", err, tt.wantErr)
					}
					if err != nil {
						return
					}
					if got.ID != m.ID || got.Queue != "support" || len(got.Attachments) != 2 {
						t.Fatalf("returned %+v", got)
					}
					if c := nextChange(t, changes, store.ChangeAttachment); c.Message.ID != m.ID || len(c.Message.Attachments) != 2 {
						t.Fatalf("announced %+v", c.Message)
					}
				})
			}
			listed, err := s.MessageAttachments(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			if a := listed[0]; a.State != store.AttachmentStored || a.Size != int64(len(png)) || a.ContentType != "image/png" || a.Name != "photo.png" {
				t.Errorf("the kept file is listed as %+v", a)
			}
			if a := listed[1]; a.State != store.AttachmentRefused || a.Name != "big.pdf" || a.Note == "" || a.Size != 0 {
				t.Errorf("the refused file is listed as %+v", a)
			}
			if kept, _ := s.Attachment(ctx, "a1"); !bytes.Equal(kept.Data, png) {
				t.Errorf("the kept file reads back as %q", kept.Data)
			}
		})
	}
}

// TestAttachmentsCommitWithTheirMessageOnly: a message that is not stored (its
// conversation closed) leaves no file behind, and a provider's redelivery stores
// neither the message nor its files again.
func TestAttachmentsCommitWithTheirMessageOnly(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			s := mustOpen(t, b)
			conv := seedConversation(t, s, store.StateClosed)
			_, _, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn,
				AuthorKind: "contact", Text: "[image]", Attachments: []store.Attachment{{ID: "lost", Kind: "image"}}})
			if !errors.Is(err, store.ErrClosed) {
				t.Fatalf("appending to a closed conversation: %v", err)
			}
			if _, err := s.Attachment(ctx, "lost"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the attachment of a message not stored: %v, want ErrNotFound", err)
			}

			open, err := s.CreateConversation(ctx, store.Conversation{ID: "next", Channel: "website", Queue: "support",
				ContactID: conv.ContactID, State: store.StateQueued}, store.Activity{Type: "ChatStarted"})
			if err != nil {
				t.Fatal(err)
			}
			for i, id := range []string{"first", "again"} {
				_, dup, err := s.AppendMessage(ctx, "website", store.Message{ConversationID: open.ID, Direction: store.DirectionIn,
					AuthorKind: "contact", Text: "[image]", ProviderID: "same", Attachments: []store.Attachment{{ID: id, Kind: "image"}}})
				if err != nil || dup != (i == 1) {
					t.Fatalf("delivery %d: duplicate %v, %v", i, dup, err)
				}
			}
			if _, err := s.Attachment(ctx, "again"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("the redelivered message's attachment: %v, want ErrNotFound", err)
			}
		})
	}
}

// TestRuntimeKey: a key is made once and every opening of the store (every replica)
// reads the same one.
func TestRuntimeKey(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			first := mustOpen(t, b)
			k1, err := first.RuntimeKey(ctx, "media")
			if err != nil || len(k1) != 32 {
				t.Fatalf("key of %d bytes, %v", len(k1), err)
			}
			other, err := first.RuntimeKey(ctx, "other")
			if err != nil || bytes.Equal(other, k1) {
				t.Fatalf("another name's key equals it, or %v", err)
			}
			if b.name == "SQLite" {
				_ = first.Close() // SQLite has one process writing
			}
			second := mustOpen(t, b)
			if k2, err := second.RuntimeKey(ctx, "media"); err != nil || !bytes.Equal(k1, k2) {
				t.Fatalf("a second opening reads another key (%v)", err)
			}
		})
	}
}

// nextChange waits for the next announced change of a kind, skipping others.
func nextChange(t *testing.T, changes <-chan store.Change, kind store.ChangeKind) store.Change {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case c := <-changes:
			if c.Kind == kind {
				return c
			}
		case <-timeout:
			t.Fatalf("no %s change was announced", kind)
		}
	}
}
