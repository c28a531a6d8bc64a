package cache

import (
	"bytes"
	"math"
	"reflect"
	"testing"
)

// TestFingerprintFastPaths checks the written-out encodings of the typed
// keys against the reflective struct encoding they stand for: a change to
// either that is not made to both would change stored keys silently.
func TestFingerprintFastPaths(t *testing.T) {
	keys := []any{
		UnifiedKey{},
		UnifiedKey{Insight: "a", Coords: []float64{0.5}, Modes: []int{1, 2, 3}},
		UnifiedKey{Insight: "ünïcode", Coords: []float64{math.Copysign(0, -1), math.MaxFloat64, 1e-300}, Modes: []int{}},
		UnifiedKey{Coords: make([]float64, 300), Modes: make([]int, 200)},
		SpectrumKey{},
		SpectrumKey{MaxModes: 10, Dimensions: 26},
		SpectrumKey{MaxModes: -1, Dimensions: math.MaxInt},
	}
	for _, k := range keys {
		var fast, slow encoder
		if err := fast.encode(k); err != nil {
			t.Fatalf("%#v: %v", k, err)
		}
		if err := slow.value(reflect.ValueOf(k)); err != nil {
			t.Fatalf("%#v: %v", k, err)
		}
		if !bytes.Equal(fast.buf, slow.buf) {
			t.Errorf("%#v:\nfast %x\nslow %x", k, fast.buf, slow.buf)
		}
	}
	var e encoder
	if err := e.encode(UnifiedKey{Coords: []float64{math.NaN()}}); err == nil {
		t.Error("NaN coordinate: no error")
	}
}
