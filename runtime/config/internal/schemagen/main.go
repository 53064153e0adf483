// Command schemagen writes config.schema.json, the JSON Schema of the runtime
// configuration, by reflecting over the Go types of package config. It runs in
// runtime/config (go generate puts it there) and reads that package's doc comments
// for the descriptions.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"reflect"

	"github.com/invopop/jsonschema"

	"github.com/switchboard-chat/switchboard/runtime/config"
)

// File is the schema's file name in runtime/config.
const File = "config.schema.json"

const pkgPath = "github.com/switchboard-chat/switchboard/runtime/config"

func main() {
	data, err := generate()
	if err == nil {
		err = os.WriteFile(File, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "schemagen:", err)
		os.Exit(1)
	}
}

// named are the types encoded as strings, each with its own definition: Duration by
// its MarshalJSON, the enumerations by their value lists.
var named = map[reflect.Type]*jsonschema.Schema{
	reflect.TypeFor[config.Duration]():          {Type: "string", Pattern: `^-?([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$`},
	reflect.TypeFor[config.ChannelType]():       enum(config.ChannelTypes),
	reflect.TypeFor[config.RoutingRule]():       enum(config.RoutingRules),
	reflect.TypeFor[config.EventType]():         enum(config.EventTypes),
	reflect.TypeFor[config.DeliveryKind]():      enum(config.DeliveryKinds),
	reflect.TypeFor[config.RecipientKind]():     enum(config.RecipientKinds),
	reflect.TypeFor[config.RecipientStrategy](): enum(config.RecipientStrategies),
	reflect.TypeFor[config.BackoffKind]():       enum(config.BackoffKinds),
	reflect.TypeFor[config.SMTPTLS]():           enum(config.SMTPTLSModes),
	reflect.TypeFor[config.WebhookFormat]():     enum(config.WebhookFormats),
	reflect.TypeFor[config.OpenChatsPolicy]():   enum(config.OpenChatsPolicies),
}

func enum[T ~string](values []T) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, v := range values {
		s.Enum = append(s.Enum, string(v))
	}
	return s
}

// generate returns the schema of config.Config, ending in a newline.
func generate() ([]byte, error) {
	r := &jsonschema.Reflector{
		ExpandedStruct: true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if named[t] != nil {
				return &jsonschema.Schema{Ref: "#/$defs/" + t.Name()}
			}
			return nil
		},
	}
	if err := r.AddGoComments(pkgPath, "."); err != nil {
		return nil, fmt.Errorf("reading the doc comments of package config (run in runtime/config): %w", err)
	}
	s := r.Reflect(&config.Config{})
	if s.Description == "" {
		return nil, fmt.Errorf("no doc comment found for config.Config: run in runtime/config")
	}
	s.ID = jsonschema.ID("https://switchboard.dev/schemas/" + config.SchemaVersion + "/config.schema.json")
	s.Title = "switchboard runtime configuration " + config.SchemaVersion
	version, ok := s.Properties.Get("schemaVersion")
	if !ok {
		return nil, fmt.Errorf("config.Config has no schemaVersion property")
	}
	version.Const = config.SchemaVersion
	for t, def := range named {
		d := *def
		d.Description = r.CommentMap[pkgPath+"."+t.Name()]
		s.Definitions[t.Name()] = &d
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
