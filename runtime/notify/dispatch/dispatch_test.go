package dispatch_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-chat/switchboard/internal/samples"
	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/media"
	"github.com/switchboard-chat/switchboard/runtime/notify"
	"github.com/switchboard-chat/switchboard/runtime/notify/dispatch"
	"github.com/switchboard-chat/switchboard/runtime/outbox"
	"github.com/switchboard-chat/switchboard/runtime/store"
	"github.com/switchboard-chat/switchboard/runtime/store/sqlstore"
)

// recorder is every provider: it keeps what it was asked to deliver, and fails the
// providers named in failing.
type recorder struct {
	mu      sync.Mutex
	got     []string // provider→recipient: subject
	keys    map[string]int
	failing map[string]bool
	// failFirst fails a provider's first calls, this many.
	failFirst map[string]int
	tries     map[string]int // calls to failing providers
	// lastEmail and lastHTML are the bodies of the last email.
	lastEmail, lastHTML string
}

func (r *recorder) factory(p config.NotificationProvider) (notify.Provider, error) {
	return providerFunc(func(_ context.Context, d notify.Delivery) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.failing[p.Name] {
			r.tries[p.Name]++
			return errors.New(p.Name + " is down")
		}
		if r.failFirst[p.Name] > 0 {
			r.failFirst[p.Name]--
			return errors.New(p.Name + " is busy")
		}
		who := d.To.Name
		if d.To.Visitor {
			who = "visitor"
		}
		if p.Webhook != nil {
			who = "hook"
		}
		r.got = append(r.got, p.Name+"→"+who+": "+d.Subject)
		if p.SMTP != nil {
			r.lastEmail, r.lastHTML = d.Text, d.HTML
		}
		r.keys[d.IdempotencyKey]++
		return nil
	}), nil
}

type providerFunc func(context.Context, notify.Delivery) error

func (f providerFunc) Deliver(ctx context.Context, d notify.Delivery) error { return f(ctx, d) }

func (r *recorder) deliveries() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.got)
	slices.Sort(out)
	return out
}

// rig is the notification path on a real SQLite store: the dispatcher, the outbox and
// the deliverer, with the sample policy.
type rig struct {
	st  *sqlstore.DB
	d   *dispatch.Dispatcher
	rec *recorder
	cfg *config.Config
	reg *prometheus.Registry
}

func newRig(t *testing.T, change func(*config.Config)) *rig {
	t.Helper()
	st, err := sqlstore.OpenSQLite(context.Background(), t.TempDir(), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := samples.Config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.LiveChat.PublicURL = "https://chat.example.com"
	cfg.Policies[0].BatchWindow = config.Duration{} // one email per event, unless a test batches
	if change != nil {
		change(cfg)
	}
	r := &rig{st: st, rec: &recorder{keys: map[string]int{}, failing: map[string]bool{}, failFirst: map[string]int{}, tries: map[string]int{}},
		cfg: cfg, reg: prometheus.NewRegistry()}
	current := func() *config.Config { return cfg }
	deliverer := dispatch.NewDeliverer(st, current, r.rec.factory, nil).Instrument(r.reg)
	ob := outbox.New(st, outbox.Options{PollInterval: 50 * time.Millisecond, OnFailed: deliverer.Failed})
	if err := ob.Handle(dispatch.KindDeliver, deliverer.Kind()); err != nil {
		t.Fatal(err)
	}
	r.d = dispatch.New(dispatch.Options{Store: st, Config: current, PollInterval: 50 * time.Millisecond})
	ob.Start()
	r.d.Start()
	t.Cleanup(func() {
		r.d.Close()
		_ = ob.Close(context.Background())
		deliverer.Close()
		_ = st.Close()
	})
	return r
}

func (r *rig) waitFor(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(r.rec.deliveries()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d deliveries: %v", len(r.rec.deliveries()), n, r.rec.deliveries())
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for one too many
	return r.rec.deliveries()
}

// chat stores a conversation of contact Vera in the first-line queue.
func (r *rig) chat(t *testing.T, state store.State, operator string) store.Conversation {
	t.Helper()
	ctx := context.Background()
	k, err := r.st.UpsertContact(ctx, store.Contact{ID: "k1", Channel: "website", ExternalID: "k1", Name: "Vera", Email: "vera@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.st.CreateConversation(ctx, store.Conversation{ID: "c1", Channel: "website", Queue: "first-line", ContactID: k.ID,
		State: state, Operator: operator, LastOperator: operator}, store.Activity{Type: "ChatStarted"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestEventsBecomeDeliveries(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	conv := r.chat(t, store.StateMissed, "")
	if err := r.st.AppendEvents(ctx, store.Event{Type: "OfflineMessage", ConversationID: conv.ID, Detail: "Is anyone there?"}); err != nil {
		t.Fatal(err)
	}
	got := r.waitFor(t, 4)
	want := []string{"email→Alice Andersen: Offline message from Vera", "email→Bob Brown: Offline message from Vera",
		"email→Carol Chen: Offline message from Vera", "team-webhook→hook: Offline message from Vera"}
	if !slices.Equal(got, want) {
		t.Fatalf("deliveries\n got %v\nwant %v", got, want)
	}
}

// TestReplayDeliversNothingTwice: a dispatcher that replays events it dispatched
// before (a crash before its cursor moved is the same) enqueues the same keys, and
// nobody hears twice; two dispatchers racing deliver each once.
func TestReplayDeliversNothingTwice(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	conv := r.chat(t, store.StateMissed, "")
	for i := range 5 {
		if err := r.st.AppendEvents(ctx, store.Event{Type: "OfflineMessage", ConversationID: conv.ID, Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	r.waitFor(t, 20)
	// A second dispatcher, reading from the start as a crashed one would.
	other := dispatch.New(dispatch.Options{Store: r.st, Config: func() *config.Config { return r.cfg }, Cursor: "replay"})
	if n, err := other.Step(ctx); err != nil || n != 5 {
		t.Fatalf("the replay passed %d events: %v", n, err)
	}
	got := r.waitFor(t, 20)
	if len(got) != 20 {
		t.Fatalf("%d deliveries for 5 events to 4 recipients", len(got))
	}
	for k, n := range r.rec.keys {
		if n != 1 {
			t.Fatalf("key %s delivered %d times", k, n)
		}
	}
}

// TestRetriesThenOnError: a provider that keeps failing is tried the policy's number
// of times; then the policy's onError recipients are told, with the error.
func TestRetriesThenOnError(t *testing.T) {
	r := newRig(t, func(cfg *config.Config) {
		cfg.Policies[0].Retry = config.Retry{Attempts: 2, Delay: config.Duration{Duration: 20 * time.Millisecond}, Backoff: "Fixed"}
	})
	r.rec.failing["team-webhook"] = true
	ctx := context.Background()
	conv := r.chat(t, store.StateQueued, "")
	if err := r.st.AppendEvents(ctx, store.Event{Type: "ChatStarted", ConversationID: conv.ID}); err != nil {
		t.Fatal(err)
	}
	got := r.waitFor(t, 1)
	if len(got) != 1 || !strings.HasPrefix(got[0], "email→Sam") || !strings.Contains(got[0], "could not be delivered") {
		t.Fatalf("deliveries %v, want the supervisor told of the failure", got)
	}
	r.rec.mu.Lock()
	defer r.rec.mu.Unlock()
	if n := r.rec.tries["team-webhook"]; n != 2 {
		t.Fatalf("the failing webhook was tried %d times, want the policy's 2", n)
	}
}

// TestBatchingSendsOneDigestPerWindow: with a batching window, a conversation's
// messages to one recipient within the window become one email, sent when the window
// ends, that carries all of them.
func TestBatchingSendsOneDigestPerWindow(t *testing.T) {
	r := newRig(t, func(cfg *config.Config) {
		cfg.Policies[0].BatchWindow = config.Duration{Duration: 2 * time.Second}
	})
	ctx := context.Background()
	conv := r.chat(t, store.StateActive, "alice")
	// Start just after a window began, so the three messages share it.
	time.Sleep(time.Until(time.Now().Truncate(2 * time.Second).Add(2*time.Second + 50*time.Millisecond)))
	var texts []string
	for i := range 3 {
		text := fmt.Sprintf("message %d", i)
		texts = append(texts, text)
		if _, _, err := r.st.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionIn,
			AuthorKind: "contact", Text: text, Events: []store.Event{{Type: "MessageReceived", Detail: text}}}); err != nil {
			t.Fatal(err)
		}
	}
	emails := func() []string {
		var out []string
		for _, d := range r.rec.deliveries() {
			if strings.HasPrefix(d, "email→") {
				out = append(out, d)
			}
		}
		return out
	}
	time.Sleep(500 * time.Millisecond)
	if got := emails(); len(got) != 0 {
		t.Fatalf("emails %v before the window ended (SMS goes one by one)", got)
	}
	waitFor := time.Now().Add(10 * time.Second)
	for len(emails()) == 0 && time.Now().Before(waitFor) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	got := emails()
	// alice (no presence: offline) is the last operator: the first message is mailed to
	// her as a new chat, the later ones as messages, all in one digest.
	if len(got) != 1 || !strings.HasPrefix(got[0], "email→Alice Andersen") {
		t.Fatalf("deliveries %v, want one digest to alice", got)
	}
	r.rec.mu.Lock()
	body := r.rec.lastEmail
	r.rec.mu.Unlock()
	for _, text := range texts {
		if !strings.Contains(body, text) {
			t.Fatalf("the digest %q lacks %q", body, text)
		}
	}
}

// TestOperatorAnswerCarriesTheirPicture: a visitor told of an operator's answer gets
// the operator's name and picture.
func TestOperatorAnswerCarriesTheirPicture(t *testing.T) {
	r := newRig(t, func(cfg *config.Config) {
		for i := range cfg.People {
			if cfg.People[i].Name == "alice" {
				cfg.People[i].AvatarURL = "https://chat.example.com/avatars/alice.png"
			}
		}
	})
	ctx := context.Background()
	conv := r.chat(t, store.StateActive, "alice")
	if err := r.st.AppendEvents(ctx, store.Event{Type: "MessageSent", ConversationID: conv.ID, Operator: "alice", Detail: "Here you go"}); err != nil {
		t.Fatal(err)
	}
	got := r.waitFor(t, 1)
	r.rec.mu.Lock()
	html := r.rec.lastHTML
	r.rec.mu.Unlock()
	if len(got) != 1 || got[0] != "email→visitor: You have a reply from Alice Andersen" ||
		!strings.Contains(html, `src="https://chat.example.com/avatars/alice.png"`) || !strings.Contains(html, "Here you go") {
		t.Fatalf("deliveries %v, html %q", got, html)
	}
}

// TestPruneKeepsWhatIsStillToDispatch: events past their retention go once
// dispatched; what the dispatcher has not passed stays, however old.
func TestPruneKeepsWhatIsStillToDispatch(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	conv := r.chat(t, store.StateMissed, "")
	if err := r.st.AppendEvents(ctx, store.Event{Type: "OfflineMessage", ConversationID: conv.ID, Detail: "Is anyone there?"}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 4)
	r.d.Close() // the next event stays undispatched
	if err := r.st.AppendEvents(ctx, store.Event{Type: "OfflineMessage", ConversationID: conv.ID, Detail: "Hello?"}); err != nil {
		t.Fatal(err)
	}
	r.d.Prune(ctx, time.Now()) // within the retention: nothing goes
	if evs, _ := r.st.Events(ctx, 0, 0); len(evs) != 2 {
		t.Fatalf("%d events after pruning within the retention, want 2", len(evs))
	}
	r.d.Prune(ctx, time.Now().Add(8*24*time.Hour))
	evs, _ := r.st.Events(ctx, 0, 0)
	if len(evs) != 1 || evs[0].Detail != "Hello?" {
		t.Fatalf("events left %v, want only the one not dispatched", evs)
	}
}

// TestAttachmentsAreLinked: {attachments} lists the files of the event's message,
// each with a link signed for a week below the LiveChat's public URL.
func TestAttachmentsAreLinked(t *testing.T) {
	r := newRig(t, func(cfg *config.Config) {
		for i := range cfg.Policies[0].Templates {
			if tpl := &cfg.Policies[0].Templates[i]; tpl.Name == "visitor-reply" {
				tpl.Text, tpl.HTML, tpl.Fields = "{message}\n{attachments}", "", []string{"attachments", "message"}
			}
		}
	})
	ctx := context.Background()
	conv := r.chat(t, store.StateActive, "alice")
	file := store.Attachment{ID: media.NewID(), Kind: "document", Name: "form.pdf", ContentType: "application/pdf",
		State: store.AttachmentStored, Data: []byte("%PDF-1.4\n")}
	if _, _, err := r.st.AppendMessage(ctx, "website", store.Message{ConversationID: conv.ID, Direction: store.DirectionOut,
		AuthorKind: "operator", Author: "alice", Text: "Here is the form", Attachments: []store.Attachment{file},
		Events: []store.Event{{Type: "MessageSent", Operator: "alice", Detail: "Here is the form"}}}); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, 1)
	r.rec.mu.Lock()
	text := r.rec.lastEmail
	r.rec.mu.Unlock()
	prefix := "form.pdf: https://chat.example.com" + media.PublicPath
	i := strings.Index(text, prefix)
	if i < 0 {
		t.Fatalf("the email does not link the file:\n%s", text)
	}
	token, _, _ := strings.Cut(text[i+len(prefix):], "\n")
	key, err := r.st.RuntimeKey(ctx, media.KeyName)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := media.Verify(key, strings.TrimSpace(token), time.Now().Add(6*24*time.Hour)); err != nil || id != file.ID {
		t.Errorf("the link serves %q (%v) in six days, want %s", id, err, file.ID)
	}
}
