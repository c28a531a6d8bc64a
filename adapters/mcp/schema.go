package mcp

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"github.com/google/jsonschema-go/jsonschema"

	"github.com/dredge-cli/dredge"
)

// inputSchema derives an operation's input schema from its params struct
// (descriptions from the jsonschema tags, required fields from the json
// tags without omitempty) and the operation's parameter facts: the bounds,
// enumerations and defaults the Engine's validation enforces
// ([dredge.Operation.Params]).
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
	e := &schemaEdit{root: s}
	for _, p := range op.Params {
		e.param(p)
	}
	for _, name := range op.RequireOneOf {
		e.at(name)
		s.AnyOf = append(s.AnyOf, &jsonschema.Schema{Required: []string{name}})
	}
	if e.err != nil {
		return nil, fmt.Errorf("mcp: schema of %s: %w", op.Name, e.err)
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

// param states p in the schema of its path; a top-level parameter with a
// default is not required.
func (e *schemaEdit) param(p dredge.Param) {
	s := e.at(p.Path)
	if p.Min != nil {
		s.Minimum = ptr(*p.Min)
	}
	if p.Max != nil {
		s.Maximum = ptr(*p.Max)
	}
	if p.Positive {
		s.ExclusiveMinimum = ptr(0.0)
	}
	if p.MaxItems > 0 {
		s.MaxItems = ptr(p.MaxItems)
	}
	for _, v := range p.Enum {
		s.Enum = append(s.Enum, v)
	}
	if p.Default == nil {
		return
	}
	b, err := json.Marshal(p.Default)
	if err != nil && e.err == nil {
		e.err = err
	}
	s.Default = b
	if !strings.Contains(p.Path, ".") {
		e.root.Required = slices.DeleteFunc(e.root.Required, func(r string) bool { return r == p.Path })
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
