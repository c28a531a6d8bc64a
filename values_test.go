package dredge_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/jsonx"
)

// badNumbers are the values that numeric arrays reject, each in place of
// one element.
var badNumbers = []string{`null`, `"1"`, `true`, `1e400`, `-1e400`, `"NaN"`, `"Infinity"`, `{}`, `[]`}

// numericArrayCases returns, for a bad element v, a request per numeric
// array with v at a known index and the field its error must name.
func numericArrayCases(t *testing.T, e *dredge.Engine, v string) []struct{ op, params, field string } {
	t.Helper()
	wave := loadModel(t, e, `{"model_type":"quasimoto_1d"}`)
	mlp := loadModel(t, e, `{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":4}}`)
	return []struct{ op, params, field string }{
		{"unified_inference", `{"quasimoto_coords":[0.5,` + v + `]}`, "quasimoto_coords[1]"},
		{"unified_inference", `{"string_modes":[` + v + `,2]}`, "string_modes[0]"},
		{"inference", `{"model_id":"` + wave + `","inputs":{"t":[0,0,0,0],"x":[1,2,3,` + v + `]}}`, "inputs.x[3]"},
		{"inference", `{"model_id":"` + wave + `","inputs":[1,` + v + `]}`, "inputs[1]"},
		{"inference", `{"model_id":"` + mlp + `","inputs":{"x":[[1,2,3],[4,5,6],[7,` + v + `,9]]}}`, "inputs.x[2][1]"},
		{"load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"A":[` + v + `]}}}`, "config.parameters.A[0]"},
		{"load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"A":{"value":[[1],[` + v + `]]}}}}`, "config.parameters.A.value[1][0]"},
		{"benchmark", `{"model_type":"quasimoto_1d","config":{"epochs":1,"parameters":{"A":` + v + `}}}`, "config.parameters.A"},
	}
}

// TestNumericArraysStrict checks that every numeric array rejects null,
// strings, booleans and out-of-range numbers with invalid_argument naming
// the field and the index, and that the failed calls change no state.
func TestNumericArraysStrict(t *testing.T) {
	e := newEngine(t)
	ctx := context.Background()
	for _, v := range badNumbers {
		before, err := e.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range numericArrayCases(t, e, v) {
			if strings.HasPrefix(c.field, "string_modes") && v == "[]" {
				continue
			}
			if v == "[]" && strings.Contains(c.field, "parameters") || v == "{}" && c.op == "benchmark" {
				continue // a parameter may nest arrays; {} is an object parameter without "value"
			}
			body, code := e.CallJSON(ctx, c.op, json.RawMessage(c.params))
			var r response
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("%s(%s): invalid JSON %q", c.op, c.params, body)
			}
			if code != dredge.CodeInvalidArgument || r.Success || r.Code != string(code) {
				t.Errorf("%s(%s): got %s %s, want invalid_argument", c.op, c.params, code, body)
				continue
			}
			if r.Field != c.field || !strings.HasPrefix(r.Error, c.field+": ") {
				t.Errorf("%s(%s): field %q, error %q; want field %q", c.op, c.params, r.Field, r.Error, c.field)
			}
		}
		// The failed load_model calls added no model.
		after, err := e.ListModels(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(after.Models) != len(before.Models)+2 { // the two that numericArrayCases loaded
			t.Errorf("%s: %d models before, %d after (2 loaded)", v, len(before.Models), len(after.Models))
		}
	}
}

// TestNonFiniteLiterals checks that NaN and Infinity, which are not JSON,
// are rejected in every numeric array as malformed params.
func TestNonFiniteLiterals(t *testing.T) {
	e := newEngine(t)
	for _, v := range []string{"NaN", "Infinity", "-Infinity", "nan", "inf"} {
		for _, c := range numericArrayCases(t, e, v) {
			body, code := e.CallJSON(context.Background(), c.op, json.RawMessage(c.params))
			var r response
			if err := json.Unmarshal(body, &r); err != nil || code != dredge.CodeInvalidArgument || r.Field != "params" {
				t.Errorf("%s(%s): got %s %s, want invalid_argument on params", c.op, c.params, code, body)
			}
		}
	}
}

// TestBadInferenceChangesNothing checks that a rejected inference leaves
// the model's parameters and the cache as they were.
func TestBadInferenceChangesNothing(t *testing.T) {
	e := newEngine(t)
	id := loadModel(t, e, `{"model_type":"quasimoto_1d"}`)
	params0, _ := e.CallJSON(context.Background(), "get_parameters", json.RawMessage(`{"model_id":"`+id+`"}`))
	stats0, _ := e.CallJSON(context.Background(), "get_cache_stats", nil)
	for _, v := range badNumbers {
		if _, code := e.CallJSON(context.Background(), "inference", json.RawMessage(`{"model_id":"`+id+`","inputs":{"x":[1,`+v+`],"t":[0,0]}}`)); code != dredge.CodeInvalidArgument {
			t.Fatalf("%s: got %s", v, code)
		}
	}
	params1, _ := e.CallJSON(context.Background(), "get_parameters", json.RawMessage(`{"model_id":"`+id+`"}`))
	stats1, _ := e.CallJSON(context.Background(), "get_cache_stats", nil)
	if string(params0) != string(params1) {
		t.Errorf("parameters changed:\n%s\n%s", params0, params1)
	}
	var s0, s1 map[string]any
	_ = json.Unmarshal(stats0, &s0)
	_ = json.Unmarshal(stats1, &s1)
	for _, k := range []string{"entries", "size", "sets", "keys"} {
		if s0[k] != s1[k] {
			t.Errorf("cache stats %s: %v before, %v after", k, s0[k], s1[k])
		}
	}
}

// TestTypedCoords checks that Go callers set coordinates and modes with
// composite literals, and get the JSON path's answer.
func TestTypedCoords(t *testing.T) {
	e := newEngine(t, dredge.WithCache(nil))
	ctx := context.Background()
	r, err := e.UnifiedInference(ctx, &dredge.UnifiedParams{
		Insight: "typed",
		Coords:  &dredge.Floats{0.1, 0.2},
		Modes:   &dredge.Ints{1, 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	body, code := e.CallJSON(ctx, "unified_inference", json.RawMessage(`{"dredge_insight":"typed","quasimoto_coords":[0.1,0.2],"string_modes":[1,2]}`))
	if code != dredge.CodeOK {
		t.Fatalf("%s %s", code, body)
	}
	want, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(want) {
		t.Errorf("CallJSON:\n%s\ntyped:\n%s", body, want)
	}
	// A plain slice converts.
	coords := []float64{0.3}
	p := dredge.UnifiedParams{Coords: (*dredge.Floats)(&coords)}
	if _, err := e.UnifiedInference(ctx, &p); err != nil {
		t.Fatal(err)
	}
}

// TestStrictListErrors checks the errors of Floats and Ints as
// encoding/json reports them: the element's index after the field's path.
func TestStrictListErrors(t *testing.T) {
	var p struct {
		F dredge.Floats `json:"f"`
		I dredge.Ints   `json:"i"`
	}
	for _, c := range []struct{ in, field, value string }{
		{`{"f":[1,null]}`, "f.[1]", "null"},
		{`{"f":[1,2,"3"]}`, "f.[2]", "string"},
		{`{"f":[1e400]}`, "f.[0]", "number 1e400"},
		{`{"f":"x"}`, "f", "string"},
		{`{"i":[1,false]}`, "i.[1]", "false"},
		{`{"i":[1.5]}`, "i.[0]", "number 1.5"},
		{`{"i":[9223372036854775808]}`, "i.[0]", "number 9223372036854775808"},
	} {
		for name, unmarshal := range map[string]func([]byte, any) error{"encoding/json": json.Unmarshal, "jsonx": jsonx.Unmarshal} {
			err := unmarshal([]byte(c.in), &p)
			var te *json.UnmarshalTypeError
			if !errors.As(err, &te) || te.Field != c.field || jsonx.Kind(te.Value) != c.value {
				t.Errorf("%s %s: got %v (%#v), want field %q value %q", name, c.in, err, te, c.field, c.value)
			}
		}
	}
	if err := json.Unmarshal([]byte(`{"f":[1,-2.5e3],"i":[-1,0,7]}`), &p); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.F, dredge.Floats{1, -2500}) || !reflect.DeepEqual(p.I, dredge.Ints{-1, 0, 7}) {
		t.Errorf("got %v %v", p.F, p.I)
	}
}

// TestInputsDecode checks decoded inputs against encoding/json's reading
// of the same JSON, and the errors of bad ones.
func TestInputsDecode(t *testing.T) {
	for _, c := range []struct {
		in   string
		want dredge.Inputs
	}{
		{`{"x":[1,2.5,-3e-2],"t":[0,0,1E2]}`, dredge.Inputs{"x": dredge.Column(1, 2.5, -0.03), "t": dredge.Column(0, 0, 100)}},
		{" \n{ \"x\" : [ 1 , 2 ] ,\t\"t\":[3,4] } \r\n", dredge.Inputs{"x": dredge.Column(1, 2), "t": dredge.Column(3, 4)}},
		{`{"x":[[1,2],[3,4],[5,6]]}`, dredge.Inputs{"x": dredge.Rows([]float64{1, 2}, []float64{3, 4}, []float64{5, 6})}},
		{`[[1,2],[3,4]]`, dredge.Inputs{"x": dredge.Rows([]float64{1, 2}, []float64{3, 4})}},
		{`[1,2]`, dredge.Inputs{"x": dredge.Column(1, 2)}},
		{`{"x":[1],"x":[2]}`, dredge.Inputs{"x": dredge.Column(2)}},
		{`{"\u0078\n":[1],"é":[2]}`, dredge.Inputs{"x\n": dredge.Column(1), "é": dredge.Column(2)}},
		{`{}`, dredge.Inputs{}},
		{`null`, nil},
		{`{"x":[-0,0.0,1e-400]}`, dredge.Inputs{"x": dredge.Column(0, 0, 0)}},
	} {
		var in dredge.Inputs
		if err := json.Unmarshal([]byte(c.in), &in); err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		if len(in) != len(c.want) || (in == nil) != (c.want == nil) {
			t.Errorf("%s: got %v, want %v", c.in, in, c.want)
		}
		for k, v := range c.want {
			if got := in[k]; got.Width != v.Width || !reflect.DeepEqual(append([]float64{}, got.Data...), append([]float64{}, v.Data...)) {
				t.Errorf("%s: %q = %v, want %v", c.in, k, got, v)
			}
		}
	}
	for _, c := range []struct{ in, field string }{
		{`{"x":[1,2,null]}`, "inputs.x[2]"},
		{`{"x":[[1,2],[3]]}`, "inputs.x[1]"},
		{`{"x":[[1,2],3]}`, "inputs.x[1]"},
		{`{"x":[1,[2]]}`, "inputs.x[1]"},
		{`{"x":[[]]}`, "inputs.x[0]"},
		{`{"x":[[1],[2,"a"]]}`, "inputs.x[1][1]"},
		{`{"x":5}`, "inputs.x"},
		{`{"x":null}`, "inputs.x"},
		{`5`, "inputs"},
		{`"x"`, "inputs"},
		{`[1,true]`, "inputs[1]"},
	} {
		var in dredge.Inputs
		err := json.Unmarshal([]byte(c.in), &in)
		var fe *dredge.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, dredge.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want a FieldError on %s", c.in, err, c.field)
		}
	}
	// Values decodes on its own; errors name the element.
	var v dredge.Values
	if err := json.Unmarshal([]byte(`[[1,2],[3,4]]`), &v); err != nil || v.Width != 2 || len(v.Data) != 4 {
		t.Errorf("Values: %v %v", v, err)
	}
	var fe *dredge.FieldError
	if err := json.Unmarshal([]byte(`[1,"2"]`), &v); !errors.As(err, &fe) || fe.Field != "[1]" {
		t.Errorf("Values: got %v, want a FieldError on [1]", err)
	}
}

// FuzzInputs checks that no input makes the decoders of numeric arrays
// panic, that what they accept is valid JSON, and that accepted flat
// columns read as encoding/json reads them.
func FuzzInputs(f *testing.F) {
	for _, s := range []string{
		`{"x":[1,2,3],"t":[0,0,0]}`, `{"x":[[1,2],[3,4]]}`, `[1,2]`, `[[1],[2]]`, `null`, `{}`, `[]`,
		`{"x":[1,null]}`, `{"x":[1e400]}`, `{"\u00e9\"":[1]}`, `{"x":[-0.5e-3,1E+2]}`, `{"x":[01]}`,
		`{"x":[1,]}`, `{"x":[1]`, `{"x":[[1,2],[3]]}`, `[[[1]]]`, `{"x":[1]} x`, "{\"\xff\":[1]}", `[1.]`, `[-]`, `[1e]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var in dredge.Inputs
		err := in.UnmarshalJSON(b)
		if err == nil && !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
		var plain map[string][]float64
		if err == nil && json.Valid(b) && json.Unmarshal(b, &plain) == nil {
			for k, col := range plain {
				if v := in[k]; v.Width == 0 && !reflect.DeepEqual(append([]float64{}, v.Data...), append([]float64{}, col...)) {
					t.Fatalf("%q: %q = %v, encoding/json reads %v", b, k, v.Data, col)
				}
			}
		}
		var (
			v  dredge.Values
			fl dredge.Floats
			is dredge.Ints
			pv dredge.ParamValue
		)
		for _, u := range []json.Unmarshaler{&v, &fl, &is, &pv} {
			if err := u.UnmarshalJSON(b); err == nil && !json.Valid(b) {
				t.Fatalf("%T accepted invalid JSON %q", u, b)
			}
		}
		_ = jsonx.Unmarshal(b, &in)
	})
}
