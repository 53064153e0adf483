package render

import (
	"fmt"
	"io"
	"slices"
	"sort"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// Diff formats.
const (
	FormatText     = "text"
	FormatMarkdown = "markdown"
)

// DiffOptions of one change review.
type DiffOptions struct {
	// Base and Head are the manifests before and after the change.
	Base, Head []string
	// Format is FormatText or FormatMarkdown.
	Format string
	// Namespace of objects that name none.
	Namespace string
	// ExitCode makes a change that compiles cleanly exit 3 rather than 0, so a
	// pipeline can tell "nothing changed" from "something changed".
	ExitCode bool
}

// Exit codes of a change review.
const (
	DiffClean    = 0 // the head compiles without problems
	DiffProblems = 1 // the head has problems (the report lists the new ones)
	DiffInput    = 2 // a tree could not be read
	DiffChanged  = 3 // with ExitCode: the head compiles cleanly and the configuration changed
)

// Change says what happened to one object.
type Change string

// Changes.
const (
	Added   Change = "added"
	Removed Change = "removed"
	Changed Change = "changed"
)

// Report is what a change means for the people using the platform.
type Report struct {
	Platforms []PlatformReport
	// NewProblems are in the head and not in the base; FixedProblems the reverse.
	NewProblems, FixedProblems []string
	// OpenProblems counts the problems in both.
	OpenProblems int
}

// PlatformReport holds the changes to one LiveChat.
type PlatformReport struct {
	Namespace, Name string
	Change          Change
	Sections        []Section
}

// Section groups the changes of one kind of thing: queues, channels, ...
type Section struct {
	Title   string
	Entries []Entry
}

// Entry is one object added, removed or changed, with what that means.
type Entry struct {
	Name    string
	Change  Change
	Details []string
}

// Empty reports whether the change leaves the compiled configuration and its
// problems as they were.
func (r Report) Empty() bool {
	return len(r.Platforms) == 0 && len(r.NewProblems) == 0 && len(r.FixedProblems) == 0
}

// RunDiff compiles both trees, writes the report and returns the exit code.
func RunDiff(opts DiffOptions, stdout, stderr io.Writer) int {
	if opts.Format != FormatText && opts.Format != FormatMarkdown {
		fmt.Fprintf(stderr, "unknown format %q: use %q or %q\n", opts.Format, FormatText, FormatMarkdown)
		return DiffInput
	}
	base, err := compileTree(opts.Base, opts.Namespace)
	if err != nil {
		fmt.Fprintln(stderr, "base:", err)
		return DiffInput
	}
	head, err := compileTree(opts.Head, opts.Namespace)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return DiffInput
	}
	if len(head.Platforms) == 0 && len(base.Platforms) == 0 {
		fmt.Fprintln(stderr, "no LiveChat found in", opts.Base, "or", opts.Head)
		return DiffInput
	}
	if !head.HasSecrets {
		fmt.Fprintln(stderr, "note: no Secret manifests given, so Secret references are not checked")
	}
	report := compare(base, head)
	write := writeText
	if opts.Format == FormatMarkdown {
		write = writeMarkdown
	}
	if err := write(stdout, report); err != nil {
		fmt.Fprintln(stderr, err)
		return DiffInput
	}
	switch {
	case len(problemLines(head)) > 0:
		return DiffProblems
	case opts.ExitCode && !report.Empty():
		return DiffChanged
	}
	return DiffClean
}

// compare builds the report of the change from base to head.
func compare(base, head *tree) Report {
	var r Report
	byKey := func(t *tree) map[string]*config.Config {
		m := map[string]*config.Config{}
		for _, p := range t.Platforms {
			m[p.Config.LiveChat.Namespace+"/"+p.Config.LiveChat.Name] = p.Config
		}
		return m
	}
	b, h := byKey(base), byKey(head)
	keys := map[string]bool{}
	for k := range b {
		keys[k] = true
	}
	for k := range h {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		bc, hc := b[k], h[k]
		var p PlatformReport
		switch {
		case bc == nil:
			p = comparePlatform(&config.Config{LiveChat: config.LiveChat{Namespace: hc.LiveChat.Namespace, Name: hc.LiveChat.Name}}, hc)
			p.Change = Added
		case hc == nil:
			p = PlatformReport{Namespace: bc.LiveChat.Namespace, Name: bc.LiveChat.Name, Change: Removed}
		default:
			p = comparePlatform(bc, hc)
			if len(p.Sections) == 0 {
				continue
			}
		}
		r.Platforms = append(r.Platforms, p)
	}
	bp, hp := problemLines(base), problemLines(head)
	r.NewProblems, r.FixedProblems = setChanges(bp, hp)
	for _, p := range hp {
		if slices.Contains(bp, p) {
			r.OpenProblems++
		}
	}
	return r
}

// problemLines are the tree's problems without the files they come from (which
// differ between the trees), each once.
func problemLines(t *tree) []string {
	out := t.refusalLines()
	for _, p := range t.Platforms {
		for _, problem := range p.Problems {
			out = append(out, problem.String())
		}
	}
	sort.Strings(out)
	return slices.Compact(out)
}
