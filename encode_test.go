package dredge

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/dredge-cli/dredge/stringtheory"
)

// TestAppendJSONMatchesEncodingJSON checks the hand-written encoders
// against encoding/json on awkward strings and numbers.
func TestAppendJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "plain", "quote\" back\\slash", "<html>&amp;", "tab\tnl\ncr\r\x00\x1f", "é ünï 中文 🎉", "bad \xff utf8", "\u2028\u2029"}
	for _, s := range strs {
		want, _ := json.Marshal(s)
		if got := appendString(nil, s); string(got) != string(want) {
			t.Errorf("appendString(%q) = %s, want %s", s, got, want)
		}
	}
	floats := []float64{0, math.Copysign(0, -1), 1, -1.5, 1e-7, 1.5e-6, 123456789, 1e20, 1e21, 1.7976931348623157e308, 5e-324, math.Pi, 0.1 + 0.2, -2.5e-10}
	for _, f := range floats {
		want, _ := json.Marshal(f)
		got, err := appendFloat(nil, f)
		if err != nil || string(got) != string(want) {
			t.Errorf("appendFloat(%v) = %s, want %s", f, got, want)
		}
	}
	r := &UnifiedResult{Success: true}
	r.UnifiedResult, _ = stringtheory.DefaultVibration.UnifiedInference("x<y>\"", []float64{0.25, -3}, []int{2, 7})
	r.Device = "cpu"
	type plain UnifiedResult // no AppendJSON: encoding/json's own output
	checkAppend(t, r, (*plain)(r))

	for _, out := range []Values{Column(1, -2.5e-9, 3e21), Rows([]float64{1, 2}, []float64{3, 4.25})} {
		inf := &InferenceResult{Success: true, ModelID: "siren_<0>", Output: out, Cached: true}
		type plainInf InferenceResult
		checkAppend(t, inf, (*plainInf)(inf))
	}
}

// checkAppend requires a's AppendJSON to write what encoding/json writes
// for plain, the same value without the method.
func checkAppend(t *testing.T, a jsonAppender, plain any) {
	t.Helper()
	got, err := a.AppendJSON(nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(plain)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Errorf("AppendJSON\n got %s\nwant %s", got, want)
	}
}
