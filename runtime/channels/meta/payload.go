package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Int is an integer Meta sends as a JSON number or as a string of digits (WhatsApp's
// timestamps, the Messenger test tool's); null is zero.
type Int int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *Int) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*n = 0
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return errors.New("not an integer")
	}
	*n = Int(v)
	return nil
}

// String is the integer in decimal.
func (n Int) String() string { return strconv.FormatInt(int64(n), 10) }

// ID is an identifier Meta sends as a string or, in older payloads, as a number (app
// ids); null is empty.
type ID string

// UnmarshalJSON implements json.Unmarshaler.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*id = ""
		return nil
	case len(b) > 0 && b[0] == '"':
		var s string
		err := json.Unmarshal(b, &s)
		*id = ID(s)
		return err
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return errors.New("not a string or number")
	}
	*id = ID(n.String())
	return nil
}

// maxTime bounds timestamps: beyond it a value is nonsense, not a time.
var maxTime = time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)

// Millis is a time in milliseconds since the epoch (Messenger); zero or out of range
// is the zero time.
func Millis(ms Int) time.Time {
	if ms <= 0 || ms > Int(maxTime.UnixMilli()) {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}

// Seconds is a time in seconds since the epoch (WhatsApp); zero or out of range is
// the zero time.
func Seconds(s Int) time.Time {
	if s <= 0 || s > Int(maxTime.Unix()) {
		return time.Time{}
	}
	return time.Unix(int64(s), 0).UTC()
}

// SplitText cuts text into parts of at most max characters, each ending at a line
// break or a space where one is near, so a provider's length limit costs a second
// message rather than the reply.
func SplitText(text string, max int) []string {
	if max < 1 {
		return []string{text}
	}
	var parts []string
	for utf8.RuneCountInString(text) > max {
		cut := byteIndexOfRune(text, max)
		if i := strings.LastIndexFunc(text[:cut], unicode.IsSpace); i > cut/2 {
			_, size := utf8.DecodeRuneInString(text[i:])
			cut = i + size
		}
		if p := strings.TrimRightFunc(text[:cut], unicode.IsSpace); p != "" {
			parts = append(parts, p)
		}
		text = strings.TrimLeftFunc(text[cut:], unicode.IsSpace)
	}
	if strings.TrimSpace(text) != "" {
		parts = append(parts, text)
	}
	return parts
}

// byteIndexOfRune is the byte offset of the n-th rune of s.
func byteIndexOfRune(s string, n int) int {
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}
