// Package argohealth runs an Argo CD health check (a health.lua script of Argo CD's
// resource_customizations) on an object, the way Argo CD does: the object is the
// global `obj`, and the script returns a table with a status and a message. It uses
// the Lua interpreter Argo CD embeds, so a script that works here works there.
package argohealth

import (
	"fmt"
	"os"
	"path/filepath"

	lua "github.com/yuin/gopher-lua"
	"sigs.k8s.io/yaml"
)

// Status is a health check's verdict.
type Status struct {
	Status  string `json:"status"`
	Message string `json:"message,omitempty"`
}

// Evaluate runs script on obj.
func Evaluate(script string, obj map[string]any) (Status, error) {
	L := lua.NewState(lua.Options{SkipOpenLibs: true})
	defer L.Close()
	// The libraries Argo CD opens for health scripts.
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	L.SetGlobal("obj", toLua(L, obj))
	if err := L.DoString(script); err != nil {
		return Status{}, err
	}
	ret, ok := L.Get(-1).(*lua.LTable)
	if !ok {
		return Status{}, fmt.Errorf("the script returned %s, not a table", L.Get(-1).Type())
	}
	s := Status{Status: lua.LVAsString(ret.RawGetString("status")), Message: lua.LVAsString(ret.RawGetString("message"))}
	switch s.Status {
	case "Healthy", "Progressing", "Degraded", "Suspended", "Missing", "Unknown":
		return s, nil
	}
	return s, fmt.Errorf("the script returned status %q, which Argo CD does not know", s.Status)
}

// EvaluateFile runs the script in file on the object in the YAML file objectFile.
func EvaluateFile(file, objectFile string) (Status, error) {
	script, err := os.ReadFile(file)
	if err != nil {
		return Status{}, err
	}
	raw, err := os.ReadFile(objectFile)
	if err != nil {
		return Status{}, err
	}
	var obj map[string]any
	if err := yaml.Unmarshal(raw, &obj); err != nil {
		return Status{}, fmt.Errorf("%s: %w", filepath.Base(objectFile), err)
	}
	return Evaluate(string(script), obj)
}

// toLua converts decoded JSON (maps, slices, strings, numbers, booleans, nil) to Lua
// values; lists become tables indexed from 1, as Argo CD's conversion makes them.
func toLua(L *lua.LState, v any) lua.LValue {
	switch v := v.(type) {
	case map[string]any:
		t := L.NewTable()
		for k, e := range v {
			t.RawSetString(k, toLua(L, e))
		}
		return t
	case []any:
		t := L.NewTable()
		for _, e := range v {
			t.Append(toLua(L, e))
		}
		return t
	case string:
		return lua.LString(v)
	case bool:
		return lua.LBool(v)
	case float64:
		return lua.LNumber(v)
	case int64:
		return lua.LNumber(v)
	case int:
		return lua.LNumber(v)
	case nil:
		return lua.LNil
	}
	return lua.LString(fmt.Sprint(v))
}
