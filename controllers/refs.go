package controllers

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// refsIndex indexes every switchboard object by what it references, as "Kind/name",
// so a change to any object maps back to the objects that reference it without a scan.
const refsIndex = "switchboard.refs"

func ref(kind, name string) string { return kind + "/" + name }

func secretKeyRef(out []string, r *chatv1alpha1.SecretKeyReference) []string {
	if r == nil {
		return out
	}
	return append(out, ref("Secret", r.Name))
}

// refsOf lists what obj references. It is the one place that knows the reference
// fields of each kind; the checks in runtime/config must agree with it.
func refsOf(obj client.Object) []string {
	var out []string
	switch o := obj.(type) {
	case *chatv1alpha1.LiveChat:
		for _, g := range o.Spec.SupervisorGroups {
			out = append(out, ref("OperatorGroup", string(g)))
		}
		if r := o.Spec.AgentAuth.TokensSecretRef; r != nil {
			out = append(out, ref("Secret", r.Name))
		}
		if st := o.Spec.Storage; st != nil && st.Postgres != nil {
			out = secretKeyRef(out, &st.Postgres.URISecretRef)
		}
		if p := o.Spec.ProcessAPI; p != nil {
			out = secretKeyRef(out, &p.TokenSecretRef)
		}
		if oidc := o.Spec.AgentAuth.OIDC; oidc != nil {
			out = secretKeyRef(out, oidc.ClientSecretRef)
		}
	case *chatv1alpha1.ChatQueue:
		out = append(out, ref("LiveChat", o.Spec.LiveChatRef.Name))
		for _, g := range o.Spec.OperatorGroups {
			out = append(out, ref("OperatorGroup", string(g)))
		}
		for _, q := range o.Spec.TransferTargets {
			out = append(out, ref("ChatQueue", string(q)))
		}
		for _, a := range o.Spec.Actions {
			out = secretKeyRef(out, a.Webhook.SecretRef)
		}
	case *chatv1alpha1.Channel:
		out = append(out, ref("LiveChat", o.Spec.LiveChatRef.Name), ref("ChatQueue", o.Spec.QueueRef.Name))
		s := o.Spec
		if s.Telegram != nil {
			out = secretKeyRef(out, &s.Telegram.BotTokenSecretRef)
		}
		if f := s.FacebookMessenger; f != nil {
			out = secretKeyRef(secretKeyRef(secretKeyRef(out, &f.PageAccessTokenSecretRef), &f.AppSecretSecretRef), &f.VerifyTokenSecretRef)
		}
		if w := s.WhatsApp; w != nil {
			out = secretKeyRef(secretKeyRef(secretKeyRef(out, &w.AccessTokenSecretRef), &w.AppSecretSecretRef), &w.VerifyTokenSecretRef)
		}
		if s.SMS != nil {
			out = secretKeyRef(out, &s.SMS.AuthTokenSecretRef)
		}
		if s.Internal != nil {
			for _, g := range s.Internal.ClientGroups {
				out = append(out, ref("OperatorGroup", string(g)))
			}
		}
		if s.Bot != nil {
			out = secretKeyRef(out, s.Bot.Webhook.SecretRef)
		}
	case *chatv1alpha1.NotificationPolicy:
		out = append(out, ref("LiveChat", o.Spec.LiveChatRef.Name))
		for _, p := range o.Spec.Providers {
			switch {
			case p.SMTP != nil:
				out = secretKeyRef(secretKeyRef(out, p.SMTP.UsernameSecretRef), p.SMTP.PasswordSecretRef)
			case p.Twilio != nil:
				out = secretKeyRef(out, &p.Twilio.AuthTokenSecretRef)
			case p.PusherBeams != nil:
				out = secretKeyRef(out, &p.PusherBeams.SecretKeySecretRef)
			case p.OneSignal != nil:
				out = secretKeyRef(out, &p.OneSignal.APIKeySecretRef)
			case p.Webhook != nil:
				out = secretKeyRef(out, p.Webhook.SecretRef)
			}
		}
		recipients := func(r chatv1alpha1.Recipients) {
			for _, g := range r.Groups {
				out = append(out, ref("OperatorGroup", string(g)))
			}
		}
		for _, r := range o.Spec.Rules {
			recipients(r.Recipients)
			for _, q := range r.When.Queues {
				out = append(out, ref("ChatQueue", string(q)))
			}
			for _, c := range r.When.Channels {
				out = append(out, ref("Channel", string(c)))
			}
		}
		if o.Spec.OnError != nil {
			recipients(o.Spec.OnError.Recipients)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// liveChatOf returns the LiveChat an object belongs to ("" for groups and Secrets).
func liveChatOf(obj client.Object) string {
	switch o := obj.(type) {
	case *chatv1alpha1.LiveChat:
		return o.Name
	case *chatv1alpha1.ChatQueue:
		return o.Spec.LiveChatRef.Name
	case *chatv1alpha1.Channel:
		return o.Spec.LiveChatRef.Name
	case *chatv1alpha1.NotificationPolicy:
		return o.Spec.LiveChatRef.Name
	}
	return ""
}

// kindOf names the kind of one of the objects switchboard watches.
func kindOf(obj client.Object) string {
	switch o := obj.(type) {
	case *chatv1alpha1.LiveChat:
		return "LiveChat"
	case *chatv1alpha1.ChatQueue:
		return "ChatQueue"
	case *chatv1alpha1.Channel:
		return "Channel"
	case *chatv1alpha1.OperatorGroup:
		return "OperatorGroup"
	case *chatv1alpha1.NotificationPolicy:
		return "NotificationPolicy"
	case *corev1.Secret:
		return "Secret"
	case *metav1.PartialObjectMetadata:
		// A Secret from the metadata-only watch.
		return o.Kind
	}
	return ""
}

// referrers lists the objects of list's kind in obj's namespace that reference obj.
func referrers(ctx context.Context, c client.Reader, list client.ObjectList, obj client.Object) ([]client.Object, error) {
	err := c.List(ctx, list, client.InNamespace(obj.GetNamespace()),
		client.MatchingFields{refsIndex: ref(kindOf(obj), obj.GetName())})
	if err != nil {
		return nil, err
	}
	items, err := meta.ExtractList(list)
	if err != nil {
		return nil, err
	}
	out := make([]client.Object, 0, len(items))
	for _, it := range items {
		out = append(out, it.(client.Object))
	}
	return out, nil
}

func requestFor(ns, name string) reconcile.Request {
	return reconcile.Request{NamespacedName: types.NamespacedName{Namespace: ns, Name: name}}
}

// specChanged passes creations, deletions and updates that can change what an object
// says: a new generation for switchboard kinds, any new version of a Secret. Secrets are
// watched as metadata only (the operator never holds their values), so a changed key
// cannot be told from a rotated value without reading the Secret; the mapping then
// reaches only the objects that reference it. Status writes and resyncs pass nothing.
var specChanged = predicate.Funcs{
	UpdateFunc: func(e event.UpdateEvent) bool {
		if kindOf(e.ObjectNew) == "Secret" {
			return e.ObjectOld.GetResourceVersion() != e.ObjectNew.GetResourceVersion()
		}
		return e.ObjectOld.GetGeneration() != e.ObjectNew.GetGeneration()
	},
}
