package kubestatus

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/channels"
)

// FieldManager is the runtime's field manager: every replica applies under it, so
// replicas writing the same status make the same apply, which changes nothing.
const FieldManager = "switchboard-runtime"

// ConditionConnected is the Channel condition the runtime owns.
const ConditionConnected = "Connected"

// maxMessage bounds the condition's message; provider errors can be long.
const maxMessage = 1024

// maxConflicts bounds the re-reads when the Channel changes between read and apply.
const maxConflicts = 5

// ChannelsResource is the Channels' API resource.
var ChannelsResource = chatv1alpha1.GroupVersion.WithResource("channels")

// NewChannelWriter returns a writer of the Channels in namespace, authenticating with
// cfg. The runtime's Role lets it list (by name) and patch the status of exactly the
// messenger Channels of its LiveChat.
func NewChannelWriter(cfg *rest.Config, namespace string, log *slog.Logger) (*ChannelWriter, error) {
	a, err := newChannelAPI(cfg, namespace)
	if err != nil {
		return nil, err
	}
	w := newWriter(nil, log)
	w.write = func(ctx context.Context, s channels.Status) error { return a.write(ctx, s, w.now()) }
	return w, nil
}

// channelAPI reads and applies Channels in one namespace.
type channelAPI struct {
	res       dynamic.ResourceInterface
	namespace string
	// afterRead, when set, runs once between a read and its apply: tests race there.
	afterRead func()
}

func newChannelAPI(cfg *rest.Config, namespace string) (*channelAPI, error) {
	cfg = rest.CopyConfig(cfg)
	if cfg.UserAgent == "" {
		cfg.UserAgent = FieldManager
	}
	dc, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("a client for Channel status: %w", err)
	}
	return &channelAPI{res: dc.Resource(ChannelsResource).Namespace(namespace), namespace: namespace}, nil
}

// write applies s unless the Channel already says it. The apply names the
// resourceVersion it was computed from: a replica that lost the race re-reads, finds
// its status written, and stops there, so a status that flips is written once and its
// lastTransitionTime does not move again.
func (a *channelAPI) write(ctx context.Context, s channels.Status, now time.Time) error {
	for attempt := 1; ; attempt++ {
		cur, err := a.read(ctx, s.Channel)
		if apierrors.IsNotFound(err) {
			return nil // the Channel is gone: there is nothing to report on
		}
		if err != nil {
			return err
		}
		want := desired(s, cur.connected, cur.generation, now)
		if cur.says(want, s.WebhookURL) {
			return nil
		}
		if f := a.afterRead; f != nil {
			a.afterRead = nil
			f()
		}
		_, err = a.res.ApplyStatus(ctx, s.Channel, applyObject(a.namespace, s.Channel, cur.resourceVersion, want, s.WebhookURL),
			metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		switch {
		case apierrors.IsConflict(err) && attempt < maxConflicts:
			continue
		case apierrors.IsNotFound(err):
			return nil
		}
		return err
	}
}

// channelState is what the writer needs of a Channel.
type channelState struct {
	resourceVersion string
	generation      int64
	connected       *metav1.Condition
	webhookURL      string
}

// says reports whether the Channel already holds the condition and webhook URL.
func (c channelState) says(want metav1.Condition, webhookURL string) bool {
	have := c.connected
	return have != nil && have.Status == want.Status && have.Reason == want.Reason && have.Message == want.Message &&
		have.ObservedGeneration == want.ObservedGeneration && have.LastTransitionTime.Equal(&want.LastTransitionTime) &&
		c.webhookURL == webhookURL
}

// read gets one Channel by listing with its name: the Role grants list by name (what
// the operator holds, so it may grant it), not get.
func (a *channelAPI) read(ctx context.Context, name string) (channelState, error) {
	list, err := a.res.List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", name).String()})
	if err != nil {
		return channelState{}, err
	}
	if len(list.Items) == 0 {
		return channelState{}, apierrors.NewNotFound(ChannelsResource.GroupResource(), name)
	}
	var ch chatv1alpha1.Channel
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[0].Object, &ch); err != nil {
		return channelState{}, fmt.Errorf("reading Channel %s: %w", name, err)
	}
	return channelState{resourceVersion: ch.ResourceVersion, generation: ch.Generation,
		connected: meta.FindStatusCondition(ch.Status.Conditions, ConditionConnected), webhookURL: ch.Status.WebhookURL}, nil
}

// desired is the Connected condition for s. Its lastTransitionTime moves only when
// the status flips, so rewording a message or a new generation is no transition.
func desired(s channels.Status, cur *metav1.Condition, generation int64, now time.Time) metav1.Condition {
	c := metav1.Condition{Type: ConditionConnected, Status: metav1.ConditionFalse, Reason: s.Reason,
		Message: plain(s.Message), ObservedGeneration: generation, LastTransitionTime: metav1.NewTime(now).Rfc3339Copy()}
	if s.Connected {
		c.Status = metav1.ConditionTrue
	}
	if !reasonFormat.MatchString(c.Reason) {
		c.Reason = "NotConnected"
		if s.Connected {
			c.Reason = channels.ReasonConnected
		}
	}
	if c.Message == "" {
		c.Message = "the provider does not accept the channel's credentials"
		if s.Connected {
			c.Message = "the provider accepts the channel's credentials"
		}
	}
	if cur != nil && cur.Status == c.Status {
		c.LastTransitionTime = cur.LastTransitionTime
	}
	return c
}

// reasonFormat is what the API server accepts as a condition reason.
var reasonFormat = regexp.MustCompile(`^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$`)

// The parts of a URL that carry credentials: user:password@, and the query, where
// some APIs take an access token. Adapters keep tokens out of their errors; this is
// the second line.
var (
	userInURL  = regexp.MustCompile(`(?i)(https?://)[^/\s@]*@`)
	queryOfURL = regexp.MustCompile(`(?i)(https?://[^\s?#]*)[?#][^\s"']*`)
)

// plain makes a provider's error fit a condition message: one line, no URL
// credentials or query strings, at most maxMessage bytes.
func plain(msg string) string {
	msg = queryOfURL.ReplaceAllString(userInURL.ReplaceAllString(msg, "$1"), "$1")
	msg = strings.Join(strings.Fields(msg), " ")
	if len(msg) <= maxMessage {
		return msg
	}
	cut := maxMessage - len("…")
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	return msg[:cut] + "…"
}

// applyObject is the apply configuration of the fields the runtime owns: the
// Connected condition and, when the channel takes webhooks, webhookURL. A field left
// out that this manager applied before is removed, so a channel that stops taking
// webhooks loses its URL.
func applyObject(namespace, name, resourceVersion string, c metav1.Condition, webhookURL string) *unstructured.Unstructured {
	cond, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&c)
	if err != nil {
		panic(err) // a metav1.Condition always converts
	}
	status := map[string]any{"conditions": []any{cond}}
	if webhookURL != "" {
		status["webhookURL"] = webhookURL
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": chatv1alpha1.GroupVersion.String(),
		"kind":       "Channel",
		"metadata":   map[string]any{"name": name, "namespace": namespace, "resourceVersion": resourceVersion},
		"status":     status,
	}}
}

// permanent reports errors that retrying the same status cannot cure: the API server
// refuses its content. A refusal by RBAC is retried, because the operator widens the
// runtime's Role for a new channel only after the runtime may have seen the channel.
func permanent(err error) bool {
	return apierrors.IsInvalid(err) || apierrors.IsBadRequest(err)
}
