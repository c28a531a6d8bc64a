package pipeline_test

import (
	"context"
	"fmt"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/pipeline"
)

// The original's load test: 1,000 unified_inference tasks, every fifth a
// repeat, with the result cache on.
func Example() {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"))
	if err != nil {
		panic(err)
	}
	defer eng.Close()
	p, err := pipeline.New(eng, pipeline.Config{Workers: 2})
	if err != nil {
		panic(err)
	}
	stats, err := p.Run(context.Background(), &pipeline.LoadTest{N: 1000, Repeats: true}, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(stats.TotalTasks, stats.Successful, stats.Failed, stats.CacheHits >= 900)
	// Output: 1000 1000 0 true
}

// Percentiles as the original computes them.
func ExamplePercentile() {
	latencies := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	fmt.Printf("median %.1f, p95 %.2f, p99 %.2f\n",
		pipeline.Median(latencies), pipeline.Percentile(latencies, 95), pipeline.Percentile(latencies, 99))
	// Output: median 5.5, p95 10.45, p99 10.89
}
