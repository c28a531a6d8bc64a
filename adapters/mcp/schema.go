package mcp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/stringtheory"
)

// inputSchema derives an operation's input schema from its params struct
// (descriptions from the jsonschema tags, required fields from the json
// tags without omitempty) and then applies the operation's entry of
// [schemaTweaks]: the bounds, enums and defaults the tags cannot state.
func inputSchema(op dredge.Operation) (*jsonschema.Schema, error) {
	t := reflect.TypeOf(op.NewParams())
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	s, err := jsonschema.ForType(t, &jsonschema.ForOptions{TypeSchemas: typeSchemas()})
	if err != nil {
		return nil, fmt.Errorf("mcp: schema of %s: %w", op.Name, err)
	}
	dropNull(s)
	if tweak, ok := schemaTweaks[op.Name]; ok {
		e := &schemaEdit{root: s}
		tweak(e)
		if e.err != nil {
			return nil, fmt.Errorf("mcp: schema of %s: %w", op.Name, e.err)
		}
	}
	return s, nil
}

// outputSchema is every tool's output schema: the operation's JSON, which
// always has "success" (false with error, code and field on failure).
func outputSchema() *jsonschema.Schema {
	return &jsonschema.Schema{
		Type: "object",
		Description: "the operation's DREDGE JSON response: its result fields with success true, " +
			"or success false with error (the message), code (e.g. invalid_argument) and field (e.g. config.num_layers)",
		Properties: map[string]*jsonschema.Schema{"success": {Type: "boolean"}},
		Required:   []string{"success"},
	}
}

// typeSchemas describes the root package's types whose JSON form differs
// from their Go form (they have their own UnmarshalJSON).
func typeSchemas() map[reflect.Type]*jsonschema.Schema {
	number := &jsonschema.Schema{Type: "number"}
	column := &jsonschema.Schema{Type: "array", Items: number}
	rows := &jsonschema.Schema{Type: "array", Items: column}
	values := &jsonschema.Schema{
		Description: "a column of numbers, or rows of numbers of equal length",
		AnyOf:       []*jsonschema.Schema{column, rows},
	}
	return map[reflect.Type]*jsonschema.Schema{
		reflect.TypeFor[dredge.Values](): values,
		reflect.TypeFor[dredge.Inputs](): {
			Type:                 "object",
			AdditionalProperties: values,
			MinProperties:        ptr(1),
		},
		reflect.TypeFor[dredge.ParamValue](): {
			Description: "a number, a (nested) array of numbers, or {\"value\": …} as get_parameters returns it",
			AnyOf: []*jsonschema.Schema{
				number,
				{Type: "array"},
				{Type: "object", Properties: map[string]*jsonschema.Schema{"value": {}}, Required: []string{"value"}},
			},
		},
	}
}

// schemaTweaks holds, per operation, what the params struct's tags cannot
// express: numeric bounds (the limits the Engine enforces), enums, defaults,
// and required fields that are not plain Go fields. Operations without an
// entry use the derived schema as is, so a new operation needs no entry.
// TestSchemaBounds checks every bound here against the Engine.
var schemaTweaks = map[string]func(*schemaEdit){
	"load_model": func(e *schemaEdit) {
		e.enum("model_type", stringtheory.ModelTypes)
		modelConfig(e, "config")
	},
	"benchmark": func(e *schemaEdit) {
		e.enum("model_type", stringtheory.ModelTypes)
		modelConfig(e, "config")
		e.intRange("config.epochs", 1, stringtheory.MaxEpochs)
		e.positive("config.learning_rate")
		e.def("config.epochs", 100)
		e.def("config.learning_rate", 0.01)
		e.anyOfRequired("model_type", "model_id")
	},
	"string_spectrum": func(e *schemaEdit) {
		e.intRange("max_modes", 1, stringtheory.MaxModes)
		e.intRange("dimensions", 1, stringtheory.MaxModes)
		e.def("max_modes", 10)
		e.def("dimensions", 10)
	},
	"string_parameters": func(e *schemaEdit) {
		e.positive("coupling_constant")
		e.positive("energy_scale")
		e.def("energy_scale", 1.0)
		e.def("coupling_constant", 0.1)
	},
	"unified_inference": func(e *schemaEdit) {
		e.optional("dredge_insight")
		e.def("dredge_insight", "")
		e.maxItems("quasimoto_coords", stringtheory.MaxCoords)
		e.def("quasimoto_coords", []float64{0.5})
		e.maxItems("string_modes", stringtheory.MaxModes)
		e.intRange("string_modes[]", 1, stringtheory.MaxModes)
		e.def("string_modes", []int{1, 2, 3})
	},
}

// modelConfig bounds the fields of a [dredge.ModelConfig] at path.
func modelConfig(e *schemaEdit, path string) {
	p := path + "."
	e.intRange(p+"n_waves", 1, stringtheory.MaxWaves)
	e.intRange(p+"dimensions", 1, stringtheory.MaxInputDim)
	e.intRange(p+"hidden_size", 1, stringtheory.MaxHidden)
	e.intRange(p+"num_layers", 1, stringtheory.MaxLayers)
	e.intRange(p+"dim", 1, 16)
	e.intRange(p+"num_fields", 1, stringtheory.MaxFields)
	e.intRange(p+"out_features", 1, stringtheory.MaxHidden)
	e.intRange(p+"input_dim", 1, stringtheory.MaxInputDim)
	e.intRange(p+"num_features", 1, stringtheory.MaxFeatures)
	e.positive(p + "sigma")
	e.positive(p + "w0")
}

// schemaEdit edits a derived schema by dotted property paths ("a.b"; "a[]"
// is the items of array a). The first path that does not exist is kept in
// err, so a tweak that no longer matches its params struct fails loudly.
type schemaEdit struct {
	root *jsonschema.Schema
	err  error
}

func (e *schemaEdit) at(path string) *jsonschema.Schema {
	s := e.root
	for _, name := range strings.Split(path, ".") {
		items := strings.HasSuffix(name, "[]")
		name = strings.TrimSuffix(name, "[]")
		s = s.Properties[name]
		if s != nil && items {
			s = s.Items
		}
		if s == nil {
			if e.err == nil {
				e.err = fmt.Errorf("no property %q", path)
			}
			return &jsonschema.Schema{} // a scratch schema keeps the caller simple
		}
	}
	return s
}

func (e *schemaEdit) intRange(path string, lo, hi int) {
	s := e.at(path)
	s.Minimum, s.Maximum = ptr(float64(lo)), ptr(float64(hi))
}

func (e *schemaEdit) positive(path string) {
	e.at(path).ExclusiveMinimum = ptr(0.0)
}

func (e *schemaEdit) maxItems(path string, n int) {
	e.at(path).MaxItems = ptr(n)
}

func (e *schemaEdit) enum(path string, vals []string) {
	s := e.at(path)
	s.Enum = make([]any, len(vals))
	for i, v := range vals {
		s.Enum[i] = v
	}
}

func (e *schemaEdit) def(path string, v any) {
	b, err := json.Marshal(v)
	if err != nil && e.err == nil {
		e.err = err
	}
	e.at(path).Default = b
}

// optional removes a top-level property from required (it has a default).
func (e *schemaEdit) optional(name string) {
	e.at(name)
	e.root.Required = slices.DeleteFunc(e.root.Required, func(r string) bool { return r == name })
}

// anyOfRequired requires at least one of the named top-level properties.
func (e *schemaEdit) anyOfRequired(names ...string) {
	for _, n := range names {
		e.at(n)
		e.root.AnyOf = append(e.root.AnyOf, &jsonschema.Schema{Required: []string{n}})
	}
}

// dropNull turns the ["null", T] types that pointer and slice fields get
// into plain T: the Engine reads null as "left out", which the schema
// already says by not requiring the field.
func dropNull(s *jsonschema.Schema) {
	if s == nil {
		return
	}
	if len(s.Types) == 2 && s.Types[0] == "null" {
		s.Type, s.Types = s.Types[1], nil
	}
	for _, p := range s.Properties {
		dropNull(p)
	}
	dropNull(s.Items)
	dropNull(s.AdditionalProperties)
	for _, a := range s.AnyOf {
		dropNull(a)
	}
}

func ptr[T any](v T) *T { return &v }
