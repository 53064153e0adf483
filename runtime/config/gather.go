package config

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
)

// Gather sorts loose objects into one Input per LiveChat, by namespace; objects with
// no namespace belong to defaultNamespace. Secret keys are known only for namespaces
// in which at least one Secret was given, so an offline render of manifests kept
// without their Secrets does not report every Secret as missing.
func Gather(objects []runtime.Object, defaultNamespace string) []Input {
	type nsObjects struct {
		Input
		liveChats []*chatv1alpha1.LiveChat
	}
	byNS := map[string]*nsObjects{}
	get := func(ns string) *nsObjects {
		if ns == "" {
			ns = defaultNamespace
		}
		if byNS[ns] == nil {
			byNS[ns] = &nsObjects{}
		}
		return byNS[ns]
	}
	for _, obj := range objects {
		switch o := obj.(type) {
		case *chatv1alpha1.LiveChat:
			c := o.DeepCopy()
			if c.Namespace == "" {
				c.Namespace = defaultNamespace
			}
			get(o.Namespace).liveChats = append(get(o.Namespace).liveChats, c)
		case *chatv1alpha1.ChatQueue:
			n := get(o.Namespace)
			n.Queues = append(n.Queues, *o)
		case *chatv1alpha1.Channel:
			n := get(o.Namespace)
			n.Channels = append(n.Channels, *o)
		case *chatv1alpha1.OperatorGroup:
			n := get(o.Namespace)
			n.Groups = append(n.Groups, *o)
		case *chatv1alpha1.NotificationPolicy:
			n := get(o.Namespace)
			n.Policies = append(n.Policies, *o)
		case *corev1.Secret:
			n := get(o.Namespace)
			if n.Secrets == nil {
				n.Secrets = map[string][]string{}
			}
			keys := []string{}
			for k := range o.Data {
				keys = append(keys, k)
			}
			for k := range o.StringData {
				keys = append(keys, k)
			}
			n.Secrets[o.Name] = keys
		}
	}
	var out []Input
	for _, n := range byNS {
		for _, lc := range n.liveChats {
			in := n.Input
			in.LiveChat = lc
			out = append(out, in)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i].LiveChat, out[j].LiveChat
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return out
}
