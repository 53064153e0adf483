package controllers

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// cacheLookup implements config.Lookup over the manager's cache for one namespace, and
// over the API for Secrets, which the operator does not cache. Lookups are memoised for the length of one reconcile. The first error other than
// NotFound is kept in err, so the reconcile can retry instead of reporting an object
// as missing because the cache hiccupped.
type cacheLookup struct {
	ctx        context.Context
	c          client.Reader
	secretsAPI client.Reader
	ns         string
	err        error

	liveChats map[string]*chatv1alpha1.LiveChat
	queues    map[string]*chatv1alpha1.ChatQueue
	channels  map[string]*chatv1alpha1.Channel
	groups    map[string]*chatv1alpha1.OperatorGroup
	secrets   map[string]map[string]bool
}

var _ config.Lookup = (*cacheLookup)(nil)

func newCacheLookup(ctx context.Context, c, secrets client.Reader, ns string) *cacheLookup {
	return &cacheLookup{ctx: ctx, c: c, secretsAPI: secrets, ns: ns,
		liveChats: map[string]*chatv1alpha1.LiveChat{}, queues: map[string]*chatv1alpha1.ChatQueue{},
		channels: map[string]*chatv1alpha1.Channel{}, groups: map[string]*chatv1alpha1.OperatorGroup{},
		secrets: map[string]map[string]bool{}}
}

// get fetches name into a fresh T, memoised in memo; nil when it does not exist.
func get[T client.Object](l *cacheLookup, memo map[string]T, name string, newObj func() T) T {
	if obj, ok := memo[name]; ok {
		return obj
	}
	obj := newObj()
	var zero T
	if err := l.c.Get(l.ctx, types.NamespacedName{Namespace: l.ns, Name: name}, obj); err != nil {
		if !apierrors.IsNotFound(err) && l.err == nil {
			l.err = err
		}
		obj = zero
	}
	memo[name] = obj
	return obj
}

func (l *cacheLookup) LiveChat(name string) *chatv1alpha1.LiveChat {
	return get(l, l.liveChats, name, func() *chatv1alpha1.LiveChat { return &chatv1alpha1.LiveChat{} })
}

func (l *cacheLookup) Queue(name string) *chatv1alpha1.ChatQueue {
	return get(l, l.queues, name, func() *chatv1alpha1.ChatQueue { return &chatv1alpha1.ChatQueue{} })
}

func (l *cacheLookup) Channel(name string) *chatv1alpha1.Channel {
	return get(l, l.channels, name, func() *chatv1alpha1.Channel { return &chatv1alpha1.Channel{} })
}

func (l *cacheLookup) Group(name string) *chatv1alpha1.OperatorGroup {
	return get(l, l.groups, name, func() *chatv1alpha1.OperatorGroup { return &chatv1alpha1.OperatorGroup{} })
}

func (l *cacheLookup) SecretKeys(name string) (map[string]bool, bool, bool) {
	if keys, ok := l.secrets[name]; ok {
		return keys, keys != nil, true
	}
	var s corev1.Secret
	var keys map[string]bool
	if err := l.secretsAPI.Get(l.ctx, types.NamespacedName{Namespace: l.ns, Name: name}, &s); err != nil {
		if !apierrors.IsNotFound(err) && l.err == nil {
			l.err = err
		}
	} else {
		keys = make(map[string]bool, len(s.Data))
		for k := range s.Data {
			keys[k] = true
		}
	}
	l.secrets[name] = keys
	return keys, keys != nil, true
}
