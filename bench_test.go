package dredge_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/dredge-cli/dredge"
)

// BenchmarkUnifiedInference measures the typed unified_inference on one
// goroutine (the reference Python served about 4,500 per second).
func BenchmarkUnifiedInference(b *testing.B) {
	e := newEngine(b)
	ctx := context.Background()
	coords := []float64{0.5}
	p := &dredge.UnifiedParams{Insight: "a distinct insight", Coords: &coords}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := e.UnifiedInference(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkUnifiedInferenceJSON measures the same through the operation
// table: JSON params in, JSON response out, as the adapters call it.
func BenchmarkUnifiedInferenceJSON(b *testing.B) {
	e := newEngine(b)
	ctx := context.Background()
	params := json.RawMessage(`{"dredge_insight":"a distinct insight","quasimoto_coords":[0.5],"string_modes":[1,2,3]}`)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, code := e.CallJSON(ctx, "unified_inference", params); code != dredge.CodeOK {
			b.Fatal(code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
