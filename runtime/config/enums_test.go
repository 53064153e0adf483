package config_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

func values[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, v := range in {
		out[i] = string(v)
	}
	return out
}

// crdEnum returns the enum of the property at path ("spec.rules[].events[]") in the
// generated CRD of a kind.
func crdEnum(t *testing.T, plural, path string) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "config", "crd", "bases", "chat.switchboard.dev_"+plural+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var crd struct {
		Spec struct {
			Versions []struct {
				Schema struct {
					OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
				} `json:"schema"`
			} `json:"versions"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(data, &crd); err != nil {
		t.Fatal(err)
	}
	if len(crd.Spec.Versions) != 1 {
		t.Fatalf("%s serves %d versions; say here which one Compile reads", plural, len(crd.Spec.Versions))
	}
	node := crd.Spec.Versions[0].Schema.OpenAPIV3Schema
	for _, seg := range strings.Split(path, ".") {
		name, isList := strings.CutSuffix(seg, "[]")
		props, _ := node["properties"].(map[string]any)
		node, _ = props[name].(map[string]any)
		if isList && node != nil {
			node, _ = node["items"].(map[string]any)
		}
		if node == nil {
			t.Fatalf("%s has no property %s", plural, path)
		}
	}
	enum, _ := node["enum"].([]any)
	out := make([]string, len(enum))
	for i, v := range enum {
		out[i], _ = v.(string)
	}
	return out
}

// Compile copies enum values from the CRDs unchanged. A value a CRD gains must be
// added to the configuration's own list (and so to its JSON Schema) on purpose, as an
// additive change of the schema version; a value it loses must be dropped the same way.
func TestEnumsMatchTheCRDs(t *testing.T) {
	for _, tc := range []struct {
		name, plural, path string
		values             []string
	}{
		{"ChannelTypes", "channels", "spec.type", values(config.ChannelTypes)},
		{"RoutingRules", "chatqueues", "spec.routing.rule", values(config.RoutingRules)},
		{"EventTypes", "notificationpolicies", "spec.rules[].events[]", values(config.EventTypes)},
		{"EventTypes", "operatorgroups", "spec.members[].notifications.optOuts[].events[]", values(config.EventTypes)},
		{"DeliveryKinds", "operatorgroups", "spec.members[].notifications.optOuts[].via[]", values(config.DeliveryKinds)},
		{"RecipientKinds", "notificationpolicies", "spec.rules[].recipients.kinds[]", values(config.RecipientKinds)},
		{"RecipientKinds", "notificationpolicies", "spec.onError.recipients.kinds[]", values(config.RecipientKinds)},
		{"RecipientStrategies", "notificationpolicies", "spec.rules[].recipients.strategy", values(config.RecipientStrategies)},
		{"BackoffKinds", "notificationpolicies", "spec.retry.backoff", values(config.BackoffKinds)},
		{"SMTPTLSModes", "notificationpolicies", "spec.providers[].smtp.tls", values(config.SMTPTLSModes)},
		{"WebhookFormats", "notificationpolicies", "spec.providers[].webhook.format", values(config.WebhookFormats)},
		{"OpenChatsPolicies", "livechats", "spec.operatorPresence.openChatsWhenOffline", values(config.OpenChatsPolicies)},
	} {
		t.Run(tc.plural+"/"+tc.path, func(t *testing.T) {
			crd := crdEnum(t, tc.plural, tc.path)
			for _, v := range crd {
				if !slices.Contains(tc.values, v) {
					t.Errorf("the CRD allows %q, which config.%s lacks: add it and run make generate", v, tc.name)
				}
			}
			for _, v := range tc.values {
				if !slices.Contains(crd, v) {
					t.Errorf("config.%s holds %q, which the CRD no longer allows", tc.name, v)
				}
			}
		})
	}
}
