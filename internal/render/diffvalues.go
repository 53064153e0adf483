package render

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// setChanges returns what head has that base lacks, and the reverse, each sorted.
func setChanges[T ~string](base, head []T) (added, removed []string) {
	for _, h := range head {
		if !slices.Contains(base, h) {
			added = append(added, string(h))
		}
	}
	for _, b := range base {
		if !slices.Contains(head, b) {
			removed = append(removed, string(b))
		}
	}
	sort.Strings(added)
	sort.Strings(removed)
	return added, removed
}

// listLines says what joined and left a list: "operators added: carol".
func listLines[T ~string](label string, base, head []T) []string {
	added, removed := setChanges(base, head)
	var out []string
	if len(added) > 0 {
		out = append(out, fmt.Sprintf("%s added: %s", label, strings.Join(added, ", ")))
	}
	if len(removed) > 0 {
		out = append(out, fmt.Sprintf("%s removed: %s", label, strings.Join(removed, ", ")))
	}
	return out
}

// valueLine says how one value changed: "accept timeout: 2m → 5m".
func valueLine(label, base, head string) []string {
	if base == head {
		return nil
	}
	return []string{fmt.Sprintf("%s: %s → %s", label, orNone(base), orNone(head))}
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// duration writes a duration the way people write it in manifests: 2m, 1h30m.
func duration(d config.Duration) string {
	s := d.Duration.String()
	if d.Duration >= time.Minute {
		s = strings.TrimSuffix(s, "0s")
	}
	if d.Duration >= time.Hour {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// orNever writes a duration whose zero means "never".
func orNever(d config.Duration) string {
	if d.Duration == 0 {
		return "never"
	}
	return duration(d)
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// fieldChanges compares two values field by field, by their JSON form, for the
// settings that need no words of their own: "smtp.port: 587 → 465". Lists of plain
// values are compared whole.
func fieldChanges(prefix string, base, head any) []string {
	b, h := map[string]string{}, map[string]string{}
	flatten(prefix, toJSON(base), b)
	flatten(prefix, toJSON(head), h)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range h {
		keys[k] = true
	}
	var out []string
	for k := range keys {
		bv, inBase := b[k]
		hv, inHead := h[k]
		switch {
		case !inBase:
			out = append(out, fmt.Sprintf("%s set to %s", k, hv))
		case !inHead:
			out = append(out, fmt.Sprintf("%s unset (was %s)", k, bv))
		case bv != hv:
			if bl, hl, ok := bothLists(bv, hv); ok {
				out = append(out, listLines(k, bl, hl)...)
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s → %s", k, bv, hv))
		}
	}
	sort.Strings(out)
	return out
}

func toJSON(v any) any {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	var out any
	if err := json.Unmarshal(data, &out); err != nil {
		return string(data)
	}
	return out
}

// flatten writes the leaves of a decoded JSON value as path → compact JSON.
func flatten(path string, v any, out map[string]string) {
	switch t := v.(type) {
	case nil:
		return
	case map[string]any:
		for k, e := range t {
			p := k
			if path != "" {
				p = path + "." + k
			}
			flatten(p, e, out)
		}
	case []any:
		if len(t) == 0 {
			return
		}
		scalars := true
		for _, e := range t {
			switch e.(type) {
			case map[string]any, []any:
				scalars = false
			}
		}
		if scalars {
			data, _ := json.Marshal(t)
			out[path] = string(data)
			return
		}
		for i, e := range t {
			flatten(fmt.Sprintf("%s[%d]", path, i), e, out)
		}
	default:
		data, _ := json.Marshal(t)
		out[path] = string(data)
	}
}

// bothLists decodes two flattened values that are both lists of plain values, so a
// change to them reads as what joined and what left.
func bothLists(a, b string) (al, bl []string, ok bool) {
	if json.Unmarshal([]byte(a), &al) != nil || json.Unmarshal([]byte(b), &bl) != nil {
		return nil, nil, false
	}
	return al, bl, true
}
