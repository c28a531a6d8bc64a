package pipeline_test

import (
	"context"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/pipeline"
)

// BenchmarkLoadTest runs the original's load test: without the cache on
// the typed path, and with the cache and repeats on the hit path.
func BenchmarkLoadTest(b *testing.B) {
	for _, c := range []struct {
		name    string
		cache   bool
		repeats bool
	}{{"no-cache", false, false}, {"cache-repeats", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			var opts []dredge.Option
			if !c.cache {
				opts = append(opts, dredge.WithCache(nil))
			}
			// Metrics off, as the original's pipeline without a collector.
			e := newEngine(b, append(opts, dredge.WithMonitor(nil))...)
			p, err := pipeline.New(e, pipeline.Config{DiscardBodies: true})
			if err != nil {
				b.Fatal(err)
			}
			const n = 100_000
			var tasks int64
			var p99 float64
			for b.Loop() {
				s, err := p.Run(context.Background(), &pipeline.LoadTest{N: n, Repeats: c.repeats}, nil)
				if err != nil || s.Successful != n {
					b.Fatalf("%v %+v", err, s)
				}
				tasks += s.TotalTasks
				p99 = s.Latency.P99
			}
			b.ReportMetric(float64(tasks)/b.Elapsed().Seconds(), "tasks/s")
			b.ReportMetric(p99*1e6, "p99-µs")
		})
	}
}
