package crdref

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/switchboard-chat/switchboard/config/crd"
)

// TestReferenceIsCurrent fails when docs/crd-reference.md is not what the CRDs give:
// after an API change, `make manifests crd-reference` and commit.
func TestReferenceIsCurrent(t *testing.T) {
	bases, err := fs.Sub(crd.Bases, "bases")
	if err != nil {
		t.Fatal(err)
	}
	want, err := Generate(bases)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join("..", "..", "docs", "crd-reference.md"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Error("docs/crd-reference.md is stale: run `make crd-reference` and commit it")
	}
}

const queueCRD = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: chatqueues.chat.switchboard.dev
spec:
  group: chat.switchboard.dev
  names: {kind: ChatQueue, plural: chatqueues, shortNames: [cq]}
  scope: Namespaced
  versions:
  - name: v1alpha1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Rule, jsonPath: .spec.routing.rule, type: string}
    schema:
      openAPIV3Schema:
        description: |-
          ChatQueue is a team of operators.

          It routes chats.
        type: object
        properties:
          spec:
            type: object
            required: [liveChatRef]
            properties:
              liveChatRef:
                description: LiveChat this queue
                  belongs to.
                type: object
                properties:
                  name: {type: string, maxLength: 253}
              routing:
                type: object
                properties:
                  rule: {type: string, default: AvailableAgent, enum: [AvailableAgent, AllAgents]}
                x-kubernetes-validations:
                - {rule: "true", message: pick a rule}
              actions:
                type: array
                maxItems: 16
                x-kubernetes-list-type: map
                x-kubernetes-list-map-keys: [name]
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string, pattern: "^[a-z]+$"}
`

func TestGenerate(t *testing.T) {
	out, err := Generate(fstest.MapFS{"queue.yaml": {Data: []byte(queueCRD)}})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| [ChatQueue](#chatqueue) | `chat.switchboard.dev/v1alpha1` | `cq` | Namespaced |",
		"ChatQueue is a team of operators.\n\nIt routes chats.",
		"`kubectl get chatqueues` shows: Rule (`.spec.routing.rule`).",
		"| `spec.liveChatRef` | object |  | required | LiveChat this queue belongs to. |",
		"| `spec.liveChatRef.name` | string |  | max length 253 |  |",
		"| `spec.routing.rule` | string | `\"AvailableAgent\"` | one of `AvailableAgent`, `AllAgents` |  |",
		"| `spec.routing` | object |  | pick a rule |",
		"| `spec.actions` | []object |  | max items 16; unique by `name` |",
		"| `spec.actions[].name` | string |  | required; pattern `^[a-z]+$` |",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the reference lacks %q:\n%s", want, out)
		}
	}
}

func TestGenerateRefusesWhatIsNoCRD(t *testing.T) {
	_, err := Generate(fstest.MapFS{"bad.yaml": {Data: []byte("apiVersion: v1\nkind: CustomResourceDefinition\nspec: {grup: x}\n")}})
	if err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("err %v, want one naming bad.yaml", err)
	}
}

// TestGenerateCollapsesKubernetesTypes keeps a nested field with a huge schema (such
// as a pod's affinity) to one row that points to kubectl explain.
func TestGenerateCollapsesKubernetesTypes(t *testing.T) {
	var big strings.Builder
	for i := range largeSubtree + 1 {
		fmt.Fprintf(&big, "                      f%02d: {type: string}\n", i)
	}
	doc := strings.Replace(queueCRD, "              routing:\n", "              runtime:\n                type: object\n                properties:\n                  affinity:\n                    type: object\n                    properties:\n"+big.String()+"              routing:\n", 1)
	out, err := Generate(fstest.MapFS{"queue.yaml": {Data: []byte(doc)}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "| `spec.runtime.affinity` | object |  |  | See `kubectl explain chatqueue.spec.runtime.affinity`. |") {
		t.Errorf("affinity is not one row pointing to kubectl explain:\n%s", out)
	}
	if strings.Contains(string(out), "spec.runtime.affinity.f00") {
		t.Error("the fields below affinity are written out")
	}
}
