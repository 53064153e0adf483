package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// The generated JSON Schema must accept what Compile writes and refuse what no
// runtime of this version could read; otherwise it documents another contract.
func TestJSONSchemaDescribesCompiledConfigs(t *testing.T) {
	schema, err := jsonschema.NewCompiler().Compile("config.schema.json")
	if err != nil {
		t.Fatal(err)
	}
	current := filepath.Join(compatDir, strings.TrimPrefix(config.SchemaVersion, versionPrefix), "config.json")
	for _, tc := range []struct {
		name  string
		file  string
		edit  func(cfg map[string]any)
		valid bool
	}{
		{name: "golden of the current version", file: current, valid: true},
		{name: "compiled samples", file: "testdata/support.golden.json", valid: true},
		{name: "unknown field", file: current, edit: func(c map[string]any) { obj(c, "liveChat")["colour"] = "red" }},
		{name: "unknown enum value", file: current, edit: func(c map[string]any) { item(c, "channels", 0)["type"] = "CarrierPigeon" }},
		{name: "duration in words", file: current, edit: func(c map[string]any) { obj(c, "liveChat")["acceptTimeout"] = "5 minutes" }},
		{name: "duration as a number", file: current, edit: func(c map[string]any) { obj(c, "liveChat")["acceptTimeout"] = 300 }},
		{name: "missing list", file: current, edit: func(c map[string]any) { delete(c, "queues") }},
		{name: "null list", file: current, edit: func(c map[string]any) { c["people"] = nil }},
		{name: "missing default", file: current, edit: func(c map[string]any) { delete(obj(item(c, "channels", 0), "facebookMessenger"), "apiBaseURL") }},
		{name: "other schema version", file: current, edit: func(c map[string]any) { c["schemaVersion"] = "runtime.switchboard.dev/v2" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			if tc.edit != nil {
				tc.edit(doc.(map[string]any))
			}
			err = schema.Validate(doc)
			if tc.valid && err != nil {
				t.Errorf("config.schema.json refuses it: %v", err)
			}
			if !tc.valid && err == nil {
				t.Error("config.schema.json accepts it")
			}
		})
	}
}

func obj(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func item(m map[string]any, key string, i int) map[string]any {
	return m[key].([]any)[i].(map[string]any)
}
