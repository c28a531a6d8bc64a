package stringtheory_test

import (
	"slices"
	"testing"

	"github.com/dredge-cli/dredge/stringtheory"
)

// TestUnifiedInferenceSharesTheField: every result carries the default
// field's values without a copy, capped so that an append to them copies
// instead of writing into the shared arrays.
func TestUnifiedInferenceSharesTheField(t *testing.T) {
	def := stringtheory.DefaultUnifiedField()
	want := [2][]float64{slices.Clone(def.X), slices.Clone(def.Amplitudes)}
	a, err := stringtheory.DefaultVibration.UnifiedInference("a", []float64{0.5}, []int{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	b, err := stringtheory.DefaultVibration.UnifiedInference("b", []float64{0.25, 0.75}, []int{2})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []stringtheory.UnifiedResult{a, b} {
		f := r.UnifiedField
		if !slices.Equal(f.X, def.X) || !slices.Equal(f.Amplitudes, def.Amplitudes) || f.Dimensions != stringtheory.DefaultVibration.Dimensions {
			t.Fatalf("field %+v, want the default field", f)
		}
		if &f.X[0] != &def.X[0] || &f.Amplitudes[0] != &def.Amplitudes[0] {
			t.Error("the field was copied")
		}
		if cap(f.X) != len(f.X) || cap(f.Amplitudes) != len(f.Amplitudes) {
			t.Errorf("capacities %d and %d past lengths %d and %d", cap(f.X), cap(f.Amplitudes), len(f.X), len(f.Amplitudes))
		}
	}
	grown := append(a.UnifiedField.X, 2)
	grown[0] = 42
	if !slices.Equal(b.UnifiedField.X, want[0]) || !slices.Equal(stringtheory.DefaultUnifiedField().X, want[0]) {
		t.Error("appending to one result's field changed the others'")
	}
}
