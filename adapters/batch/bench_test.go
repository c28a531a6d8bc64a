package batch_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/batch"
)

// BenchmarkRun runs JSONL batches of unified_inference tasks from memory
// to io.Discard: without the cache, 30 distinct tasks with it (the hit
// path), in completion and in input order.
func BenchmarkRun(b *testing.B) {
	const n = 100_000
	var in bytes.Buffer
	for i := range n {
		k := i % 30
		fmt.Fprintf(&in, `{"id":"task_%d","operation":"unified_inference","params":{"dredge_insight":"insight %d","quasimoto_coords":[%g,%g,%g],"string_modes":[%d,%d,3]}}`+"\n",
			i, k%5, 0.1*float64(k%10), 0.2*float64(k%5), 0.3*float64(k%3), 1+k%3, 2+k%2)
	}
	for _, c := range []struct {
		name    string
		cache   bool
		ordered bool
	}{{"no-cache", false, false}, {"cache", true, false}, {"cache-ordered", true, true}} {
		b.Run(c.name, func(b *testing.B) {
			var opts []dredge.Option
			if !c.cache {
				opts = append(opts, dredge.WithCache(nil))
			}
			eng := newEngine(b, opts...)
			var tasks int64
			for b.Loop() {
				s, err := batch.Run(context.Background(), eng, bytes.NewReader(in.Bytes()), io.Discard, batch.Options{Ordered: c.ordered})
				if err != nil || s.Successful != n {
					b.Fatalf("%v %+v", err, s)
				}
				tasks += s.TotalTasks
			}
			b.ReportMetric(float64(tasks)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}
