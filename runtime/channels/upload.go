package channels

import (
	"bytes"
	"mime"
	"mime/multipart"
	"net/textproto"
)

// Field is one plain field of a multipart form.
type Field struct{ Name, Value string }

// MultipartFile encodes a form of fields and one file, as providers' upload calls
// take them, and returns the body and its Content-Type (with the boundary).
func MultipartFile(fields []Field, fileField string, f *OutgoingAttachment) (*bytes.Buffer, string, error) {
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	for _, fl := range fields {
		if err := w.WriteField(fl.Name, fl.Value); err != nil {
			return nil, "", err
		}
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", mime.FormatMediaType("form-data", map[string]string{"name": fileField, "filename": f.Name}))
	h.Set("Content-Type", f.ContentType)
	part, err := w.CreatePart(h)
	if err != nil {
		return nil, "", err
	}
	if _, err := part.Write(f.Data); err != nil {
		return nil, "", err
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return &body, w.FormDataContentType(), nil
}
