package smtptest

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
)

// Parsed is a message read back as a mail client would: its headers, with the subject
// decoded, and the text of its parts.
type Parsed struct {
	Header  mail.Header
	Subject string
	// MediaType of the message: "multipart/alternative", "text/plain"…
	MediaType string
	// Text and HTML are the decoded bodies of the text/plain and text/html parts.
	Text, HTML string
	// Parts lists the media types of the parts in order (the message's own for a
	// single-part message).
	Parts []string
}

// Parse reads m back.
func (m Message) Parse() (Parsed, error) {
	msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
	if err != nil {
		return Parsed{}, err
	}
	p := Parsed{Header: msg.Header}
	if p.Subject, err = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil {
		return Parsed{}, fmt.Errorf("decoding the subject: %w", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		return Parsed{}, fmt.Errorf("the Content-Type: %w", err)
	}
	p.MediaType = mediaType
	if !strings.HasPrefix(mediaType, "multipart/") {
		return p, p.addPart(mediaType, msg.Header.Get("Content-Transfer-Encoding"), msg.Body)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := r.NextRawPart()
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			return Parsed{}, err
		}
		pt, _, err := mime.ParseMediaType(part.Header.Get("Content-Type"))
		if err != nil {
			return Parsed{}, fmt.Errorf("a part's Content-Type: %w", err)
		}
		if err := p.addPart(pt, part.Header.Get("Content-Transfer-Encoding"), part); err != nil {
			return Parsed{}, err
		}
	}
}

func (p *Parsed) addPart(mediaType, encoding string, body io.Reader) error {
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("decoding a %s part: %w", mediaType, err)
	}
	p.Parts = append(p.Parts, mediaType)
	switch mediaType {
	case "text/plain":
		p.Text = string(data)
	case "text/html":
		p.HTML = string(data)
	}
	return nil
}
