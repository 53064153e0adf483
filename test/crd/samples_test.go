package crd

import (
	"context"
	"testing"

	"github.com/switchboard-chat/switchboard/internal/samples"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// loadSamples reads config/samples, the sample platform every test starts from.
func loadSamples(t *testing.T) *manifests.Set {
	t.Helper()
	set, err := manifests.ReadPaths(samples.Dir())
	if err != nil {
		t.Fatalf("reading samples: %v", err)
	}
	return set
}

// sample returns a copy of the sample object of obj's kind named name.
func sample[T client.Object](t *testing.T, name string) T {
	t.Helper()
	for _, o := range loadSamples(t).Objects {
		if typed, ok := o.Object.(T); ok && o.GetName() == name {
			return typed
		}
	}
	var zero T
	t.Fatalf("no sample %T named %s", zero, name)
	return zero
}

func TestSamplesApplyAndComeBackDefaulted(t *testing.T) {
	ctx := context.Background()
	ns := env.Namespace(t)
	set := loadSamples(t)

	kinds := map[string]int{}
	for _, o := range set.Objects {
		o.SetNamespace(ns)
		if err := env.Client.Create(ctx, o.Object); err != nil {
			t.Fatalf("%s: %s %s was refused: %v", o.Source, manifests.GVK(o.Object).Kind, o.GetName(), err)
		}
		kinds[manifests.GVK(o.Object).Kind]++
	}
	for _, kind := range []string{"LiveChat", "ChatQueue", "Channel", "OperatorGroup", "NotificationPolicy", "Secret"} {
		if kinds[kind] == 0 {
			t.Errorf("the samples have no %s; they must exercise every kind", kind)
		}
	}

	get := func(name string, obj client.Object) {
		t.Helper()
		if err := env.Client.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, obj); err != nil {
			t.Fatalf("reading back %s: %v", name, err)
		}
	}

	var lc chatv1alpha1.LiveChat
	get("support", &lc)
	if lc.Spec.Runtime.LogLevel != "info" {
		t.Errorf("LiveChat runtime.logLevel = %q, want the default info", lc.Spec.Runtime.LogLevel)
	}
	if lc.Spec.Console.Sound.URL != "" || lc.Spec.Console.Sound.Enabled == nil || !*lc.Spec.Console.Sound.Enabled {
		t.Errorf("LiveChat console.sound = %+v, want enabled with the built-in chime", lc.Spec.Console.Sound)
	}

	var website chatv1alpha1.Channel
	get("website", &website)
	if website.Spec.Active == nil || !*website.Spec.Active {
		t.Errorf("Channel website active = %v, want the default true", website.Spec.Active)
	}
	var telegram chatv1alpha1.Channel
	get("telegram", &telegram)
	if got := telegram.Spec.Telegram.APIBaseURL; got != "https://api.telegram.org" {
		t.Errorf("Channel telegram apiBaseURL = %q, want the default https://api.telegram.org", got)
	}

	var accounting chatv1alpha1.ChatQueue
	get("accounting", &accounting)
	if got := accounting.Spec.Actions[0].Webhook.Timeout; got == nil || got.Duration.String() != "10s" {
		t.Errorf("ChatQueue accounting action timeout = %v, want the default 10s", got)
	}
	if accounting.Spec.Offline.AcceptMessages == nil || !*accounting.Spec.Offline.AcceptMessages {
		t.Errorf("ChatQueue accounting offline.acceptMessages = %v, want true", accounting.Spec.Offline.AcceptMessages)
	}

	var firstLine chatv1alpha1.OperatorGroup
	get("first-line", &firstLine)
	if firstLine.Spec.NotificationsEnabled == nil || !*firstLine.Spec.NotificationsEnabled {
		t.Errorf("OperatorGroup first-line notificationsEnabled = %v, want the default true", firstLine.Spec.NotificationsEnabled)
	}

	var policy chatv1alpha1.NotificationPolicy
	get("support-notifications", &policy)
	rules := map[string]chatv1alpha1.NotificationRule{}
	for _, r := range policy.Spec.Rules {
		rules[r.Name] = r
	}
	if s := rules["visitor-replies"].When.SkipIfBotAnswered; s == nil || !*s {
		t.Errorf("rule visitor-replies when.skipIfBotAnswered = %v, want the default true", s)
	}
	if got := rules["later-messages"].Recipients.Strategy; got != chatv1alpha1.RecipientsAll {
		t.Errorf("rule later-messages recipients.strategy = %q, want the default All", got)
	}
	for _, p := range policy.Spec.Providers {
		if p.Twilio != nil && p.Twilio.APIBaseURL != "https://api.twilio.com" {
			t.Errorf("provider %s apiBaseURL = %q, want the default https://api.twilio.com", p.Name, p.Twilio.APIBaseURL)
		}
		if p.Webhook != nil && (p.Webhook.Timeout == nil || p.Webhook.Timeout.Duration.String() != "10s") {
			t.Errorf("provider %s timeout = %v, want the default 10s", p.Name, p.Webhook.Timeout)
		}
	}
}
