package dispatch

import (
	"context"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/store"
)

// LinkLifetime is how long the attachment links of a notification work: a week, for
// a notification read the next working day; the file itself is the conversation's.
const LinkLifetime = 7 * 24 * time.Hour

// attachmentLinks is {attachments}: a line per file of the event's message, its name
// and a signed link that serves it, below the LiveChat's public URL. Without a public
// URL, or while a file is being fetched or was refused, the line says so instead.
func (d *Deliverer) attachmentLinks(ctx context.Context, cfg *config.Config, ev store.Event) string {
	msgs, err := d.st.Messages(ctx, ev.ConversationID, ev.MessageSeq-1, 1)
	if err != nil || len(msgs) == 0 || msgs[0].Seq != ev.MessageSeq || len(msgs[0].Attachments) == 0 {
		return ""
	}
	public := strings.TrimSuffix(cfg.LiveChat.PublicURL, "/")
	var key []byte
	if public != "" {
		if key, err = d.keys.Key(ctx); err != nil {
			d.log.Warn("reading the media key for attachment links", "error", err)
			public = ""
		}
	}
	lines := make([]string, 0, len(msgs[0].Attachments))
	for _, a := range msgs[0].Attachments {
		name := a.Name
		if name == "" {
			name = a.Kind
		}
		switch {
		case a.State == store.AttachmentPending:
			lines = append(lines, name+" (still being fetched: open the conversation)")
		case a.State == store.AttachmentRefused:
			lines = append(lines, name+" (not kept: "+a.Note+")")
		case public == "":
			lines = append(lines, name+" (open the conversation to see it)")
		default:
			lines = append(lines, name+": "+public+media.PublicPath+media.Sign(key, a.ID, time.Now().Add(LinkLifetime)))
		}
	}
	return strings.Join(lines, "\n")
}
