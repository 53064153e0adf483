package render

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// MarkdownMarker opens every markdown report, so a CI job can find and update its
// own earlier comment on a pull request instead of adding another.
const MarkdownMarker = "<!-- switchboard-diff -->"

var changeSymbol = map[Change]string{Added: "+", Removed: "-", Changed: "~"}

// counts summarises a section: "1 added, 2 changed".
func counts(s Section) string {
	n := map[Change]int{}
	for _, e := range s.Entries {
		n[e.Change]++
	}
	var parts []string
	for _, c := range []Change{Added, Changed, Removed} {
		if n[c] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[c], c))
		}
	}
	return strings.Join(parts, ", ")
}

func platformTitle(p PlatformReport) string {
	return fmt.Sprintf("LiveChat %s/%s %s", p.Namespace, p.Name, p.Change)
}

func writeText(w io.Writer, r Report) error {
	var b bytes.Buffer
	if r.Empty() {
		b.WriteString("No change to the compiled configuration.\n")
	}
	for i, p := range r.Platforms {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(platformTitle(p) + "\n")
		for _, s := range p.Sections {
			fmt.Fprintf(&b, "  %s (%s)\n", s.Title, counts(s))
			for _, e := range s.Entries {
				fmt.Fprintf(&b, "    %s %s\n", changeSymbol[e.Change], e.Name)
				for _, d := range e.Details {
					fmt.Fprintf(&b, "        %s\n", d)
				}
			}
		}
	}
	problems := func(title string, lines []string) {
		if len(lines) == 0 {
			return
		}
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%s\n", title)
		for _, l := range lines {
			fmt.Fprintf(&b, "  %s\n", l)
		}
	}
	problems("Problems this change introduces (fix them before merging):", r.NewProblems)
	problems("Problems this change fixes:", r.FixedProblems)
	if r.OpenProblems > 0 {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		fmt.Fprintf(&b, "%d problem(s) found before this change remain: switchboard render lists them.\n", r.OpenProblems)
	}
	_, err := w.Write(b.Bytes())
	return err
}

func writeMarkdown(w io.Writer, r Report) error {
	var b bytes.Buffer
	b.WriteString(MarkdownMarker + "\n### switchboard: what this change does\n\n")
	if r.Empty() {
		b.WriteString("No change to the compiled configuration.\n")
	}
	if len(r.NewProblems) > 0 {
		b.WriteString("> [!CAUTION]\n> This change introduces problems: the parts they name stop working once it is applied. Fix them before merging.\n\n")
		for _, l := range r.NewProblems {
			fmt.Fprintf(&b, "- %s\n", escapeMarkdown(l))
		}
		b.WriteString("\n")
	}
	for _, p := range r.Platforms {
		fmt.Fprintf(&b, "#### LiveChat `%s/%s` %s\n\n", p.Namespace, p.Name, p.Change)
		for _, s := range p.Sections {
			fmt.Fprintf(&b, "**%s** (%s)\n\n", s.Title, counts(s))
			for _, e := range s.Entries {
				fmt.Fprintf(&b, "- %s `%s`\n", e.Change, e.Name)
				for _, d := range e.Details {
					fmt.Fprintf(&b, "  - %s\n", escapeMarkdown(d))
				}
			}
			b.WriteString("\n")
		}
	}
	if len(r.FixedProblems) > 0 {
		b.WriteString("#### Problems this change fixes\n\n")
		for _, l := range r.FixedProblems {
			fmt.Fprintf(&b, "- %s\n", escapeMarkdown(l))
		}
		b.WriteString("\n")
	}
	if r.OpenProblems > 0 {
		fmt.Fprintf(&b, "%d problem(s) found before this change remain: `switchboard render` lists them.\n", r.OpenProblems)
	}
	_, err := w.Write(bytes.TrimRight(b.Bytes(), "\n"))
	if err == nil {
		_, err = io.WriteString(w, "\n")
	}
	return err
}

var markdownEscaper = strings.NewReplacer(`\`, `\\`, "`", "\\`", `*`, `\*`, `_`, `\_`, `<`, `&lt;`, `>`, `&gt;`, `[`, `\[`, `]`, `\]`, `|`, `\|`)

// escapeMarkdown keeps names, URLs and messages literal in a comment.
func escapeMarkdown(s string) string { return markdownEscaper.Replace(s) }
