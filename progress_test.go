package dredge_test

import (
	"context"
	"testing"

	"github.com/dredge-cli/dredge"
)

// TestBenchmarkReportsProgress: benchmark reports its epochs, increasing,
// at most one report per 1% of them (or 100 ms), ending at the last one.
func TestBenchmarkReportsProgress(t *testing.T) {
	e, err := dredge.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var got []dredge.Progress
	ctx := dredge.WithProgress(context.Background(), func(p dredge.Progress) { got = append(got, p) })
	epochs := 500
	res, err := e.Benchmark(ctx, &dredge.BenchmarkParams{ModelType: "quasimoto_1d", Config: dredge.ModelConfig{Epochs: &epochs}})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) < 1 || len(got) > 100+int(res.Seconds*10)+1 {
		t.Fatalf("%d reports of %d epochs in %.2fs", len(got), epochs, res.Seconds)
	}
	for i, p := range got {
		if p.Total != int64(epochs) || p.Done < 1 || i > 0 && p.Done <= got[i-1].Done || p.Message == "" || p.Loss == nil || !(*p.Loss > 0) {
			t.Fatalf("report %d: %+v (after %+v)", i, p, got[max(i-1, 0)])
		}
	}
	if last := got[len(got)-1]; last.Done != int64(epochs) {
		t.Errorf("last report %+v, want done %d", last, epochs)
	} else if first := got[0]; !(*last.Loss < *first.Loss) {
		t.Errorf("loss %g at epoch %d, %g at the end: want it to fall", *first.Loss, first.Done, *last.Loss)
	}
}

// BenchmarkTrainingProgress compares benchmark with and without a progress
// listener: the reports must cost nothing measurable.
func BenchmarkTrainingProgress(b *testing.B) {
	e, err := dredge.New()
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	epochs := 200
	p := &dredge.BenchmarkParams{ModelType: "quasimoto_1d", Config: dredge.ModelConfig{Epochs: &epochs}}
	for _, c := range []struct {
		name string
		ctx  context.Context
	}{
		{"none", context.Background()},
		{"listener", dredge.WithProgress(context.Background(), func(dredge.Progress) {})},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := e.Benchmark(c.ctx, p); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*epochs), "ns/epoch")
		})
	}
}
