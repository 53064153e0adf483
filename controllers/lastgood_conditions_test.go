package controllers

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	chatv1alpha1 "github.com/switchboard-chat/switchboard/api/v1alpha1"
	"github.com/switchboard-chat/switchboard/runtime/config"
)

var missingQueue = config.Problem{Kind: "Channel", Name: "website", Field: "spec.queueRef.name",
	Reason: chatv1alpha1.ReasonQueueNotFound, Message: `ChatQueue "second-line" does not exist`}

func TestServingLastGoodConditions(t *testing.T) {
	held := &config.HeldBack{Kind: "Channel", Name: "website", ServedGeneration: 5, Generation: 7,
		Problems: config.Problems{missingQueue}}
	tests := []struct {
		name     string
		problems config.Problems // the object's own check
		wants    map[string]*want
	}{
		{"the object's own problems", config.Problems{missingQueue}, map[string]*want{
			"Ready":   {metav1.ConditionFalse, "ServingLastGood", "generation 7 does not compile, so the runtime keeps serving generation 5, the last that did; fix this (or revert the change) to apply it: spec.queueRef.name: ChatQueue \"second-line\" does not exist"},
			"Stalled": {metav1.ConditionTrue, "ServingLastGood", "keeps serving generation 5"},
		}},
		{"problems only the compile found", nil, map[string]*want{
			"Ready": {metav1.ConditionFalse, "ServingLastGood", `ChatQueue "second-line" does not exist`},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkConditions(t, servingLastGoodConditions(7, held, tt.problems), tt.wants)
		})
	}
}

func TestLiveChatConditionsNameWhatIsHeldBack(t *testing.T) {
	tests := []struct {
		name  string
		held  []chatv1alpha1.HeldBackObject
		wants map[string]*want
	}{
		{"a channel held back", []chatv1alpha1.HeldBackObject{{Kind: "Channel", Name: "website", ServedGeneration: 5, Generation: 7}},
			map[string]*want{
				"Stalled": {metav1.ConditionTrue, "CompileFailed", "the runtime serves every part that compiled and, in place of their current one, the last good generation of Channel website (generation 5); fix these"},
				"Ready":   {metav1.ConditionFalse, "CompileFailed", "Channel website (generation 5)"},
			}},
		{"the LiveChat itself held back", []chatv1alpha1.HeldBackObject{{Kind: "LiveChat", Name: "support", ServedGeneration: 2, Generation: 7}},
			map[string]*want{
				"Ready": {metav1.ConditionFalse, "ServingLastGood", "LiveChat support (generation 2)"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkConditions(t, liveChatConditions(7, "abc", config.Problems{missingQueue}, tt.held, rolloutOf(nil, 1)), tt.wants)
		})
	}
}
