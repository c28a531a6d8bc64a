package pipeline

import (
	"math"
	"slices"
	"sync/atomic"
	"testing"
	"time"
)

func close(a, b, rel float64) bool { return math.Abs(a-b) <= rel*math.Abs(b) }

// The reference's _calculate_percentile and statistics.median on a fixed
// list, computed by the reference's own code (Python 3.11).
func TestPercentileMatchesReference(t *testing.T) {
	data := []float64{0.010, 0.002, 0.003, 0.050, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.001, 0.020, 0.030}
	slices.Sort(data)
	for _, c := range []struct {
		p, want float64
	}{
		{50, 0.007000000000000001},
		{95, 0.055999999999999994}, // past the maximum: the exclusive method extrapolates
		{99, 0.06720000000000001},
		{90, 0.042},
		{25, 0.0034999999999999996},
	} {
		if got := Percentile(data, c.p); !close(got, c.want, 1e-12) {
			t.Errorf("Percentile(%v) = %v, reference %v", c.p, got, c.want)
		}
	}
	if got := Median(data); got != 0.007 {
		t.Errorf("Median = %v, reference 0.007", got)
	}
	d2 := make([]float64, 200)
	for i := range d2 {
		d2[i] = float64(i + 1)
	}
	for p, want := range map[float64]float64{95: 190.95, 99: 198.99, 50: 100.5} {
		if got := Percentile(d2, p); !close(got, want, 1e-12) {
			t.Errorf("Percentile(1..200, %v) = %v, reference %v", p, got, want)
		}
	}
	if got := Percentile([]float64{1, 2}, 95); !close(got, 2.85, 1e-12) {
		t.Errorf("Percentile([1 2], 95) = %v, reference 2.85", got)
	}
	if Percentile(nil, 99) != 0 || Percentile([]float64{3}, 99) != 3 || Median(nil) != 0 || Median([]float64{1, 4}) != 2.5 {
		t.Error("edge cases: none gives 0, one value is its own percentile, an even median averages")
	}
}

// By hand: 1..100 ms; rank p·101/100 interpolates the order statistics.
func TestStatsByHand(t *testing.T) {
	r := &recorder{}
	var left atomic.Int64
	left.Store(exactBudget(2))
	for i := 100; i >= 1; i-- {
		r.add(i%10 != 0, i%4 == 0, time.Duration(i)*time.Millisecond, &left)
	}
	s := merge([]*recorder{r, {}}, 2*time.Second)
	want := Stats{TotalTasks: 100, Successful: 90, Failed: 10, CacheHits: 25, CacheHitRate: 0.25, TotalTime: 2, Throughput: 50,
		Latency: Latency{Min: 0.001, Max: 0.1, Mean: 0.0505, Median: 0.0505, P95: 0.09595, P99: 0.09999, Exact: true}}
	// p95: 95·101/100 = 95.95 → x95 + 0.95·(x96 − x95) = 95.95 ms.
	got := s
	if got.TotalTasks != want.TotalTasks || got.Successful != want.Successful || got.Failed != want.Failed ||
		got.CacheHits != want.CacheHits || got.CacheHitRate != want.CacheHitRate || got.TotalTime != want.TotalTime ||
		got.Throughput != want.Throughput || !got.Latency.Exact {
		t.Errorf("stats = %+v, want %+v", got, want)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"min", got.Latency.Min, want.Latency.Min}, {"max", got.Latency.Max, want.Latency.Max},
		{"mean", got.Latency.Mean, want.Latency.Mean}, {"median", got.Latency.Median, want.Latency.Median},
		{"p95", got.Latency.P95, want.Latency.P95}, {"p99", got.Latency.P99, want.Latency.P99},
	} {
		if !close(c.got, c.want, 1e-9) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// Workers claim exact slots in blocks: however unevenly they share a batch
// of MaxExact tasks, it stays exact, and one past the whole budget is not.
func TestStatsExactBudget(t *testing.T) {
	for _, c := range []struct {
		n     int64
		exact bool
	}{{MaxExact, true}, {exactBudget(3) + 1, false}} {
		rs := []*recorder{{}, {}, {}}
		var left atomic.Int64
		left.Store(exactBudget(len(rs)))
		for i := range c.n {
			// Worker 0 runs 5 tasks in 7, the others one each.
			rs[max(0, i%7-4)].add(true, false, time.Microsecond, &left)
		}
		if s := merge(rs, time.Second); s.Latency.Exact != c.exact || s.TotalTasks != c.n {
			t.Errorf("%d tasks: exact %v (%d tasks), want %v", c.n, s.Latency.Exact, s.TotalTasks, c.exact)
		}
	}
}

// Past MaxExact the percentiles come from the histogram, within 1/64.
func TestStatsHistogramBound(t *testing.T) {
	const n = 200_000
	lat := make([]float64, n)
	rs := []*recorder{{}, {}}
	var left atomic.Int64
	left.Store(int64(n / 2)) // less than the batch: the histogram is used
	for i := range n {
		// Spread over five decades, 1 µs to 100 ms.
		d := time.Duration(1000 * math.Pow(10, 5*float64((i*7919)%n)/n))
		lat[i] = d.Seconds()
		rs[i%2].add(true, false, d, &left)
	}
	s := merge(rs, time.Second)
	if s.Latency.Exact {
		t.Fatal("exact percentiles past the cap")
	}
	slices.Sort(lat)
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"median", s.Latency.Median, Median(lat)},
		{"p95", s.Latency.P95, Percentile(lat, 95)},
		{"p99", s.Latency.P99, Percentile(lat, 99)},
	} {
		if !close(c.got, c.want, 1.0/64) {
			t.Errorf("%s = %v, exact %v: beyond the stated 1/64", c.name, c.got, c.want)
		}
	}
	if s.Latency.Min != lat[0] || s.Latency.Max != lat[n-1] {
		t.Errorf("min/max %v %v, want the exact %v %v", s.Latency.Min, s.Latency.Max, lat[0], lat[n-1])
	}
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, d := range []time.Duration{0, 1, 127, 128, 130, 255, 256, 1000, 1 << 20, time.Second, time.Hour, 1<<63 - 1} {
		b := bucket(d)
		if b <= prev && d != 0 {
			t.Errorf("bucket(%v) = %d, not above the previous %d", d, b, prev)
		}
		if b >= len(histogram{}) {
			t.Fatalf("bucket(%v) = %d out of range", d, b)
		}
		if d >= 128 && d < time.Hour {
			if m := mid(b); !close(m, d.Seconds(), 1.0/64) {
				t.Errorf("mid(bucket(%v)) = %v", d, m)
			}
		}
		prev = b
	}
}
