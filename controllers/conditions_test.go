package controllers

import (
	"errors"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

// want is a condition reduced to what the tests compare.
type want struct {
	status  metav1.ConditionStatus
	reason  string
	message string // substring
}

func checkConditions(t *testing.T, got []metav1.Condition, wants map[string]*want) {
	t.Helper()
	byType := map[string]metav1.Condition{}
	for _, c := range got {
		byType[c.Type] = c
		if c.ObservedGeneration != 7 {
			t.Errorf("%s observedGeneration = %d, want 7", c.Type, c.ObservedGeneration)
		}
	}
	for typ, w := range wants {
		c, ok := byType[typ]
		switch {
		case w == nil && ok:
			t.Errorf("%s is set (%s: %s), want it absent", typ, c.Reason, c.Message)
		case w == nil:
		case !ok:
			t.Errorf("%s is absent, want %s %s", typ, w.status, w.reason)
		case c.Status != w.status || c.Reason != w.reason || !contains(c.Message, w.message):
			t.Errorf("%s = %s %s %q, want %s %s containing %q", typ, c.Status, c.Reason, c.Message, w.status, w.reason, w.message)
		}
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

var (
	missingSecret = config.Problem{Kind: "Channel", Name: "telegram", Field: "spec.telegram.botTokenSecretRef",
		Reason: chatv1alpha1.ReasonSecretNotFound, Message: `Secret "bot" does not exist`}
	noOperators = config.Problem{Kind: "ChatQueue", Name: "q", Field: "spec.operatorGroups",
		Reason: chatv1alpha1.ReasonNoOperators, Message: "the queue has no operators"}
)

func TestDependentConditions(t *testing.T) {
	tests := []struct {
		name     string
		problems config.Problems
		wants    map[string]*want
	}{
		{"no problems", nil, map[string]*want{
			"ResolvedRefs": {metav1.ConditionTrue, "RefsResolved", "every referenced object exists"},
			"Ready":        {metav1.ConditionTrue, "Reconciled", "all good"},
			"Stalled":      nil,
		}},
		{"a missing Secret", config.Problems{missingSecret}, map[string]*want{
			"ResolvedRefs": {metav1.ConditionFalse, "SecretNotFound", `spec.telegram.botTokenSecretRef: Secret "bot" does not exist`},
			"Ready":        {metav1.ConditionFalse, "SecretNotFound", `Secret "bot" does not exist`},
			"Stalled":      {metav1.ConditionTrue, "SecretNotFound", `Secret "bot" does not exist`},
		}},
		{"a problem that is no reference", config.Problems{noOperators}, map[string]*want{
			"ResolvedRefs": {metav1.ConditionTrue, "RefsResolved", ""},
			"Ready":        {metav1.ConditionFalse, "NoOperators", "the queue has no operators"},
			"Stalled":      {metav1.ConditionTrue, "NoOperators", ""},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkConditions(t, dependentConditions(7, tt.problems, "all good"), tt.wants)
		})
	}
}

func deployment(generation, observed int64, replicas, updated, available, total int32, availableCond bool) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: generation},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{ObservedGeneration: observed, UpdatedReplicas: updated, ReadyReplicas: available,
			AvailableReplicas: available, Replicas: total}}
	if availableCond {
		d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue}}
	}
	return d
}

func TestLiveChatConditions(t *testing.T) {
	tests := []struct {
		name     string
		problems config.Problems
		deploy   *appsv1.Deployment
		desired  int32
		wants    map[string]*want
	}{
		{"rolled out", nil, deployment(2, 2, 1, 1, 1, 1, true), 1, map[string]*want{
			"Ready":       {metav1.ConditionTrue, "Reconciled", "configuration abc rendered; 1 runtime replicas ready"},
			"Available":   {metav1.ConditionTrue, "DeploymentAvailable", ""},
			"Reconciling": nil, "Stalled": nil,
		}},
		{"Deployment not created yet", nil, nil, 1, map[string]*want{
			"Ready":       {metav1.ConditionFalse, "RollingOut", "0 of 1 runtime replicas updated"},
			"Reconciling": {metav1.ConditionTrue, "RollingOut", ""},
			"Available":   {metav1.ConditionFalse, "DeploymentNotReady", ""},
		}},
		{"new spec not yet observed", nil, deployment(3, 2, 1, 1, 1, 1, true), 1, map[string]*want{
			"Reconciling": {metav1.ConditionTrue, "RollingOut", ""},
			"Available":   {metav1.ConditionTrue, "DeploymentAvailable", ""},
		}},
		{"old pods still running", nil, deployment(2, 2, 3, 3, 3, 4, true), 3, map[string]*want{
			"Reconciling": {metav1.ConditionTrue, "RollingOut", "3 of 3 runtime replicas updated, 3 available"},
		}},
		{"scaled to zero", nil, deployment(2, 2, 0, 0, 0, 0, false), 0, map[string]*want{
			"Ready":     {metav1.ConditionTrue, "Reconciled", ""},
			"Available": {metav1.ConditionFalse, "ScaledToZero", "spec.runtime.replicas is 0"},
		}},
		{"problems win over a rollout", config.Problems{missingSecret}, nil, 1, map[string]*want{
			"Stalled":     {metav1.ConditionTrue, "CompileFailed", `Channel telegram: spec.telegram.botTokenSecretRef: Secret "bot" does not exist`},
			"Ready":       {metav1.ConditionFalse, "CompileFailed", "the runtime serves every part that compiled"},
			"Reconciling": nil,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkConditions(t, liveChatConditions(7, "abc", tt.problems, nil, rolloutOf(tt.deploy, tt.desired)), tt.wants)
		})
	}
}

func TestSuspendedAndApplyFailedConditions(t *testing.T) {
	checkConditions(t, suspendedConditions(7), map[string]*want{
		"Ready": {metav1.ConditionFalse, "Suspended", "set it to false to resume"},
	})
	checkConditions(t, applyFailedConditions(7, errors.New(`PersistentVolumeClaim "support-data" is invalid`)), map[string]*want{
		"Ready":       {metav1.ConditionFalse, "ApplyFailed", `retrying: PersistentVolumeClaim "support-data" is invalid`},
		"Reconciling": {metav1.ConditionTrue, "ApplyFailed", ""},
	})
}

func TestApplyConditionsKeepsOthersAndTransitionTimes(t *testing.T) {
	old := metav1.NewTime(metav1.Now().Add(-3600e9))
	conds := []metav1.Condition{
		{Type: "Connected", Status: metav1.ConditionTrue, Reason: "WebhookRegistered", LastTransitionTime: old},
		{Type: "Ready", Status: metav1.ConditionTrue, Reason: "Reconciled", LastTransitionTime: old, ObservedGeneration: 7},
		{Type: "Stalled", Status: metav1.ConditionTrue, Reason: "X", LastTransitionTime: old},
	}
	applyConditions(&conds, dependentOwned, dependentConditions(7, nil, "fine"))
	byType := map[string]metav1.Condition{}
	for _, c := range conds {
		byType[c.Type] = c
	}
	if _, ok := byType["Connected"]; !ok {
		t.Error("the runtime's Connected condition was removed")
	}
	if _, ok := byType["Stalled"]; ok {
		t.Error("Stalled was not removed")
	}
	if lt := byType["Ready"].LastTransitionTime; !lt.Equal(&old) {
		t.Error("an unchanged Ready got a new lastTransitionTime")
	}
}
