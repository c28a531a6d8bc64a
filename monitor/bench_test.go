package monitor_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/dredge-cli/dredge/monitor"
)

// benchMonitors returns the monitors compared by the benchmarks: a no-op
// one, the default (metrics on, spans not exported), and one exporting spans
// to a local OTLP receiver that discards them.
func benchMonitors(b *testing.B) []struct {
	name string
	m    *monitor.Monitor
} {
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	b.Cleanup(sink.Close)
	return []struct {
		name string
		m    *monitor.Monitor
	}{
		{"nop", monitor.Nop()},
		{"default", newMonitor(b, monitor.Config{})},
		{"exported", newMonitor(b, monitor.Config{OTLPEndpoint: sink.URL})},
	}
}

// BenchmarkRecordOperation measures the full per-operation instrumentation
// the Engine performs: start (span), annotate, end (span, counter and
// duration histogram with cached attribute sets).
func BenchmarkRecordOperation(b *testing.B) {
	for _, bm := range benchMonitors(b) {
		b.Run(bm.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, s := bm.m.StartOperation(ctx, "unified_inference")
				s.SetModelType("string_theory")
				s.SetCached(false)
				s.SetDevice("cpu")
				s.End(monitor.OutcomeSuccess)
			}
		})
		b.Run(bm.name+"/parallel", func(b *testing.B) {
			op := bm.m.Operation("unified_inference")
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					_, s := op.Start(ctx)
					s.SetModelType("string_theory")
					s.End(monitor.OutcomeSuccess)
				}
			})
		})
	}
}

func BenchmarkCacheHit(b *testing.B) {
	for _, bm := range benchMonitors(b)[:2] {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bm.m.CacheHit("memory")
			}
		})
	}
}

func BenchmarkTimer(b *testing.B) {
	for _, bm := range benchMonitors(b)[:2] {
		b.Run(bm.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				t := bm.m.Timer("load_weights")
				t.Stop()
			}
		})
	}
}

func BenchmarkSnapshot(b *testing.B) {
	m := newMonitor(b, monitor.Config{})
	workload(b, m)
	b.ReportAllocs()
	for b.Loop() {
		_ = m.Snapshot()
	}
}

// BenchmarkSDKSyncInstruments measures what BenchmarkRecordOperation would
// cost with synchronous OpenTelemetry SDK instruments instead of the
// monitor's atomics: a counter Add and a histogram Record with cached
// attribute sets, plus the clock reads. It is kept as the reference for that
// design choice (see aggregate.go).
func BenchmarkSDKSyncInstruments(b *testing.B) {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	meter := mp.Meter("bench")
	counter, err := meter.Int64Counter("ops")
	if err != nil {
		b.Fatal(err)
	}
	hist, err := meter.Float64Histogram("dur", metric.WithUnit("s"), metric.WithExplicitBucketBoundaries(monitor.DurationBuckets()...))
	if err != nil {
		b.Fatal(err)
	}
	addOpts := []metric.AddOption{metric.WithAttributeSet(attribute.NewSet(
		attribute.String("operation", "unified_inference"), attribute.String("outcome", "success")))}
	recOpts := []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(attribute.String("operation", "unified_inference")))}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		counter.Add(ctx, 1, addOpts...)
		hist.Record(ctx, time.Since(start).Seconds(), recOpts...)
	}
}

// BenchmarkRecordOperationTenant is BenchmarkRecordOperation's default
// monitor for a call of no tenant, of a labelled tenant (one of
// SetTenants'), and of a tenant not in the set, which is counted as the
// first.
func BenchmarkRecordOperationTenant(b *testing.B) {
	m := newMonitor(b, monitor.Config{})
	m.SetTenants([]string{"acme", "globex", "initech"})
	op := m.Operation("unified_inference")
	for _, tenant := range []string{"", "acme", "mallory"} {
		b.Run("tenant="+tenant, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				_, s := op.StartTenant(ctx, tenant)
				s.SetCached(false)
				s.End(monitor.OutcomeSuccess)
			}
		})
	}
}
