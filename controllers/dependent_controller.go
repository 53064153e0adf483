package controllers

import (
	"context"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// dependentKind describes one of the kinds that reference others (ChatQueue, Channel,
// OperatorGroup, NotificationPolicy): they all reconcile the same way, differing only
// in what they check and what their status counts.
type dependentKind[T client.Object] struct {
	name   string
	newObj func() T
	// newList makes the list type for mapping referenced objects back to this kind.
	newList func() client.ObjectList
	status  func(T) statusFields
	// check finds the object's problems; ready is the Ready message when there are none.
	check func(T, config.Lookup) (problems config.Problems, ready string)
	// watches are the kinds whose objects this kind references.
	watches []client.Object
	// usage, when set, computes a condition from the objects that reference this one;
	// usedBy are their kinds, watched so the condition follows them.
	usage  func(ctx context.Context, c client.Reader, obj T) (metav1.Condition, error)
	usedBy []client.Object
}

// dependentReconciler reports whether an object's references resolve.
type dependentReconciler[T client.Object] struct {
	client.Client
	// secrets reads the Secrets an object references, from the API: they are not cached.
	secrets client.Reader
	kind    dependentKind[T]
}

func (r *dependentReconciler[T]) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	obj := r.kind.newObj()
	if err := r.Get(ctx, req.NamespacedName, obj); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := obj.DeepCopyObject().(client.Object)
	fields := r.kind.status(obj)
	defer func() { reterr = writeStatus(ctx, r.Client, before, obj, fields, reterr) }()

	lk := newCacheLookup(ctx, r.Client, r.secrets, req.Namespace)
	problems, ready := r.kind.check(obj, lk)
	if lk.err != nil {
		return ctrl.Result{}, lk.err
	}
	applyConditions(fields.conditions, dependentOwned, dependentConditions(obj.GetGeneration(), problems, ready))
	held, err := heldBack(ctx, r.Client, obj)
	if err != nil {
		return ctrl.Result{}, err
	}
	if held != nil {
		applyConditions(fields.conditions, []string{chatv1alpha1.ConditionReady, chatv1alpha1.ConditionStalled},
			servingLastGoodConditions(obj.GetGeneration(), held, problems))
	}
	if r.kind.usage != nil {
		c, err := r.kind.usage(ctx, r.Client, obj)
		if err != nil {
			return ctrl.Result{}, err
		}
		applyConditions(fields.conditions, []string{c.Type}, []metav1.Condition{c})
	}
	return ctrl.Result{}, nil
}

// mapReferenced maps a changed object to the objects of this kind it references.
func (r *dependentReconciler[T]) mapReferenced(_ context.Context, obj client.Object) []reconcile.Request {
	prefix := ref(kindOf(r.kind.newObj()), "")
	var reqs []reconcile.Request
	for _, rf := range refsOf(obj) {
		if name, ok := strings.CutPrefix(rf, prefix); ok {
			reqs = append(reqs, requestFor(obj.GetNamespace(), name))
		}
	}
	return reqs
}

// mapReferrers maps a changed object to the objects of this kind that reference it.
func (r *dependentReconciler[T]) mapReferrers(ctx context.Context, obj client.Object) []reconcile.Request {
	objs, err := referrers(ctx, r.Client, r.kind.newList(), obj)
	if err != nil {
		ctrl.LoggerFrom(ctx).Error(err, "listing referrers", "kind", r.kind.name, "of", kindOf(obj), "name", obj.GetName())
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(objs))
	for _, o := range objs {
		reqs = append(reqs, requestFor(o.GetNamespace(), o.GetName()))
	}
	return reqs
}

func (r *dependentReconciler[T]) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named(r.kind.name).
		For(r.kind.newObj(), builder.WithPredicates(predicate.GenerationChangedPredicate{}))
	for _, w := range r.kind.watches {
		b = watch(b, w, handler.EnqueueRequestsFromMapFunc(r.mapReferrers))
	}
	for _, w := range r.kind.usedBy {
		b = watch(b, w, handler.EnqueueRequestsFromMapFunc(r.mapReferenced))
	}
	// Objects with a liveChatRef may be held back at their last good generation.
	if kind := kindOf(r.kind.newObj()); kind != "OperatorGroup" {
		b = watchLastGood(b, kind)
	}
	return b.Complete(r)
}

// watch adds a watch of obj's kind passing specChanged events to h; Secrets are watched
// as metadata only. EnqueueRequestsFromMapFunc maps both the old and the new object of
// an update, so an object that stops referencing another also reaches its former target.
func watch(b *builder.Builder, obj client.Object, h handler.EventHandler) *builder.Builder {
	if _, isSecret := obj.(*corev1.Secret); isSecret {
		return b.WatchesMetadata(obj, h, builder.WithPredicates(specChanged))
	}
	return b.Watches(obj, h, builder.WithPredicates(specChanged))
}

func queueKind() dependentKind[*chatv1alpha1.ChatQueue] {
	return dependentKind[*chatv1alpha1.ChatQueue]{
		name:    "chatqueue",
		newObj:  func() *chatv1alpha1.ChatQueue { return &chatv1alpha1.ChatQueue{} },
		newList: func() client.ObjectList { return &chatv1alpha1.ChatQueueList{} },
		status: func(q *chatv1alpha1.ChatQueue) statusFields {
			return statusFields{&q.Status.ObservedGeneration, &q.Status.Conditions}
		},
		check: func(q *chatv1alpha1.ChatQueue, lk config.Lookup) (config.Problems, string) {
			operators := map[string]bool{}
			for _, g := range q.Spec.OperatorGroups {
				if grp := lk.Group(string(g)); grp != nil {
					for _, m := range grp.Spec.Members {
						operators[string(m.Name)] = true
					}
				}
			}
			q.Status.Operators = int32(len(operators))
			return config.CheckQueue(q, lk), "the queue's references resolve and it has operators"
		},
		watches: []client.Object{&chatv1alpha1.LiveChat{}, &chatv1alpha1.OperatorGroup{}, &chatv1alpha1.ChatQueue{}, &corev1.Secret{}},
	}
}

func channelKind() dependentKind[*chatv1alpha1.Channel] {
	return dependentKind[*chatv1alpha1.Channel]{
		name:    "channel",
		newObj:  func() *chatv1alpha1.Channel { return &chatv1alpha1.Channel{} },
		newList: func() client.ObjectList { return &chatv1alpha1.ChannelList{} },
		status: func(c *chatv1alpha1.Channel) statusFields {
			return statusFields{&c.Status.ObservedGeneration, &c.Status.Conditions}
		},
		check: func(c *chatv1alpha1.Channel, lk config.Lookup) (config.Problems, string) {
			return config.CheckChannel(c, lk), "the channel's references resolve"
		},
		watches: []client.Object{&chatv1alpha1.LiveChat{}, &chatv1alpha1.ChatQueue{}, &chatv1alpha1.OperatorGroup{}, &corev1.Secret{}},
	}
}

func groupKind() dependentKind[*chatv1alpha1.OperatorGroup] {
	return dependentKind[*chatv1alpha1.OperatorGroup]{
		name:    "operatorgroup",
		newObj:  func() *chatv1alpha1.OperatorGroup { return &chatv1alpha1.OperatorGroup{} },
		newList: func() client.ObjectList { return &chatv1alpha1.OperatorGroupList{} },
		status: func(g *chatv1alpha1.OperatorGroup) statusFields {
			return statusFields{&g.Status.ObservedGeneration, &g.Status.Conditions}
		},
		check: func(g *chatv1alpha1.OperatorGroup, _ config.Lookup) (config.Problems, string) {
			g.Status.Members = int32(len(g.Spec.Members))
			return nil, "the group is valid"
		},
		usage:  groupUsage,
		usedBy: []client.Object{&chatv1alpha1.ChatQueue{}, &chatv1alpha1.LiveChat{}, &chatv1alpha1.Channel{}, &chatv1alpha1.NotificationPolicy{}},
	}
}

// groupUsage says what uses an OperatorGroup: a group nothing uses holds members who
// are in no queue, which is almost always a forgotten reference.
func groupUsage(ctx context.Context, c client.Reader, g *chatv1alpha1.OperatorGroup) (metav1.Condition, error) {
	var users []string
	for _, list := range []client.ObjectList{&chatv1alpha1.ChatQueueList{}, &chatv1alpha1.LiveChatList{},
		&chatv1alpha1.ChannelList{}, &chatv1alpha1.NotificationPolicyList{}} {
		objs, err := referrers(ctx, c, list, g)
		if err != nil {
			return metav1.Condition{}, err
		}
		for _, o := range objs {
			users = append(users, kindOf(o)+" "+o.GetName())
		}
	}
	if len(users) == 0 {
		members := fmt.Sprintf("its %d members are in no queue and get", len(g.Spec.Members))
		if len(g.Spec.Members) == 1 {
			members = "its member " + string(g.Spec.Members[0].Name) + " is in no queue and gets"
		}
		return condition(chatv1alpha1.ConditionInUse, false, chatv1alpha1.ReasonNotInAnyQueue, fmt.Sprintf(
			"nothing uses this group, so %s no chats: list it in a ChatQueue's "+
				"spec.operatorGroups (or a LiveChat's supervisorGroups, an Internal channel's clientGroups, "+
				"or a NotificationPolicy's recipients)", members), g.Generation), nil
	}
	slices.Sort(users)
	return condition(chatv1alpha1.ConditionInUse, true, chatv1alpha1.ReasonUsed,
		"used by "+strings.Join(users, ", "), g.Generation), nil
}

func policyKind() dependentKind[*chatv1alpha1.NotificationPolicy] {
	return dependentKind[*chatv1alpha1.NotificationPolicy]{
		name:    "notificationpolicy",
		newObj:  func() *chatv1alpha1.NotificationPolicy { return &chatv1alpha1.NotificationPolicy{} },
		newList: func() client.ObjectList { return &chatv1alpha1.NotificationPolicyList{} },
		status: func(p *chatv1alpha1.NotificationPolicy) statusFields {
			return statusFields{&p.Status.ObservedGeneration, &p.Status.Conditions}
		},
		check: func(p *chatv1alpha1.NotificationPolicy, lk config.Lookup) (config.Problems, string) {
			if p.Spec.Suspend {
				return config.CheckPolicy(p, lk), "the policy is valid; it is suspended and delivers nothing until spec.suspend is false"
			}
			return config.CheckPolicy(p, lk), "the policy's references resolve"
		},
		watches: []client.Object{&chatv1alpha1.LiveChat{}, &chatv1alpha1.ChatQueue{}, &chatv1alpha1.Channel{},
			&chatv1alpha1.OperatorGroup{}, &corev1.Secret{}},
	}
}
