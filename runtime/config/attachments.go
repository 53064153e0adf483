package config

import (
	"mime"
	"slices"
	"strings"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// DefaultAttachmentMaxSize is the largest file kept unless the LiveChat says otherwise.
const DefaultAttachmentMaxSize = 20 << 20

// DefaultAttachmentContentTypes are the media types kept unless the LiveChat says
// otherwise: pictures, PDFs, voice notes and short videos as messengers send them, and
// plain text. Nothing a browser would run (HTML, SVG, scripts).
var DefaultAttachmentContentTypes = []string{"application/pdf", "audio/mp4", "audio/mpeg", "audio/ogg", "image/gif",
	"image/jpeg", "image/png", "image/webp", "text/plain", "video/mp4"}

// Attachments bounds the files exchanged in chats.
type Attachments struct {
	// MaxSize is the largest file kept, in bytes.
	MaxSize int64 `json:"maxSize"`
	// AllowedContentTypes are the media types kept: exact ones (image/png) or families
	// (image/*), sorted.
	AllowedContentTypes []string `json:"allowedContentTypes"`
}

// attachments converts the LiveChat's attachments settings, applying the CRD's defaults.
func attachments(s chatv1alpha1.AttachmentsSpec) *Attachments {
	out := &Attachments{MaxSize: DefaultAttachmentMaxSize, AllowedContentTypes: slices.Clone(DefaultAttachmentContentTypes)}
	if s.MaxSize != nil {
		out.MaxSize = s.MaxSize.Value()
	}
	if len(s.AllowedContentTypes) > 0 {
		out.AllowedContentTypes = sortedNames(s.AllowedContentTypes)
	}
	return out
}

// Resolved returns the settings with defaults in place of what is unset, so a
// configuration compiled before attachments existed keeps files as a new one would.
func (a *Attachments) Resolved() Attachments {
	out := Attachments{MaxSize: DefaultAttachmentMaxSize, AllowedContentTypes: DefaultAttachmentContentTypes}
	if a == nil {
		return out
	}
	if a.MaxSize > 0 {
		out.MaxSize = a.MaxSize
	}
	if len(a.AllowedContentTypes) > 0 {
		out.AllowedContentTypes = a.AllowedContentTypes
	}
	return out
}

// Allows reports whether files of contentType (parameters ignored) may be kept.
func (a Attachments) Allows(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	family, sub, ok := strings.Cut(mt, "/")
	if !ok || family == "" || sub == "" {
		return false
	}
	for _, allowed := range a.AllowedContentTypes {
		if allowed == mt || allowed == family+"/*" {
			return true
		}
	}
	return false
}
