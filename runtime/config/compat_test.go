package config_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/switchboard-chat/switchboard/runtime/config"
	"github.com/switchboard-chat/switchboard/runtime/manifests"
)

// testdata/compat/<version>/ holds, for each schema version a runtime has read,
// manifests and the config.json an operator of that version compiled from them. They
// are written once, when the version is introduced, and never regenerated: they are
// what the operator–runtime contract promised.
const compatDir = "testdata/compat"

const versionPrefix = "runtime.switchboard.dev/"

// compileFile compiles the one LiveChat of a manifest file; problems are fatal.
func compileFile(t *testing.T, path string) *config.Config {
	t.Helper()
	set, err := manifests.ReadPaths(path)
	if err != nil {
		t.Fatal(err)
	}
	objs := make([]runtime.Object, len(set.Objects))
	for i, o := range set.Objects {
		objs[i] = o.Object
	}
	inputs := config.Gather(objs, "default")
	if len(inputs) != 1 {
		t.Fatalf("%s holds %d LiveChats, want 1", path, len(inputs))
	}
	cfg, problems := config.Compile(inputs[0])
	if len(problems) > 0 {
		t.Fatalf("%s must compile cleanly, got:\n%s", path, problems.Summary(20))
	}
	return cfg
}

// compatVersions lists the directories of testdata/compat; the current version must
// be among them, so the check below always has the current wire format to hold.
func compatVersions(t *testing.T) []string {
	t.Helper()
	entries, err := os.ReadDir(compatDir)
	if err != nil {
		t.Fatal(err)
	}
	var versions []string
	for _, e := range entries {
		versions = append(versions, e.Name())
	}
	if current := strings.TrimPrefix(config.SchemaVersion, versionPrefix); !sortedContains(versions, current) {
		t.Fatalf("%s/%s is missing: each schema version keeps a golden configuration", compatDir, current)
	}
	return versions
}

func sortedContains(list []string, s string) bool {
	i := sort.SearchStrings(list, s)
	return i < len(list) && list[i] == s
}

// Every configuration an operator of a known version wrote must still load, and mean
// what the current operator compiles from the same manifests. For the current version
// the bytes themselves must not change: renaming, dropping or retyping a field, here or
// in a CRD type that feeds it, fails here until SchemaVersion is bumped.
func TestGoldenConfigsOfEveryVersionStillLoad(t *testing.T) {
	for _, v := range compatVersions(t) {
		t.Run(v, func(t *testing.T) {
			dir := filepath.Join(compatDir, v)
			golden, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(golden, []byte(`"schemaVersion": "`+versionPrefix+v+`"`)) {
				t.Fatalf("%s/config.json does not have schemaVersion %s%s", dir, versionPrefix, v)
			}
			parsed, err := config.Parse(golden)
			if err != nil {
				t.Fatalf("a configuration of %s%s no longer loads: %v", versionPrefix, v, err)
			}
			compiled := compileFile(t, filepath.Join(dir, "manifests.yaml")).Marshal()
			if got := parsed.Marshal(); !bytes.Equal(got, compiled) {
				t.Errorf("%s/config.json loads as something else than its manifests compile to; a field was renamed, dropped or retyped:\n%s",
					dir, firstDiff(string(compiled), string(got)))
			}
			if versionPrefix+v == config.SchemaVersion && !bytes.Equal(compiled, golden) {
				t.Errorf("the wire format of %s changed: %s/manifests.yaml no longer compiles to config.json. Only additive, optional "+
					"fields may join a version; otherwise bump SchemaVersion, keep reading this one and add a new directory. If only a "+
					"CRD changed, adjust manifests.yaml, never config.json.\n%s", config.SchemaVersion, dir, firstDiff(string(golden), string(compiled)))
			}
		})
	}
}

// The golden configuration of the current version pins only the field names it
// exercises: an omitted field could be renamed unseen. So every field of every type
// of the schema must be set (non-zero) somewhere in it.
func TestCurrentGoldenSetsEveryField(t *testing.T) {
	dir := filepath.Join(compatDir, strings.TrimPrefix(config.SchemaVersion, versionPrefix))
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{}
	fields := map[string]bool{}
	walkFields(reflect.ValueOf(*cfg), set, fields)
	var unset []string
	for f := range fields {
		if !set[f] {
			unset = append(unset, f)
		}
	}
	sort.Strings(unset)
	if len(unset) > 0 {
		t.Errorf("%s/config.json never sets %s: extend its manifests.yaml and add the field to config.json", dir, strings.Join(unset, ", "))
	}
}

// walkFields records every struct field reachable from v in fields, as Type.Field,
// and in set those it met with a non-zero value.
func walkFields(v reflect.Value, set, fields map[string]bool) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			walkFields(v.Elem(), set, fields)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkFields(v.Index(i), set, fields)
		}
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[config.Duration]() {
			return
		}
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if f.Anonymous {
				walkFields(v.Field(i), set, fields)
				continue
			}
			name := fmt.Sprintf("%s.%s", t.Name(), f.Name)
			fields[name] = true
			if !v.Field(i).IsZero() && (v.Field(i).Kind() != reflect.Slice || v.Field(i).Len() > 0) {
				set[name] = true
			}
			walkFields(v.Field(i), set, fields)
		}
	}
}

// A runtime must not guess at a layout it does not know; the error names both
// versions, so whoever reads it knows which side to upgrade.
func TestParseRefusesUnknownSchemaVersions(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join(compatDir, strings.TrimPrefix(config.SchemaVersion, versionPrefix), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	withVersion := func(v string) []byte {
		return bytes.Replace(golden, []byte(`"`+config.SchemaVersion+`"`), []byte(`"`+v+`"`), 1)
	}
	for _, tc := range []struct {
		name, found string
		data        []byte
	}{
		{"newer", `"runtime.switchboard.dev/v2"`, withVersion("runtime.switchboard.dev/v2")},
		{"older", `"runtime.switchboard.dev/v0"`, withVersion("runtime.switchboard.dev/v0")},
		{"another group", `"chat.switchboard.dev/v1alpha1"`, withVersion("chat.switchboard.dev/v1alpha1")},
		{"missing", `no schemaVersion`, []byte(`{"liveChat": {}}`)},
		// A newer layout may give a field another type; the version is still what is
		// reported, not the type mismatch.
		{"newer with changed types", `"runtime.switchboard.dev/v2"`,
			[]byte(`{"schemaVersion": "runtime.switchboard.dev/v2", "liveChat": {"acceptTimeout": 300}}`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(tc.data)
			if err == nil {
				t.Fatal("Parse accepted it")
			}
			for _, want := range []string{tc.found, `"` + config.SchemaVersion + `"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}
		})
	}
}

func TestParseRefusesBrokenJSON(t *testing.T) {
	for _, data := range []string{"{", "[]", `{"schemaVersion": 1}`} {
		if _, err := config.Parse([]byte(data)); err == nil {
			t.Errorf("Parse(%s) succeeded", data)
		}
	}
}
