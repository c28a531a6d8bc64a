package dredge_test

import (
	"context"
	"encoding/json"
	"strconv"
	"testing"

	"github.com/dredge-cli/dredge"
)

// BenchmarkUnifiedInference measures the typed unified_inference on one
// goroutine (the reference Python served about 4,500 per second):
// "computed" without a cache, "cached" with the default memory cache and
// the request repeated, so that each call copies the stored answer.
func BenchmarkUnifiedInference(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  dredge.Option
	}{{"computed", dredge.WithCache(nil)}, {"cached", nil}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEngine(b, c.opt)
			ctx := context.Background()
			coords := dredge.Floats{0.5}
			p := &dredge.UnifiedParams{Insight: "a distinct insight", Coords: &coords}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := e.UnifiedInference(ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkUnifiedInferenceJSON measures unified_inference through the
// operation table, JSON params in and JSON response out, as the adapters
// call it: "uncached" without a cache, "cached" with the default memory
// cache and the request repeated (every call after the first is a hit).
func BenchmarkUnifiedInferenceJSON(b *testing.B) {
	params := json.RawMessage(`{"dredge_insight":"a distinct insight","quasimoto_coords":[0.5],"string_modes":[1,2,3]}`)
	for _, c := range []struct {
		name string
		opt  dredge.Option
	}{{"uncached", dredge.WithCache(nil)}, {"cached", nil}} {
		b.Run(c.name, func(b *testing.B) {
			e := newEngine(b, c.opt)
			ctx := context.Background()
			e.CallJSON(ctx, "unified_inference", params)
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, code := e.CallJSON(ctx, "unified_inference", params); code != dredge.CodeOK {
					b.Fatal(code)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}

// BenchmarkUnifiedInferenceMiss is the HTTP load test's request without
// the HTTP: the legacy envelope through HandleRequest with a distinct
// insight each time, so that every call misses the default memory cache
// and stores its answer.
func BenchmarkUnifiedInferenceMiss(b *testing.B) {
	e := newEngine(b)
	ctx := context.Background()
	prefix := []byte(`{"operation":"unified_inference","params":{"dredge_insight":"insight `)
	suffix := []byte(`","quasimoto_coords":[0.5],"string_modes":[1,2,3]}}`)
	req := make([]byte, 0, 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		req = append(strconv.AppendInt(append(req[:0], prefix...), int64(i), 10), suffix...)
		if _, code := e.HandleRequest(ctx, req); code != dredge.CodeOK {
			b.Fatal(code)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}

// BenchmarkInstrumentation is the pair for the monitor's cost: the same
// uncached unified_inference through the operation table with the default
// monitor (metrics on, spans not exported) and with none.
func BenchmarkInstrumentation(b *testing.B) {
	for _, c := range []struct {
		name string
		opt  dredge.Option
	}{
		{"uninstrumented", dredge.WithMonitor(nil)},
		{"instrumented", nil},
	} {
		b.Run(c.name, func(b *testing.B) {
			e := newEngine(b, dredge.WithCache(nil), c.opt)
			ctx := context.Background()
			params := json.RawMessage(`{"dredge_insight":"a distinct insight","quasimoto_coords":[0.5],"string_modes":[1,2,3]}`)
			b.ResetTimer()
			for b.Loop() {
				if _, code := e.CallJSON(ctx, "unified_inference", params); code != dredge.CodeOK {
					b.Fatal(code)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
		})
	}
}
