package jsonx_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/internal/jsonx"
)

type params struct {
	N int                  `json:"n"`
	S string               `json:"s"`
	F []float64            `json:"f"`
	M map[string][]float64 `json:"m"`
}

// TestErrorsAsEncodingJSON checks that Unmarshal's errors have the shapes
// and words of encoding/json's.
func TestErrorsAsEncodingJSON(t *testing.T) {
	for _, c := range []struct {
		in, field, value string
	}{
		{`{"n":"1"}`, "n", "string"},
		{`{"n":true}`, "n", "bool"},
		{`{"n":1e400}`, "n", "number 1e400"},
		{`{"n":1.5}`, "n", "number 1.5"},
		{`{"n":99999999999999999999}`, "n", "number 99999999999999999999"},
		{`{"n":[1]}`, "n", "array"},
		{`{"n":{}}`, "n", "object"},
		{`{"s":5}`, "s", "number 5"},
		{`{"f":[1,"x"]}`, "f", "string"},
		{`{"m":{"k":[1,{}]}}`, "m.k", "object"},
	} {
		var p params
		err := jsonx.Unmarshal([]byte(c.in), &p)
		var te *json.UnmarshalTypeError
		if !errors.As(err, &te) {
			t.Errorf("%s: got %v, want a *json.UnmarshalTypeError", c.in, err)
			continue
		}
		if te.Value != c.value || !strings.HasPrefix(te.Field, c.field) {
			t.Errorf("%s: got value %q field %q, want %q %q", c.in, te.Value, te.Field, c.value, c.field)
		}
	}
	for _, in := range []string{`{"n":1`, `{"n":1}x`, `{"n":01}`, `{"f":[1,2}`, `{"f":[NaN]}`, `{"s":"x",}`} {
		var p params
		err := jsonx.Unmarshal([]byte(in), &p)
		want := json.Unmarshal([]byte(in), new(params))
		var se *json.SyntaxError
		if !errors.As(err, &se) || err.Error() != want.Error() || se.Offset == 0 {
			t.Errorf("%s: got %v, want encoding/json's %v", in, err, want)
		}
	}
}

func TestKind(t *testing.T) {
	for in, want := range map[string]string{
		"string": "string", "number": "number", "number 1e400": "number 1e400", "bool": "bool",
		`"\"x\"}"`: "string", `"1e400"`: "number 1e400", `"-2, 3]"`: "number -2", `"true}"`: "bool",
		`"null"`: "null", `"[1]"`: "array", `"{}"`: "object", "number 1e400 overflows": "number 1e400", "number 1e400} overflows": "number 1e400",
		"null": "null", "": "",
	} {
		if got := jsonx.Kind(in); got != want {
			t.Errorf("Kind(%q) = %q, want %q", in, got, want)
		}
	}
}
