package media

import (
	"context"
	"mime"
	"path"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Attachment kinds, as messengers tell files apart.
const (
	KindImage    = "image"
	KindDocument = "document"
	KindAudio    = "audio"
	KindVideo    = "video"
)

// Kind is the attachment kind of a media type: how a messenger sends such a file.
func Kind(contentType string) string {
	switch family(base(contentType)) {
	case "image":
		return KindImage
	case "audio":
		return KindAudio
	case "video":
		return KindVideo
	}
	return KindDocument
}

// maxName bounds a file name, in bytes.
const maxName = 200

// CleanName makes a file name safe to store and to offer as a download: no folders,
// no control characters, at most 200 bytes. A file without a name gets "file" and
// the extension of its type.
func CleanName(name, contentType string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	name = path.Base(strings.TrimSpace(name))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || r == '"' {
			return -1
		}
		return r
	}, name)
	name = strings.TrimLeft(name, ".")
	if name == "" || name == "/" {
		name = "file"
		if exts, _ := mime.ExtensionsByType(base(contentType)); len(exts) > 0 {
			name += preferredExt(base(contentType), exts)
		}
	}
	if len(name) > maxName {
		ext := path.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		cut := maxName - len(ext)
		for cut > 0 && !utf8.RuneStart(name[cut]) {
			cut--
		}
		name = name[:cut] + ext
	}
	return name
}

// preferredExt picks the usual extension where the system's table lists several.
func preferredExt(ct string, exts []string) string {
	usual := map[string]string{"image/jpeg": ".jpg", "text/plain": ".txt", "audio/mpeg": ".mp3", "audio/ogg": ".ogg",
		"audio/mp4": ".m4a", "video/mp4": ".mp4"}
	if e, ok := usual[ct]; ok {
		return e
	}
	return exts[0]
}

// KeySource reads a store's media key once and keeps it: the key never changes for
// a store's lifetime.
type KeySource struct {
	read func(ctx context.Context, name string) ([]byte, error)

	mu  sync.Mutex
	key []byte
}

// NewKeySource returns a KeySource reading with read (store.Store.RuntimeKey).
func NewKeySource(read func(ctx context.Context, name string) ([]byte, error)) *KeySource {
	return &KeySource{read: read}
}

// Key returns the media key, reading it on first use; a failed read is tried again
// on the next call.
func (k *KeySource) Key(ctx context.Context) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key != nil {
		return k.key, nil
	}
	key, err := k.read(ctx, KeyName)
	if err != nil {
		return nil, err
	}
	k.key = key
	return key, nil
}
