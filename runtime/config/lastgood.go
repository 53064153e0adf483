package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// LastGood remembers, by kind and name, the last version of each object that compiled
// without problems, so that a bad edit of one object never takes it out of a working
// configuration: CompileKeepingLastGood serves the remembered version instead. It holds
// specs, which name Secrets but never hold their values.
type LastGood struct {
	Objects []GoodObject `json:"objects"`
	// HeldBack lists the objects whose current version fails and whose remembered
	// version is served instead.
	HeldBack []HeldBack `json:"heldBack,omitempty"`
}

// GoodObject is one remembered version.
type GoodObject struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// Generation is the object's metadata.generation (0 for manifest files).
	Generation int64           `json:"generation,omitempty"`
	Spec       json.RawMessage `json:"spec"`
}

// HeldBack is an object whose current version fails while its last good version is
// served.
type HeldBack struct {
	Kind string `json:"kind"`
	Name string `json:"name"`
	// ServedGeneration is the generation of the version served; Generation that of the
	// version that fails (0 when unknown: manifest files, or refused before compiling).
	ServedGeneration int64 `json:"servedGeneration,omitempty"`
	Generation       int64 `json:"generation,omitempty"`
	// Problems of the version that fails.
	Problems Problems `json:"problems"`
}

// Held returns the entry of one object, or nil when it is not held back.
func (lg LastGood) Held(kind, name string) *HeldBack {
	for i := range lg.HeldBack {
		if h := &lg.HeldBack[i]; h.Kind == kind && h.Name == name {
			return h
		}
	}
	return nil
}

// ParseLastGood decodes what Marshal wrote.
func ParseLastGood(data []byte) (LastGood, error) {
	var lg LastGood
	if err := json.Unmarshal(data, &lg); err != nil {
		return LastGood{}, fmt.Errorf("the record of last good versions is not valid JSON: %w", err)
	}
	return lg, nil
}

// Marshal encodes the record canonically.
func (lg LastGood) Marshal() []byte {
	data, err := json.Marshal(lg)
	if err != nil {
		panic(fmt.Sprintf("config: marshal last good: %v", err)) // plain data: cannot fail
	}
	return data
}

// Compiled is the outcome of CompileKeepingLastGood.
type Compiled struct {
	Config *Config
	// Problems of every object, including those whose last good version is served.
	Problems Problems
	// LiveChat is the version of the LiveChat compiled: the input's, or its last good.
	LiveChat *chatv1alpha1.LiveChat
	// LastGood is the record for the next compile.
	LastGood LastGood
}

type objectKey struct{ kind, name string }

// CompileKeepingLastGood compiles like Compile, but an object whose current version
// has problems (a schema refusal, a reference that does not resolve, a compile
// problem) while the version last recorded in last compiled cleanly is compiled in
// that version: the configuration keeps working as it did, and the problems are
// reported as before. An object with no good version is compiled as Compile does (a
// channel that cannot work stays out). refused are the problems of objects that exist
// but are missing from in because the API server would refuse them; an object neither
// in in nor refused is deleted, and forgotten.
//
// The Input's LiveChat may be the last good version of a refused LiveChat (the caller
// found it in last), but must not be nil.
func CompileKeepingLastGood(in Input, refused Problems, last LastGood) Compiled {
	good := map[objectKey]GoodObject{}
	for _, g := range last.Objects {
		good[objectKey{g.Kind, g.Name}] = g
	}
	refusedBy := groupProblems(refused)
	w := newWorkInput(in)
	held := map[objectKey]*HeldBack{}
	reverted := map[objectKey]bool{}
	hold := func(k objectKey, problems Problems) bool {
		g, ok := good[k]
		if !ok || held[k] != nil || reverted[k] {
			return false
		}
		current, present := w.original(k)
		if refusedBy[k] != nil {
			current, present = version{}, false // what the input holds is not its current version
		}
		if present && bytes.Equal(current.spec, g.Spec) {
			return false // the good version fails too: the cause is elsewhere
		}
		if err := w.put(k, g); err != nil {
			return false // a record this binary cannot read is no fallback
		}
		held[k] = &HeldBack{Kind: k.kind, Name: k.name, ServedGeneration: g.Generation, Generation: current.generation, Problems: problems}
		return true
	}
	for k, ps := range refusedBy {
		hold(k, ps)
	}
	var cfg *Config
	var problems Problems
	for {
		cfg, problems = Compile(w.in)
		failing := groupProblems(problems)
		changed := false
		for k, ps := range failing {
			changed = hold(k, ps) || changed
		}
		if changed {
			continue
		}
		// Every failing object with a good version now serves it. A good version that
		// fails as well gains nothing: serve the current one (or nothing, if refused).
		for k := range held {
			if len(failing[k]) > 0 && !(k.kind == "LiveChat" && refusedBy[k] != nil) {
				w.restore(k)
				delete(held, k)
				reverted[k] = true
				changed = true
			}
		}
		if !changed {
			break
		}
	}
	out := Compiled{Config: cfg, LiveChat: w.in.LiveChat}
	out.Problems = append(out.Problems, refused...)
	out.Problems = append(out.Problems, problems...)
	for _, h := range held {
		if refusedBy[objectKey{h.Kind, h.Name}] == nil {
			out.Problems = append(out.Problems, h.Problems...)
		}
		out.LastGood.HeldBack = append(out.LastGood.HeldBack, *h)
	}
	out.Problems.sort()
	out.LastGood.Objects = w.record(cfg, groupProblems(problems), good, refusedBy)
	sort.Slice(out.LastGood.HeldBack, func(i, j int) bool {
		a, b := out.LastGood.HeldBack[i], out.LastGood.HeldBack[j]
		return a.Kind+"/"+a.Name < b.Kind+"/"+b.Name
	})
	return out
}

func groupProblems(ps Problems) map[objectKey]Problems {
	out := map[objectKey]Problems{}
	for _, p := range ps {
		k := objectKey{p.Kind, p.Name}
		out[k] = append(out[k], p)
	}
	return out
}

// version is one object's spec, encoded, and generation.
type version struct {
	spec       []byte
	generation int64
}

// workInput is a copy of an Input whose objects can be swapped for other versions
// without touching the caller's.
type workInput struct {
	orig, in Input
	versions map[objectKey]version // of the original input
}

func newWorkInput(in Input) *workInput {
	w := &workInput{orig: in, in: in, versions: map[objectKey]version{}}
	w.in.Queues = append([]chatv1alpha1.ChatQueue(nil), in.Queues...)
	w.in.Channels = append([]chatv1alpha1.Channel(nil), in.Channels...)
	w.in.Groups = append([]chatv1alpha1.OperatorGroup(nil), in.Groups...)
	w.in.Policies = append([]chatv1alpha1.NotificationPolicy(nil), in.Policies...)
	add := func(kind string, meta metav1.Object, spec any) {
		w.versions[objectKey{kind, meta.GetName()}] = version{spec: mustJSON(spec), generation: meta.GetGeneration()}
	}
	if lc := in.LiveChat; lc != nil {
		add("LiveChat", lc, lc.Spec)
	}
	for i := range in.Queues {
		add("ChatQueue", &in.Queues[i], in.Queues[i].Spec)
	}
	for i := range in.Channels {
		add("Channel", &in.Channels[i], in.Channels[i].Spec)
	}
	for i := range in.Groups {
		add("OperatorGroup", &in.Groups[i], in.Groups[i].Spec)
	}
	for i := range in.Policies {
		add("NotificationPolicy", &in.Policies[i], in.Policies[i].Spec)
	}
	return w
}

func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("config: marshal spec: %v", err)) // plain data: cannot fail
	}
	return data
}

func (w *workInput) original(k objectKey) (version, bool) {
	v, ok := w.versions[k]
	return v, ok
}

// replace swaps the element of list named name for obj, or appends obj; a nil obj
// removes the element.
func replace[T any](list []T, name string, nameOf func(*T) string, obj *T) []T {
	for i := range list {
		if nameOf(&list[i]) == name {
			if obj == nil {
				return append(list[:i:i], list[i+1:]...)
			}
			list[i] = *obj
			return list
		}
	}
	if obj != nil {
		list = append(list, *obj)
	}
	return list
}

// Object rebuilds the remembered object, in namespace ns.
func (g GoodObject) Object(ns string) (runtime.Object, error) {
	meta := metav1.ObjectMeta{Name: g.Name, Namespace: ns, Generation: g.Generation}
	var obj runtime.Object
	var spec any
	switch g.Kind {
	case "LiveChat":
		o := &chatv1alpha1.LiveChat{ObjectMeta: meta}
		obj, spec = o, &o.Spec
	case "ChatQueue":
		o := &chatv1alpha1.ChatQueue{ObjectMeta: meta}
		obj, spec = o, &o.Spec
	case "Channel":
		o := &chatv1alpha1.Channel{ObjectMeta: meta}
		obj, spec = o, &o.Spec
	case "OperatorGroup":
		o := &chatv1alpha1.OperatorGroup{ObjectMeta: meta}
		obj, spec = o, &o.Spec
	case "NotificationPolicy":
		o := &chatv1alpha1.NotificationPolicy{ObjectMeta: meta}
		obj, spec = o, &o.Spec
	default:
		return nil, fmt.Errorf("unknown kind %q", g.Kind)
	}
	if err := json.Unmarshal(g.Spec, spec); err != nil {
		return nil, fmt.Errorf("%s %s: %w", g.Kind, g.Name, err)
	}
	return obj, nil
}

// put serves g in place of the object's current version.
func (w *workInput) put(k objectKey, g GoodObject) error {
	ns := ""
	if w.orig.LiveChat != nil {
		ns = w.orig.LiveChat.Namespace
	}
	obj, err := g.Object(ns)
	if err != nil {
		return err
	}
	switch o := obj.(type) {
	case *chatv1alpha1.LiveChat:
		if w.orig.LiveChat != nil {
			meta := w.orig.LiveChat.ObjectMeta.DeepCopy()
			meta.Generation = g.Generation
			o.ObjectMeta = *meta
		}
		w.in.LiveChat = o
	case *chatv1alpha1.ChatQueue:
		w.in.Queues = replace(w.in.Queues, k.name, func(q *chatv1alpha1.ChatQueue) string { return q.Name }, o)
	case *chatv1alpha1.Channel:
		w.in.Channels = replace(w.in.Channels, k.name, func(c *chatv1alpha1.Channel) string { return c.Name }, o)
	case *chatv1alpha1.OperatorGroup:
		w.in.Groups = replace(w.in.Groups, k.name, func(g *chatv1alpha1.OperatorGroup) string { return g.Name }, o)
	case *chatv1alpha1.NotificationPolicy:
		w.in.Policies = replace(w.in.Policies, k.name, func(p *chatv1alpha1.NotificationPolicy) string { return p.Name }, o)
	}
	return nil
}

// restore serves the object's current version again, or nothing when it has none.
func (w *workInput) restore(k objectKey) {
	switch k.kind {
	case "LiveChat":
		w.in.LiveChat = w.orig.LiveChat
	case "ChatQueue":
		w.in.Queues = replace(w.in.Queues, k.name, func(q *chatv1alpha1.ChatQueue) string { return q.Name },
			find(w.orig.Queues, k.name, func(q *chatv1alpha1.ChatQueue) string { return q.Name }))
	case "Channel":
		w.in.Channels = replace(w.in.Channels, k.name, func(c *chatv1alpha1.Channel) string { return c.Name },
			find(w.orig.Channels, k.name, func(c *chatv1alpha1.Channel) string { return c.Name }))
	case "OperatorGroup":
		w.in.Groups = replace(w.in.Groups, k.name, func(g *chatv1alpha1.OperatorGroup) string { return g.Name },
			find(w.orig.Groups, k.name, func(g *chatv1alpha1.OperatorGroup) string { return g.Name }))
	case "NotificationPolicy":
		w.in.Policies = replace(w.in.Policies, k.name, func(p *chatv1alpha1.NotificationPolicy) string { return p.Name },
			find(w.orig.Policies, k.name, func(p *chatv1alpha1.NotificationPolicy) string { return p.Name }))
	}
}

func find[T any](list []T, name string, nameOf func(*T) string) *T {
	for i := range list {
		if nameOf(&list[i]) == name {
			return &list[i]
		}
	}
	return nil
}

// record lists the good version of every object of this LiveChat (and of every group
// it uses): the version served when it compiled without problems, else the version
// remembered before, as long as the object still exists. Objects of other LiveChats
// are not this record's.
func (w *workInput) record(cfg *Config, failing map[objectKey]Problems, good map[objectKey]GoodObject, refused map[objectKey]Problems) []GoodObject {
	lc := w.in.LiveChat.Name
	used := map[string]bool{}
	for _, g := range cfg.Groups {
		used[g.Name] = true
	}
	var out []GoodObject
	add := func(kind string, meta metav1.Object, owner string, spec any) {
		k := objectKey{kind, meta.GetName()}
		switch {
		case owner != lc:
		case len(failing[k]) == 0:
			out = append(out, GoodObject{Kind: kind, Name: k.name, Generation: meta.GetGeneration(), Spec: mustJSON(spec)})
		case good[k].Spec != nil:
			out = append(out, good[k])
		}
	}
	add("LiveChat", w.in.LiveChat, lc, w.in.LiveChat.Spec)
	for i := range w.in.Queues {
		q := &w.in.Queues[i]
		add("ChatQueue", q, q.Spec.LiveChatRef.Name, q.Spec)
	}
	for i := range w.in.Channels {
		c := &w.in.Channels[i]
		add("Channel", c, c.Spec.LiveChatRef.Name, c.Spec)
	}
	for i := range w.in.Groups {
		if g := &w.in.Groups[i]; used[g.Name] {
			add("OperatorGroup", g, lc, g.Spec)
		}
	}
	for i := range w.in.Policies {
		p := &w.in.Policies[i]
		add("NotificationPolicy", p, p.Spec.LiveChatRef.Name, p.Spec)
	}
	// A refused object missing from the input (no good version to serve) still
	// exists: keep what was remembered of it.
	seen := map[objectKey]bool{}
	for _, g := range out {
		seen[objectKey{g.Kind, g.Name}] = true
	}
	for k := range refused {
		if g, ok := good[k]; ok && !seen[k] {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return out[i].Kind < out[j].Kind
		}
		return out[i].Name < out[j].Name
	})
	return out
}
