package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
	"github.com/dredge-cli/dredge/stringtheory"
)

func newEngine(t testing.TB) *dredge.Engine { return testengine.New(t) }

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// connect serves eng over the SDK's in-memory transports and returns a
// connected client session.
func connect(t testing.TB, eng *dredge.Engine) *sdk.ClientSession {
	t.Helper()
	ctx := testContext(t)
	ct, st := sdk.NewInMemoryTransports()
	ss, err := NewServer(eng, nil).Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test", Version: "1"}, nil).Connect(ctx, ct, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cs.Close()
		_ = ss.Wait()
	})
	return cs
}

// decode turns a JSON value (bytes, or any value the SDK decoded) into
// generic Go values, so that two encodings compare with reflect.DeepEqual.
func decode(t testing.TB, v any) any {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return out
}

func text(t testing.TB, res *sdk.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("content has %d items, want 1", len(res.Content))
	}
	tc, ok := res.Content[0].(*sdk.TextContent)
	if !ok {
		t.Fatalf("content is %T, want text", res.Content[0])
	}
	return tc.Text
}

func TestListTools(t *testing.T) {
	cs := connect(t, newEngine(t))
	res, err := cs.ListTools(testContext(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range res.Tools {
		names = append(names, tool.Name)
		op, ok := dredge.LookupOperation(tool.Name)
		if !ok {
			t.Errorf("tool %s is not an operation", tool.Name)
			continue
		}
		if tool.Description != op.Description {
			t.Errorf("%s: description %q, want the operation's %q", tool.Name, tool.Description, op.Description)
		}
		in, _ := tool.InputSchema.(map[string]any)
		if in["type"] != "object" {
			t.Errorf("%s: input schema type %v, want object", tool.Name, in["type"])
		}
		props, _ := in["properties"].(map[string]any)
		for name, p := range props {
			if d, _ := p.(map[string]any)["description"].(string); d == "" {
				t.Errorf("%s: property %s has no description", tool.Name, name)
			}
		}
		if tool.OutputSchema == nil {
			t.Errorf("%s: no output schema", tool.Name)
		}
	}
	if want := dredge.Operations(); !slices.Equal(names, want) {
		t.Errorf("tools %v, want the operations %v", names, want)
	}
}

// TestInputSchemas checks what clients see of the schemas: required fields
// and the bounds SPEC names.
func TestInputSchemas(t *testing.T) {
	cs := connect(t, newEngine(t))
	res, err := cs.ListTools(testContext(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]map[string]any{}
	for _, tool := range res.Tools {
		schemas[tool.Name] = tool.InputSchema.(map[string]any)
	}
	at := func(tool, path string) map[string]any {
		s := schemas[tool]
		for _, name := range strings.Split(path, ".") {
			s, _ = s["properties"].(map[string]any)[name].(map[string]any)
		}
		if s == nil {
			t.Fatalf("%s: no property %s", tool, path)
		}
		return s
	}
	required := map[string][]string{
		"load_model":        {"model_type"},
		"inference":         {"model_id", "inputs"},
		"get_parameters":    {"model_id"},
		"lift":              {"insight_text"},
		"string_spectrum":   nil,
		"string_parameters": nil,
		"unified_inference": nil,
		"benchmark":         nil,
		"list_capabilities": nil,
	}
	for tool, want := range required {
		var got []string
		for _, r := range asSlice(schemas[tool]["required"]) {
			got = append(got, r.(string))
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: required %v, want %v", tool, got, want)
		}
	}
	bounds := []struct {
		tool, path string
		lo, hi     float64
	}{
		{"string_spectrum", "max_modes", 1, stringtheory.MaxModes},
		{"load_model", "config.n_waves", 1, stringtheory.MaxWaves},
		{"load_model", "config.num_layers", 1, stringtheory.MaxLayers},
		{"load_model", "config.hidden_size", 1, stringtheory.MaxHidden},
		{"benchmark", "config.n_waves", 1, stringtheory.MaxWaves},
		{"benchmark", "config.epochs", 1, stringtheory.MaxEpochs},
	}
	for _, b := range bounds {
		s := at(b.tool, b.path)
		if s["minimum"] != b.lo || s["maximum"] != b.hi {
			t.Errorf("%s %s: bounds [%v, %v], want [%v, %v]", b.tool, b.path, s["minimum"], s["maximum"], b.lo, b.hi)
		}
	}
	if got := asSlice(at("load_model", "model_type")["enum"]); len(got) != len(stringtheory.ModelTypes) {
		t.Errorf("load_model model_type enum %v, want the %d model types", got, len(stringtheory.ModelTypes))
	}
	if got := schemas["benchmark"]["anyOf"]; got == nil {
		t.Error("benchmark: no anyOf requiring model_type or model_id")
	}
}

func asSlice(v any) []any { s, _ := v.([]any); return s }

// TestSchemasResolve checks that every input schema is a valid JSON
// schema that accepts an empty call only where nothing is required.
func TestSchemasResolve(t *testing.T) {
	tools, err := tools()
	if err != nil {
		t.Fatal(err)
	}
	for _, tool := range tools {
		s := tool.InputSchema.(*jsonschema.Schema)
		r, err := s.Resolve(nil)
		if err != nil {
			t.Errorf("%s: %v", tool.Name, err)
			continue
		}
		err = r.Validate(map[string]any{})
		if (err == nil) != (len(s.Required) == 0 && len(s.AnyOf) == 0) {
			t.Errorf("%s: validating {} gave %v with required %v", tool.Name, err, s.Required)
		}
		if _, err := tool.OutputSchema.(*jsonschema.Schema).Resolve(nil); err != nil {
			t.Errorf("%s output: %v", tool.Name, err)
		}
	}
}

// TestSchemaBounds checks every bound of every schema against the Engine:
// just outside it the Engine rejects the call naming the field, at the
// lower bound it accepts it. A bound looser or tighter than the Engine's
// fails here.
func TestSchemaBounds(t *testing.T) {
	eng := newEngine(t)
	ctx := testContext(t)
	// base holds valid, cheap params of the operations with bounds. The
	// Engine validates every config field whatever the model type, so a
	// one-wave model keeps the calls at a field's maximum cheap.
	base := map[string]map[string]any{
		"load_model": {"model_type": "quasimoto_1d"},
		"benchmark":  {"model_type": "quasimoto_1d", "config": map[string]any{"epochs": 1}},
	}
	tools, err := tools()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tool := range tools {
		walkBounds(tool.InputSchema.(*jsonschema.Schema), "", func(path string, s *jsonschema.Schema) {
			call := func(v any, arrayOf bool) (body map[string]any) {
				if arrayOf {
					v = []any{v}
				}
				p := cloneJSON(base[tool.Name])
				setPath(p, path, v)
				raw, _ := json.Marshal(p)
				b, _ := eng.CallJSON(ctx, tool.Name, raw)
				_ = json.Unmarshal(b, &body)
				return body
			}
			field, items := strings.CutSuffix(path, "[]")
			wantField := field
			if items {
				wantField += "[0]"
			}
			reject := func(v any, what string) {
				n++
				body := call(v, items)
				if body["success"] != false || body["code"] != "invalid_argument" || body["field"] != wantField {
					t.Errorf("%s %s = %v (%s): got %v, want invalid_argument naming %s", tool.Name, path, v, what, body, wantField)
				}
			}
			if s.Minimum != nil {
				reject(*s.Minimum-1, "below minimum")
				if body := call(*s.Minimum, items); body["success"] != true {
					t.Errorf("%s %s = %v (the minimum): %v", tool.Name, path, *s.Minimum, body)
				}
			}
			if s.Maximum != nil {
				reject(*s.Maximum+1, "above maximum")
				// At the maximum the Engine may still refuse the whole
				// model (too many parameters), but not this field.
				if !slowAtMax[tool.Name+" "+path] {
					if body := call(*s.Maximum, items); body["field"] == wantField {
						t.Errorf("%s %s = %v (the maximum): %v", tool.Name, path, *s.Maximum, body)
					}
				}
			}
			if s.ExclusiveMinimum != nil {
				reject(*s.ExclusiveMinimum, "at exclusive minimum")
				if body := call(*s.ExclusiveMinimum+0.5, items); body["success"] != true {
					t.Errorf("%s %s = %v: %v", tool.Name, path, *s.ExclusiveMinimum+0.5, body)
				}
			}
			if s.MaxItems != nil {
				n++
				long := make([]any, *s.MaxItems+1)
				for i := range long {
					long[i] = 1
				}
				p := cloneJSON(base[tool.Name])
				setPath(p, path, long)
				raw, _ := json.Marshal(p)
				b, code := eng.CallJSON(ctx, tool.Name, raw)
				if code != dredge.CodeInvalidArgument || !strings.Contains(string(b), `"field":"`+path+`"`) {
					t.Errorf("%s %s with %d items: %s", tool.Name, path, len(long), b)
				}
			}
		})
	}
	if n < 20 {
		t.Errorf("checked %d bounds, want at least 20", n)
	}
}

// slowAtMax names the bounds whose maximum is too slow to run in a test.
var slowAtMax = map[string]bool{
	"benchmark config.epochs": true,
}

// walkBounds calls fn for each property (dotted path; "a[]" for the items
// of array a) that has a numeric bound or maxItems.
// TestSchemaDefaults checks every default of every schema against the
// Engine: a call that gives the default explicitly answers as one that
// leaves the parameter out.
func TestSchemaDefaults(t *testing.T) {
	eng := newEngine(t)
	ctx := testContext(t)
	base := map[string]map[string]any{
		"benchmark": {"model_type": "quasimoto_1d", "config": map[string]any{"n_waves": 1}},
	}
	tools, err := tools()
	if err != nil {
		t.Fatal(err)
	}
	answer := func(op string, p map[string]any) map[string]any {
		raw, _ := json.Marshal(p)
		b, code := eng.CallJSON(ctx, op, raw)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil || code != dredge.CodeOK {
			t.Fatalf("%s(%s): %s", op, raw, b)
		}
		delete(m, "cached")
		delete(m, "seconds")
		return m
	}
	n := 0
	for _, tool := range tools {
		walkSchema(tool.InputSchema.(*jsonschema.Schema), "", func(path string, s *jsonschema.Schema) {
			if s.Default == nil {
				return
			}
			n++
			var def any
			if err := json.Unmarshal(s.Default, &def); err != nil {
				t.Fatal(err)
			}
			with := cloneJSON(base[tool.Name])
			setPath(with, path, def)
			if a, b := answer(tool.Name, base[tool.Name]), answer(tool.Name, with); !reflect.DeepEqual(a, b) {
				t.Errorf("%s: %s left out answers %v, given its default %s %v", tool.Name, path, a, s.Default, b)
			}
		})
	}
	if n < 9 {
		t.Errorf("checked %d defaults, want at least 9", n)
	}
}

// walkSchema calls fn for every property, at any depth, by dotted path.
func walkSchema(s *jsonschema.Schema, prefix string, fn func(string, *jsonschema.Schema)) {
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		p := s.Properties[name]
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		fn(path, p)
		walkSchema(p, path, fn)
	}
}

func walkBounds(s *jsonschema.Schema, prefix string, fn func(string, *jsonschema.Schema)) {
	for _, name := range slices.Sorted(maps.Keys(s.Properties)) {
		p := s.Properties[name]
		path := name
		if prefix != "" {
			path = prefix + "." + name
		}
		if p.Minimum != nil || p.Maximum != nil || p.ExclusiveMinimum != nil || p.MaxItems != nil {
			fn(path, p)
		}
		if it := p.Items; it != nil && (it.Minimum != nil || it.Maximum != nil) {
			fn(path+"[]", it)
		}
		walkBounds(p, path, fn)
	}
}

func cloneJSON(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	b, _ := json.Marshal(m)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func setPath(m map[string]any, path string, v any) {
	path = strings.TrimSuffix(path, "[]")
	names := strings.Split(path, ".")
	for _, n := range names[:len(names)-1] {
		next, ok := m[n].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[n] = next
		}
		m = next
	}
	m[names[len(names)-1]] = v
}

// toolCase is one call of TestCallTools. A case without wantCode must
// succeed with the operation's JSON.
type toolCase struct {
	tool      string
	args      string
	wantCode  dredge.Code
	wantField string // the field the error names (prefix match)
	volatile  bool   // result holds timings: compare keys, not values
}

var toolCases = []toolCase{
	{tool: "list_capabilities", args: `{}`},
	{tool: "string_spectrum", args: `{"max_modes": 5}`},
	{tool: "string_spectrum", args: `{}`},
	{tool: "string_spectrum", args: `{"max_modes": 0}`, wantCode: dredge.CodeInvalidArgument, wantField: "max_modes"},
	{tool: "string_spectrum", args: `{"max_modes": "ten"}`, wantCode: dredge.CodeInvalidArgument, wantField: "max_modes"},
	{tool: "string_spectrum", args: `{"max_modes": 100001}`, wantCode: dredge.CodeInvalidArgument, wantField: "max_modes"},
	{tool: "string_parameters", args: `{}`},
	{tool: "string_parameters", args: `{"energy_scale": 2, "coupling_constant": 0.5}`},
	{tool: "string_parameters", args: `{"coupling_constant": -1}`, wantCode: dredge.CodeInvalidArgument, wantField: "coupling_constant"},
	{tool: "unified_inference", args: `{}`},
	{tool: "unified_inference", args: `{"dredge_insight": "waves", "quasimoto_coords": [0.1, 0.9], "string_modes": [1, 2]}`},
	{tool: "unified_inference", args: `{"string_modes": [0]}`, wantCode: dredge.CodeInvalidArgument, wantField: "string_modes[0]"},
	{tool: "unified_inference", args: `{"quasimoto_coords": ["a"]}`, wantCode: dredge.CodeInvalidArgument, wantField: "quasimoto_coords"},
	{tool: "lift", args: `{"insight_text": "the sea remembers"}`},
	{tool: "lift", args: `{}`, wantCode: dredge.CodeInvalidArgument, wantField: "insight_text"},
	{tool: "load_model", args: `{"model_type": "quasimoto_1d"}`},
	{tool: "load_model", args: `{"model_type": "string_theory", "config": {"num_layers": 2, "hidden_size": 8}}`},
	{tool: "load_model", args: `{}`, wantCode: dredge.CodeInvalidArgument, wantField: "model_type"},
	{tool: "load_model", args: `{"model_type": "nope"}`, wantCode: dredge.CodeNotFound, wantField: "model_type"},
	{tool: "load_model", args: `{"model_type": "string_theory", "config": {"num_layers": 11}}`, wantCode: dredge.CodeInvalidArgument, wantField: "config.num_layers"},
	{tool: "inference", args: `{"model_id": "quasimoto_1d_0", "inputs": {"x": [0, 0.5], "t": [0, 0]}}`},
	{tool: "inference", args: `{"model_id": "string_theory_0", "inputs": {"x": [[1,2,3,4,5,6,7,8,9,10]]}}`},
	{tool: "inference", args: `{"model_id": "nope_0", "inputs": {"x": [1], "t": [0]}}`, wantCode: dredge.CodeNotFound, wantField: "model_id"},
	{tool: "inference", args: `{"model_id": "quasimoto_1d_0", "inputs": {"x": [0, 1], "t": [0]}}`, wantCode: dredge.CodeInvalidArgument, wantField: "inputs"},
	{tool: "inference", args: `{"model_id": "quasimoto_1d_0"}`, wantCode: dredge.CodeInvalidArgument, wantField: "inputs"},
	{tool: "get_parameters", args: `{"model_id": "quasimoto_1d_0"}`},
	{tool: "get_parameters", args: `{}`, wantCode: dredge.CodeInvalidArgument, wantField: "model_id"},
	{tool: "get_parameters", args: `{"model_id": "nope_0"}`, wantCode: dredge.CodeNotFound, wantField: "model_id"},
	{tool: "benchmark", args: `{"model_type": "quasimoto_1d", "config": {"epochs": 3, "n_waves": 2}}`, volatile: true},
	{tool: "benchmark", args: `{"model_type": "quasimoto_1d", "config": {"epochs": 0}}`, wantCode: dredge.CodeInvalidArgument, wantField: "config.epochs"},
	{tool: "get_metrics", args: `{}`, volatile: true},
	{tool: "get_cache_stats", args: `{}`, volatile: true},
}

// TestCallTools calls every tool, good and bad inputs, over the in-memory
// transports. Each call is replayed on a twin Engine with CallJSON: the
// tool's structured content must be that JSON, its text the same JSON (or
// "code: message" for a tool error).
func TestCallTools(t *testing.T) {
	cs := connect(t, newEngine(t))
	twin := newEngine(t)
	ctx := testContext(t)

	list, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	cases := slices.Clone(toolCases)
	for _, c := range cases {
		covered[c.tool] = true
	}
	for _, tool := range list.Tools {
		if !covered[tool.Name] {
			// A new operation: called with no arguments, it must answer
			// with well-formed JSON either way.
			t.Logf("tool %s has no cases here; calling it with {}", tool.Name)
			cases = append(cases, toolCase{tool: tool.Name, args: `{}`, wantCode: "any", volatile: true})
		}
	}

	for i, c := range cases {
		t.Run(fmt.Sprintf("%02d_%s", i, c.tool), func(t *testing.T) {
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: c.tool, Arguments: json.RawMessage(c.args)})
			if err != nil {
				t.Fatalf("CallTool(%s, %s): %v", c.tool, c.args, err)
			}
			want, code := twin.CallJSON(ctx, c.tool, json.RawMessage(c.args))
			got := decode(t, res.StructuredContent)
			if c.wantCode == "any" {
				c.wantCode = code
			}
			if res.IsError != (c.wantCode != dredge.CodeOK) {
				t.Fatalf("%s: isError %v, want %v; content %s", c.args, res.IsError, c.wantCode != dredge.CodeOK, text(t, res))
			}
			if code != c.wantCode {
				t.Fatalf("twin: code %q, want %q (%s)", code, c.wantCode, want)
			}
			if c.volatile {
				if g, w := keys(got), keys(decode(t, want)); !slices.Equal(g, w) {
					t.Errorf("structured keys %v, want %v", g, w)
				}
			} else if w := decode(t, want); !reflect.DeepEqual(got, w) {
				t.Errorf("structured content\n got %v\nwant %v", got, w)
			}
			if !res.IsError {
				if txt := decode(t, []byte(text(t, res))); !reflect.DeepEqual(txt, got) {
					t.Errorf("text %v differs from the structured content %v", txt, got)
				}
				return
			}
			m := got.(map[string]any)
			if m["success"] != false || m["code"] != string(c.wantCode) {
				t.Errorf("error JSON %v, want success false and code %s", m, c.wantCode)
			}
			if f, _ := m["field"].(string); !strings.HasPrefix(f, c.wantField) {
				t.Errorf("error names field %q, want %q", f, c.wantField)
			}
			if txt, want := text(t, res), string(c.wantCode)+": "+m["error"].(string); txt != want {
				t.Errorf("text %q, want %q", txt, want)
			}
			if c.wantField != "" && !strings.Contains(text(t, res), c.wantField) {
				t.Errorf("text %q does not name the field %s", text(t, res), c.wantField)
			}
		})
	}
}

func keys(v any) []string {
	m, _ := v.(map[string]any)
	return slices.Sorted(maps.Keys(m))
}

// TestUnknownTool: an unknown tool is a protocol error, not a tool result.
func TestUnknownTool(t *testing.T) {
	cs := connect(t, newEngine(t))
	res, err := cs.CallTool(testContext(t), &sdk.CallToolParams{Name: "no_such_tool", Arguments: map[string]any{}})
	if err == nil {
		t.Fatalf("got result %+v, want a protocol error", res)
	}
	if !strings.Contains(err.Error(), "no_such_tool") {
		t.Errorf("error %q does not name the tool", err)
	}
}

func TestResources(t *testing.T) {
	eng := newEngine(t)
	cs := connect(t, eng)
	ctx := testContext(t)

	list, err := cs.ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, r := range list.Resources {
		uris = append(uris, r.URI)
		if r.MIMEType != "application/json" {
			t.Errorf("%s: MIME type %q", r.URI, r.MIMEType)
		}
	}
	if want := []string{CapabilitiesURI, ModelsURI}; !slices.Equal(uris, want) {
		t.Errorf("resources %v, want %v", uris, want)
	}
	tmpls, err := cs.ListResourceTemplates(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(tmpls.ResourceTemplates) != 1 || tmpls.ResourceTemplates[0].URITemplate != ModelURITemplate {
		t.Errorf("templates %+v, want %s", tmpls.ResourceTemplates, ModelURITemplate)
	}

	read := func(uri string) (any, error) {
		res, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
		if err != nil {
			return nil, err
		}
		if len(res.Contents) != 1 || res.Contents[0].URI != uri || res.Contents[0].MIMEType != "application/json" {
			t.Fatalf("%s: contents %+v", uri, res.Contents)
		}
		return decode(t, []byte(res.Contents[0].Text)), nil
	}
	mustRead := func(uri string) any {
		v, err := read(uri)
		if err != nil {
			t.Fatalf("reading %s: %v", uri, err)
		}
		return v
	}

	caps, _ := eng.CallJSON(ctx, "list_capabilities", nil)
	if got, want := mustRead(CapabilitiesURI), decode(t, caps); !reflect.DeepEqual(got, want) {
		t.Errorf("capabilities %v, want %v", got, want)
	}
	if got := mustRead(ModelsURI); !reflect.DeepEqual(got, map[string]any{"success": true, "models": []any{}}) {
		t.Errorf("models before loading: %v", got)
	}

	for _, args := range []string{`{"model_type": "quasimoto_1d", "config": {"n_waves": 2}}`, `{"model_type": "siren"}`} {
		if res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "load_model", Arguments: json.RawMessage(args)}); err != nil || res.IsError {
			t.Fatalf("load_model %s: %v %v", args, err, res)
		}
	}
	listed, _ := eng.CallJSON(ctx, "list_models", nil)
	if got, want := mustRead(ModelsURI), decode(t, listed); !reflect.DeepEqual(got, want) {
		t.Errorf("models %v, want list_models' %v", got, want)
	}
	models := mustRead(ModelsURI).(map[string]any)["models"].([]any)
	var ids []string
	for _, m := range models {
		m := m.(map[string]any)
		ids = append(ids, m["model_id"].(string))
		if m["model_type"] == nil || m["n_parameters"] == nil {
			t.Errorf("model summary %v lacks type or parameter count", m)
		}
	}
	if want := []string{"quasimoto_1d_0", "siren_0"}; !slices.Equal(ids, want) {
		t.Errorf("model ids %v, want %v", ids, want)
	}

	params, _ := eng.CallJSON(ctx, "get_parameters", json.RawMessage(`{"model_id": "quasimoto_1d_0"}`))
	if got, want := mustRead("dredge://models/quasimoto_1d_0"), decode(t, params); !reflect.DeepEqual(got, want) {
		t.Errorf("model resource %v, want get_parameters' %v", got, want)
	}
	for _, uri := range []string{"dredge://models/nope_0", "dredge://models/", "dredge://nothing"} {
		if _, err := read(uri); err == nil {
			t.Errorf("reading %s: no error", uri)
		} else if !strings.Contains(strings.ToLower(err.Error()), "not found") {
			t.Errorf("reading %s: %v, want resource not found", uri, err)
		}
	}
}

// TestConcurrentSessions runs several sessions at once on one server and
// Engine (run with -race).
func TestConcurrentSessions(t *testing.T) {
	eng := newEngine(t)
	srv := NewServer(eng, nil)
	ctx := testContext(t)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 4 {
		ct, st := sdk.NewInMemoryTransports()
		ss, err := srv.Connect(ctx, st, nil)
		if err != nil {
			t.Fatal(err)
		}
		cs, err := sdk.NewClient(&sdk.Implementation{Name: "c", Version: "1"}, nil).Connect(ctx, ct, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { _ = cs.Close(); _ = ss.Wait() }()
			for j := range 5 {
				calls := []sdk.CallToolParams{
					{Name: "load_model", Arguments: map[string]any{"model_type": "quasimoto_1d", "config": map[string]any{"n_waves": 1 + j}}},
					{Name: "unified_inference", Arguments: map[string]any{"dredge_insight": fmt.Sprint(i, j)}},
					{Name: "string_spectrum", Arguments: map[string]any{"max_modes": 1 + i}},
				}
				for _, p := range calls {
					res, err := cs.CallTool(ctx, &p)
					if err == nil && res.IsError {
						err = errors.New(text(t, res))
					}
					if err != nil {
						errs <- fmt.Errorf("%s: %w", p.Name, err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	ms, err := eng.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Models) != 20 {
		t.Errorf("%d models loaded, want 20", len(ms.Models))
	}
}

func TestNewServerNilEngine(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("NewServer(nil) did not panic")
		}
	}()
	NewServer(nil, nil)
}
