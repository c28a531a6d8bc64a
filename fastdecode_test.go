package dredge

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// fastTypes are the types with a fast decoder, each made zero and made
// filled (to check that null and absent keys leave fields as
// encoding/json leaves them). Each call returns a value of its own.
var fastTypes = []struct {
	name         string
	zero, filled func() fastDecoder
}{
	{"Request",
		func() fastDecoder { return new(Request) },
		func() fastDecoder { return &Request{Operation: "lift", Params: json.RawMessage(`{"x":1}`)} }},
	{"UnifiedParams",
		func() fastDecoder { return new(UnifiedParams) },
		func() fastDecoder {
			return &UnifiedParams{Insight: "before", Coords: &[]float64{7, 8, 9}, Modes: &[]int{4, 5, 6}}
		}},
	{"LiftParams",
		func() fastDecoder { return new(LiftParams) },
		func() fastDecoder { s := "before"; return &LiftParams{InsightText: &s} }},
	{"SpectrumParams",
		func() fastDecoder { return new(SpectrumParams) },
		func() fastDecoder { m, d := 7, 8; return &SpectrumParams{MaxModes: &m, Dimensions: &d} }},
}

// checkFast decodes data with every fast decoder, into zero and filled
// values. Where one declines, the value must be unchanged; where one
// accepts, json.Unmarshal must succeed and give the same value, which must
// not share data's memory. It returns the names of the types whose fast
// decoder accepted data into a zero value.
func checkFast(t *testing.T, data []byte) (accepted []string) {
	t.Helper()
	for _, ft := range fastTypes {
		for i, mk := range []func() fastDecoder{ft.zero, ft.filled} {
			in := bytes.Clone(data)
			got := mk()
			if !got.decodeFast(in) {
				if !reflect.DeepEqual(got, mk()) {
					t.Fatalf("%s.decodeFast(%q) declined but changed the value to %+v", ft.name, data, got)
				}
				continue
			}
			if i == 0 {
				accepted = append(accepted, ft.name)
			}
			want := mk()
			if err := json.Unmarshal(data, want); err != nil {
				t.Fatalf("%s.decodeFast(%q) accepted, json.Unmarshal: %v", ft.name, data, err)
			}
			for j := range in {
				in[j] = 'X'
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s.decodeFast(%q) = %s, json.Unmarshal gives %s", ft.name, data, dump(got), dump(want))
			}
		}
	}
	return accepted
}

// dump shows a decoded value, pointers followed.
func dump(v fastDecoder) string {
	b, _ := json.Marshal(v)
	return string(b)
}

const unifiedBody = `{"dredge_insight":"x","quasimoto_coords":[0.5],"string_modes":[1,2,3]}`

// fastAccepts are inputs that the named type's fast decoder must decode.
var fastAccepts = []struct{ typ, data string }{
	{"UnifiedParams", unifiedBody},
	{"UnifiedParams", "\r\n\t {\n  \"dredge_insight\" : \"x\" ,\n  \"quasimoto_coords\" : [ 0.5 , -1e-3 ] ,\n  \"string_modes\":[ 1 ]\n}\n "},
	{"UnifiedParams", `{}`},
	{"UnifiedParams", "{\"dredge_insight\":\"é 中文 🎉 \u2028 \uFFFD end\"}"},
	{"UnifiedParams", `{"dredge_insight":null,"quasimoto_coords":null,"string_modes":null}`},
	{"UnifiedParams", `{"quasimoto_coords":[],"string_modes":[]}`},
	{"UnifiedParams", `{"quasimoto_coords":[-0,0.0,1E+2,-1.5e-7,1.7976931348623157e308,5e-324,1e-400],"string_modes":[-0,9223372036854775807,-9223372036854775808]}`},
	{"UnifiedParams", `{"dredge_insight":"a","dredge_insight":"b","string_modes":[1,2,3],"string_modes":[4]}`},
	{"UnifiedParams", `{"dredge_insight":"a","dredge_insight":null,"string_modes":[1],"string_modes":null}`},
	{"UnifiedParams", `{"extra":{"a":[true,false,null,"\u00e9\n\"\\\/\b\f\r\t",{"b":-0.5e10}],"":{}},"dredge_insight":"y","x":"` + "\xff\x80" + `"}`},
	{"UnifiedParams", `{"dredge_insights":1,"string_mode":[],"Dredge-Insight":"z"}`},
	{"Request", `{"operation":"unified_inference","params":` + unifiedBody + `}`},
	{"Request", `{ "params" : { "max_modes" : 3 } , "operation" : "string_spectrum" }`},
	{"Request", `{"operation":"list_capabilities"}`},
	{"Request", `{"operation":"lift","params":null}`},
	{"Request", `{"operation":"no_such_op","params":[1, 2,"\u0000"]}`},
	{"Request", `{"operation":"x","params":-12.5e3,"id":42}`},
	{"Request", `{"operation":"lift","params":{"a":1},"params":true}`},
	{"Request", `{"operation":null,"params":{"dredge_insight":"\ud800"}}`},
	{"LiftParams", `{"insight_text":"hello"}`},
	{"LiftParams", `{"insight_text":""}`},
	{"LiftParams", `{"insight_text":null}`},
	{"SpectrumParams", `{"max_modes":5,"dimensions":26}`},
	{"SpectrumParams", `{"max_modes":-0,"dimensions":null}`},
	{"SpectrumParams", `{"max_modes":1000000000,"energy_scale":2}`},
}

// fastDeclines are inputs that the named type's fast decoder must decline,
// valid JSON or not.
var fastDeclines = []struct{ typ, data string }{
	// Strings encoding/json would transform.
	{"UnifiedParams", `{"dredge_insight":"a\"b"}`},
	{"UnifiedParams", `{"dredge_insight":"\u00e9"}`},
	{"UnifiedParams", "{\"dredge_insight\":\"\xff\"}"},
	{"UnifiedParams", "{\"dredge_insight\":\"\xed\xa0\x80\"}"},
	{"UnifiedParams", "{\"dredge_insight\":\"a\tb\"}"},
	{"LiftParams", `{"insight_text":"a\nb"}`},
	// Keys encoding/json matches case-insensitively or unescapes.
	{"UnifiedParams", `{"Dredge_Insight":"x"}`},
	{"UnifiedParams", `{"STRING_MODES":[1]}`},
	{"UnifiedParams", `{"dredge_inſight":"x"}`},
	{"SpectrumParams", `{"max_modes":3,"max_modeſ":4}`},
	{"UnifiedParams", `{"dredge_insigh\u0074":"x"}`},
	{"UnifiedParams", `{"x\u0000":1}`},
	{"Request", `{"Operation":"lift"}`},
	{"Request", `{"PARAMS":{}}`},
	// Numbers that do not fit, and wrong types.
	{"UnifiedParams", `{"string_modes":[1.0]}`},
	{"UnifiedParams", `{"string_modes":[1e2]}`},
	{"UnifiedParams", `{"string_modes":[9223372036854775808]}`},
	{"UnifiedParams", `{"quasimoto_coords":[1e400]}`},
	{"UnifiedParams", `{"quasimoto_coords":[-1e400]}`},
	{"UnifiedParams", `{"quasimoto_coords":[null]}`},
	{"UnifiedParams", `{"string_modes":[1,null]}`},
	{"UnifiedParams", `{"dredge_insight":5}`},
	{"UnifiedParams", `{"dredge_insight":true}`},
	{"UnifiedParams", `{"quasimoto_coords":"x"}`},
	{"UnifiedParams", `{"quasimoto_coords":{}}`},
	{"UnifiedParams", `{"quasimoto_coords":0.5}`},
	{"UnifiedParams", `{"string_modes":["1"]}`},
	{"SpectrumParams", `{"max_modes":2.5}`},
	{"SpectrumParams", `{"max_modes":"3"}`},
	{"SpectrumParams", `{"dimensions":true}`},
	{"LiftParams", `{"insight_text":42}`},
	{"Request", `{"operation":5}`},
	{"Request", `{"operation":["lift"]}`},
	// Invalid JSON, anywhere.
	{"UnifiedParams", ``},
	{"UnifiedParams", ` `},
	{"UnifiedParams", `null`},
	{"UnifiedParams", `[]`},
	{"UnifiedParams", `"x"`},
	{"UnifiedParams", `{`},
	{"UnifiedParams", `{"dredge_insight":"x"`},
	{"UnifiedParams", `{"dredge_insight":"x}`},
	{"UnifiedParams", `{"dredge_insight"`},
	{"UnifiedParams", `{"string_modes":[1,2`},
	{"UnifiedParams", `{"string_modes":[1,]}`},
	{"UnifiedParams", `{"string_modes":[,1]}`},
	{"UnifiedParams", `{"string_modes":[1 2]}`},
	{"UnifiedParams", `{} x`},
	{"UnifiedParams", `{}{}`},
	{"UnifiedParams", `{},`},
	{"UnifiedParams", "{}\x00"},
	{"UnifiedParams", "\ufeff{}"},
	{"UnifiedParams", "{\f}"},
	{"UnifiedParams", "{\v}"},
	{"UnifiedParams", "{}\u00a0"},
	{"UnifiedParams", `{,}`},
	{"UnifiedParams", `{"a":1,}`},
	{"UnifiedParams", `{"a" 1}`},
	{"UnifiedParams", `{"a":}`},
	{"UnifiedParams", `{a:1}`},
	{"UnifiedParams", `{'a':1}`},
	{"UnifiedParams", `{"a":01}`},
	{"UnifiedParams", `{"a":-}`},
	{"UnifiedParams", `{"a":1.}`},
	{"UnifiedParams", `{"a":.5}`},
	{"UnifiedParams", `{"a":1e}`},
	{"UnifiedParams", `{"a":1e+}`},
	{"UnifiedParams", `{"a":+1}`},
	{"UnifiedParams", `{"a":0x10}`},
	{"UnifiedParams", `{"a":NaN}`},
	{"UnifiedParams", `{"a":Infinity}`},
	{"UnifiedParams", `{"a":tru}`},
	{"UnifiedParams", `{"a":nul}`},
	{"UnifiedParams", `{"a":True}`},
	{"UnifiedParams", "{\"a\":\"\x01\"}"},
	{"UnifiedParams", `{"a":"\q"}`},
	{"UnifiedParams", `{"a":"\u12"}`},
	{"UnifiedParams", `{"a":"\u12G4"}`},
	{"UnifiedParams", `{"a":"\u123g"}`},
	{"UnifiedParams", `{"a":{"b"}}`},
	{"UnifiedParams", `{"a":{"b":1,}}`},
	{"UnifiedParams", `{"a":{1:2}}`},
	{"UnifiedParams", `{"a":[1,2,,]}`},
	{"UnifiedParams", `{"a":[}`},
	{"UnifiedParams", `{"dredge_insight":nullx}`},
	{"SpectrumParams", `{"max_modes":3 "dimensions":4}`},
	{"Request", `{"operation":"lift","params":{"insight_text":}}`},
	{"Request", `{"operation":"lift","params":[1,2,}`},
	{"Request", `{"operation":"lift","params":{"a":"\x"}}`},
	{"Request", `{"operation":"lift","params":}`},
	{"Request", `{"operation":"lift","params":{}} {}`},
	// Too deep for the fast path (encoding/json reads it).
	{"Request", `{"params":` + strings.Repeat("[", maxFastDepth) + strings.Repeat("]", maxFastDepth) + `}`},
}

func TestFastDecodeAccepts(t *testing.T) {
	for _, c := range fastAccepts {
		if got := checkFast(t, []byte(c.data)); !contains(got, c.typ) {
			t.Errorf("%s.decodeFast(%q) declined", c.typ, c.data)
		}
	}
	// One level less deep than the bound is read.
	deep := `{"params":` + strings.Repeat("[", maxFastDepth-1) + strings.Repeat("]", maxFastDepth-1) + `}`
	if got := checkFast(t, []byte(deep)); !contains(got, "Request") {
		t.Errorf("Request.decodeFast declined nesting to depth %d", maxFastDepth)
	}
}

func TestFastDecodeDeclines(t *testing.T) {
	for _, c := range fastDeclines {
		if got := checkFast(t, []byte(c.data)); contains(got, c.typ) {
			t.Errorf("%s.decodeFast(%q) accepted", c.typ, c.data)
		}
	}
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// TestEncodingJSONSubtleties pins down the encoding/json behaviours that
// the fast decoders copy or decline.
func TestEncodingJSONSubtleties(t *testing.T) {
	var r Request
	if err := json.Unmarshal([]byte(`{"operation":"lift","params":null}`), &r); err != nil || r.Params == nil || string(r.Params) != "null" {
		t.Errorf(`"params": null gives Params %q (nil %v), err %v; want "null"`, r.Params, r.Params == nil, err)
	}
	r = Request{}
	if err := json.Unmarshal([]byte(`{"operation":"lift"}`), &r); err != nil || r.Params != nil {
		t.Errorf("absent params give Params %q, err %v; want nil", r.Params, err)
	}
	var u UnifiedParams
	if err := json.Unmarshal([]byte(`{"dredge_inſight":"x","STRING_modes":[]}`), &u); err != nil || u.Insight != "x" || u.Modes == nil || *u.Modes == nil {
		t.Errorf("folded keys give %+v, err %v; want them matched, and [] a non-nil empty slice", u, err)
	}
	u = UnifiedParams{Insight: "kept"}
	if err := json.Unmarshal([]byte(`{"dredge_insight":null}`), &u); err != nil || u.Insight != "kept" {
		t.Errorf("null gives insight %q, err %v; want it kept", u.Insight, err)
	}
	u = UnifiedParams{}
	if err := json.Unmarshal([]byte("{\"dredge_insight\":\"\xff\"}"), &u); err != nil || u.Insight != "\uFFFD" {
		t.Errorf("invalid UTF-8 gives insight %q, err %v; want U+FFFD", u.Insight, err)
	}
}

// TestFastDecodeAnswersUnchanged checks that HandleRequest and CallJSON
// answer byte for byte the same with and without the fast decoders.
func TestFastDecodeAnswersUnchanged(t *testing.T) {
	e, err := New(WithDeviceKind("cpu"), WithCache(nil))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	t.Cleanup(func() { fastDecodeOff.Store(false) })
	answers := func(body []byte, op string, params []byte) (string, string) {
		ctx := context.Background()
		b1, c1 := e.HandleRequest(ctx, body)
		b2, c2 := e.CallJSON(ctx, op, params)
		return string(c1) + " " + string(b1), string(c2) + " " + string(b2)
	}
	var bodies [][]byte
	for _, c := range append(fastAccepts, fastDeclines...) {
		bodies = append(bodies, []byte(c.data))
	}
	for _, c := range fastDeclines {
		if c.typ != "Request" {
			bodies = append(bodies, []byte(`{"operation":"unified_inference","params":`+c.data+`}`))
		}
	}
	ops := []string{"unified_inference", "lift", "string_spectrum", "list_capabilities", "no_such_op", ""}
	for _, body := range bodies {
		for _, op := range ops {
			fastDecodeOff.Store(false)
			req1, call1 := answers(body, op, body)
			fastDecodeOff.Store(true)
			req2, call2 := answers(body, op, body)
			if req1 != req2 {
				t.Errorf("HandleRequest(%q):\nfast:          %s\nencoding/json: %s", body, req1, req2)
			}
			if call1 != call2 {
				t.Errorf("CallJSON(%q, %q):\nfast:          %s\nencoding/json: %s", op, body, call1, call2)
			}
		}
	}
}

func FuzzFastDecode(f *testing.F) {
	for _, c := range append(fastAccepts, fastDeclines...) {
		f.Add([]byte(c.data))
	}
	for _, s := range []string{
		`{"dredge_insight":"x","quasimoto_coords":[0.5],"string_modes":[1,2,3],"extra":{"k":[1,{"z":null}]}}`,
		`{"operation":"string_spectrum","params":{"max_modes":10,"dimensions":26}}`,
		`{"insight_text":"lift me","insight_text":null,"insight_text":"again"}`,
		`{"max_modes":-9223372036854775809}`,
		`{"quasimoto_coords":[2.2250738585072011e-308,4.9406564584124654e-324,1.7976931348623159e308]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkFast(t, data)
	})
}

func BenchmarkDecodeParams(b *testing.B) {
	envelope := []byte(`{"operation":"unified_inference","params":{"dredge_insight":"insight 1764","quasimoto_coords":[0.5],"string_modes":[1,2,3]}}`)
	unified := []byte(`{"dredge_insight":"insight 1764","quasimoto_coords":[0.5],"string_modes":[1,2,3]}`)
	for _, mode := range []struct {
		name string
		off  bool
	}{{"fast", false}, {"encoding_json", true}} {
		b.Run("envelope/"+mode.name, func(b *testing.B) {
			benchDecode[Request](b, envelope, mode.off)
		})
		b.Run("unified/"+mode.name, func(b *testing.B) {
			benchDecode[UnifiedParams](b, unified, mode.off)
		})
	}
}

func benchDecode[P any](b *testing.B, data []byte, off bool) {
	fastDecodeOff.Store(off)
	b.Cleanup(func() { fastDecodeOff.Store(false) })
	b.ReportAllocs()
	for b.Loop() {
		var p P
		if err := decodeParams(data, &p); err != nil {
			b.Fatal(err)
		}
	}
}
