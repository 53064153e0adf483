package controllers

import (
	"context"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// LiveChatReconciler compiles a LiveChat and everything that references it into the
// runtime configuration, and renders the runtime workload with server-side apply.
type LiveChatReconciler struct {
	client.Client
	// Secrets reads referenced Secrets from the API: the operator does not cache them.
	Secrets  client.Reader
	Recorder events.EventRecorder
	Options  RuntimeOptions
	metrics  *operatorMetrics
}

func (r *LiveChatReconciler) Reconcile(ctx context.Context, req ctrl.Request) (_ ctrl.Result, reterr error) {
	lc := &chatv1alpha1.LiveChat{}
	if err := r.Get(ctx, req.NamespacedName, lc); err != nil {
		if apierrors.IsNotFound(err) {
			r.metrics.forget(req.Namespace, req.Name)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	before := lc.DeepCopy()
	fields := statusFields{&lc.Status.ObservedGeneration, &lc.Status.Conditions}
	defer func() {
		reterr = writeStatus(ctx, r.Client, before, lc, fields, reterr)
		// Only a status that was written is news: a reconcile that read a stale cache
		// fails its optimistic-lock write and must not repeat the last one's events.
		if reterr == nil {
			r.recordEvents(before, lc)
		}
	}()

	if lc.Spec.Suspend {
		applyConditions(&lc.Status.Conditions, []string{chatv1alpha1.ConditionReady, chatv1alpha1.ConditionReconciling,
			chatv1alpha1.ConditionStalled}, suspendedConditions(lc.Generation))
		return ctrl.Result{}, nil
	}

	last, err := r.lastGood(ctx, lc)
	if err != nil {
		return ctrl.Result{}, err
	}
	in, err := r.gather(ctx, lc, last)
	if err != nil {
		return ctrl.Result{}, err
	}
	start := time.Now()
	compiled := config.CompileKeepingLastGood(in, nil, last)
	cfg, problems := compiled.Config, compiled.Problems
	r.metrics.compiled(lc, len(problems), time.Since(start))

	err = r.apply(ctx, servedLiveChat(lc, compiled.LiveChat), cfg)
	if err == nil {
		err = r.applyLastGood(ctx, lc, compiled.LastGood)
	}
	if err != nil {
		applyConditions(&lc.Status.Conditions, []string{chatv1alpha1.ConditionReady, chatv1alpha1.ConditionReconciling,
			chatv1alpha1.ConditionStalled}, applyFailedConditions(lc.Generation, err))
		return ctrl.Result{}, err
	}
	lc.Status.HeldBack = heldBackStatus(compiled.LastGood)

	deploy := &appsv1.Deployment{}
	if err := r.Get(ctx, types.NamespacedName{Namespace: lc.Namespace, Name: RuntimeName(lc.Name)}, deploy); err != nil {
		if !apierrors.IsNotFound(err) {
			return ctrl.Result{}, err
		}
		deploy = nil
	}
	r.setStatus(lc, cfg, problems, deploy)
	return ctrl.Result{}, nil
}

// gather reads the LiveChat's namespace from the cache, and from the API the Secrets
// that the LiveChat and its objects reference, in their current or last good versions,
// for their key names. The lists share the cache's objects (no deep copy): Compile only
// reads its inputs.
func (r *LiveChatReconciler) gather(ctx context.Context, lc *chatv1alpha1.LiveChat, last config.LastGood) (config.Input, error) {
	opts := []client.ListOption{client.InNamespace(lc.Namespace), client.UnsafeDisableDeepCopy}
	var (
		queues   chatv1alpha1.ChatQueueList
		channels chatv1alpha1.ChannelList
		groups   chatv1alpha1.OperatorGroupList
		policies chatv1alpha1.NotificationPolicyList
	)
	for _, l := range []client.ObjectList{&queues, &channels, &groups, &policies} {
		if err := r.List(ctx, l, opts...); err != nil {
			return config.Input{}, err
		}
	}
	in := config.Input{LiveChat: lc, Queues: queues.Items, Channels: channels.Items, Groups: groups.Items,
		Policies: policies.Items, Secrets: map[string][]string{}}
	read := map[string]bool{}
	referencing := []client.Object{lc}
	for i := range queues.Items {
		referencing = append(referencing, &queues.Items[i])
	}
	for i := range channels.Items {
		referencing = append(referencing, &channels.Items[i])
	}
	for i := range policies.Items {
		referencing = append(referencing, &policies.Items[i])
	}
	for _, g := range last.Objects {
		if obj, err := g.Object(lc.Namespace); err == nil && g.Kind != "OperatorGroup" {
			referencing = append(referencing, obj.(client.Object))
		}
	}
	for _, o := range referencing {
		if liveChatOf(o) != lc.Name {
			continue
		}
		for _, rf := range refsOf(o) {
			name, isSecret := strings.CutPrefix(rf, ref("Secret", ""))
			if !isSecret || read[name] {
				continue
			}
			read[name] = true
			keys, err := secretKeys(ctx, r.Secrets, lc.Namespace, name)
			if err != nil {
				return config.Input{}, err
			}
			if keys != nil {
				in.Secrets[name] = keys
			}
		}
	}
	return in, nil
}

// secretKeys reads a Secret and returns its key names; nil when it does not exist.
func secretKeys(ctx context.Context, c client.Reader, ns, name string) ([]string, error) {
	var s corev1.Secret
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, &s); err != nil {
		return nil, client.IgnoreNotFound(err)
	}
	keys := make([]string, 0, len(s.Data))
	for k := range s.Data {
		keys = append(keys, k)
	}
	return keys, nil
}

// apply renders the runtime objects with server-side apply under one field manager.
// Applying what is already there changes nothing on the server.
func (r *LiveChatReconciler) apply(ctx context.Context, lc *chatv1alpha1.LiveChat, cfg *config.Config) error {
	for _, obj := range RuntimeObjects(lc, cfg, r.Options) {
		if err := r.Client.Apply(ctx, obj, client.FieldOwner(FieldOwner), client.ForceOwnership); err != nil {
			return fmt.Errorf("applying %s: %w", describe(obj), err)
		}
	}
	if replicas(lc) <= 1 {
		pdb := &policyv1.PodDisruptionBudget{}
		err := r.Get(ctx, types.NamespacedName{Namespace: lc.Namespace, Name: RuntimeName(lc.Name)}, pdb)
		if err == nil && metav1.IsControlledBy(pdb, lc) {
			if err := r.Delete(ctx, pdb); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("deleting PodDisruptionBudget %s: %w", pdb.Name, err)
			}
		} else if client.IgnoreNotFound(err) != nil {
			return err
		}
	}
	return nil
}

func (r *LiveChatReconciler) setStatus(lc *chatv1alpha1.LiveChat, cfg *config.Config, problems config.Problems, deploy *appsv1.Deployment) {
	st := &lc.Status
	st.ConfigRevision = cfg.Revision()
	st.Queues, st.Channels, st.Policies = int32(len(cfg.Queues)), int32(len(cfg.Channels)), int32(len(cfg.Policies))
	operators := map[string]bool{}
	for _, q := range cfg.Queues {
		for _, o := range q.Operators {
			operators[o] = true
		}
	}
	for _, s := range cfg.LiveChat.Supervisors {
		operators[s] = true
	}
	st.Operators = int32(len(operators))
	st.Endpoint = fmt.Sprintf("http://%s.%s.svc:%d", RuntimeName(lc.Name), lc.Namespace, RuntimeHTTPPort)
	ro := rolloutOf(deploy, replicas(lc))
	st.ReadyReplicas = ro.ready
	applyConditions(&st.Conditions, liveChatOwned, liveChatConditions(lc.Generation, st.ConfigRevision, problems, st.HeldBack, ro))
}

// recordEvents tells users what changed, and only that: a new configuration, new
// problems, problems fixed, the runtime becoming ready.
func (r *LiveChatReconciler) recordEvents(before, after *chatv1alpha1.LiveChat) {
	if r.Recorder == nil {
		return
	}
	if after.Status.ConfigRevision != "" && after.Status.ConfigRevision != before.Status.ConfigRevision {
		r.metrics.revisionsRendered.Inc()
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, "ConfigRendered", "Render",
			"rendered runtime configuration %s", after.Status.ConfigRevision)
	}
	oldStalled := meta.FindStatusCondition(before.Status.Conditions, chatv1alpha1.ConditionStalled)
	newStalled := meta.FindStatusCondition(after.Status.Conditions, chatv1alpha1.ConditionStalled)
	switch {
	case newStalled != nil && (oldStalled == nil || oldStalled.Message != newStalled.Message):
		r.Recorder.Eventf(after, nil, corev1.EventTypeWarning, newStalled.Reason, "Compile", "%s", newStalled.Message)
	case newStalled == nil && oldStalled != nil:
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, "ProblemsResolved", "Compile", "every problem is fixed")
	}
	if meta.IsStatusConditionTrue(after.Status.Conditions, chatv1alpha1.ConditionReady) &&
		!meta.IsStatusConditionTrue(before.Status.Conditions, chatv1alpha1.ConditionReady) {
		r.Recorder.Eventf(after, nil, corev1.EventTypeNormal, "Ready", "Reconcile", "%s",
			meta.FindStatusCondition(after.Status.Conditions, chatv1alpha1.ConditionReady).Message)
	}
}

// mapLiveChats maps a changed object to the LiveChats whose configuration it can
// change: its own LiveChat, and the LiveChats of every object that references it.
func (r *LiveChatReconciler) mapLiveChats(ctx context.Context, obj client.Object) []reconcile.Request {
	names := map[string]bool{}
	if lc := liveChatOf(obj); lc != "" {
		names[lc] = true
	}
	for _, list := range []client.ObjectList{&chatv1alpha1.ChatQueueList{}, &chatv1alpha1.ChannelList{},
		&chatv1alpha1.NotificationPolicyList{}, &chatv1alpha1.LiveChatList{}} {
		objs, err := referrers(ctx, r.Client, list, obj)
		if err != nil {
			ctrl.LoggerFrom(ctx).Error(err, "listing referrers", "of", kindOf(obj), "name", obj.GetName())
			continue
		}
		for _, o := range objs {
			names[liveChatOf(o)] = true
		}
	}
	reqs := make([]reconcile.Request, 0, len(names))
	for n := range names {
		reqs = append(reqs, requestFor(obj.GetNamespace(), n))
	}
	return reqs
}

func (r *LiveChatReconciler) SetupWithManager(mgr ctrl.Manager) error {
	b := ctrl.NewControllerManagedBy(mgr).
		Named("livechat").
		For(&chatv1alpha1.LiveChat{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&corev1.ConfigMap{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		Owns(&corev1.PersistentVolumeClaim{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&policyv1.PodDisruptionBudget{})
	for _, obj := range []client.Object{&chatv1alpha1.ChatQueue{}, &chatv1alpha1.Channel{},
		&chatv1alpha1.NotificationPolicy{}, &chatv1alpha1.OperatorGroup{}, &corev1.Secret{}} {
		b = watch(b, obj, handler.EnqueueRequestsFromMapFunc(r.mapLiveChats))
	}
	return b.Complete(r)
}
