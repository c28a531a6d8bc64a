package pipeline

import (
	"math"
	"math/bits"
	"slices"
	"sync/atomic"
	"time"
)

// Stats are a batch's statistics, with the original pipeline's field
// names. Times are in seconds, throughput in tasks per second.
type Stats struct {
	TotalTasks   int64   `json:"total_tasks"`
	Successful   int64   `json:"successful"`
	Failed       int64   `json:"failed"`
	CacheHits    int64   `json:"cache_hits"`
	CacheHitRate float64 `json:"cache_hit_rate"`
	TotalTime    float64 `json:"total_time"`
	Throughput   float64 `json:"throughput"`
	Latency      Latency `json:"latency"`
}

// Latency summarises the tasks' latencies in seconds. Median, P95 and P99
// follow the original: the median of statistics.median, the percentiles of
// [Percentile]. They are exact while the batch has at most [MaxExact]
// tasks (Exact is true); beyond, they come from a histogram whose buckets
// are at most 1/64 of their lower bound wide, so each is within 1.6% of
// the exact value. Min, Max and Mean are always exact.
type Latency struct {
	Min    float64 `json:"min"`
	Mean   float64 `json:"mean"`
	Median float64 `json:"median"`
	Max    float64 `json:"max"`
	P95    float64 `json:"p95"`
	P99    float64 `json:"p99"`
	Exact  bool    `json:"exact"`
}

// MaxExact is the number of latencies kept for exact percentiles: 8 MiB.
const MaxExact = 1 << 20

// Percentile returns the p-th percentile (0 < p < 100) of sorted data as
// the reference pipeline computes it: the cut point of Python's
// statistics.quantiles(data, n=100) (the "exclusive" method) that it picks
// for p, interpolated between the two order statistics around rank
// p·(len+1)/100. One value is its own percentile; none gives 0.
func Percentile(sorted []float64, p float64) float64 {
	return quantile(len(sorted), p, func(i int) float64 { return sorted[i] })
}

// Median returns the median of sorted data (the mean of the two middle
// values for an even count), as Python's statistics.median.
func Median(sorted []float64) float64 {
	return median(len(sorted), func(i int) float64 { return sorted[i] })
}

func median(n int, at func(int) float64) float64 {
	switch {
	case n == 0:
		return 0
	case n%2 == 1:
		return at(n / 2)
	}
	return (at(n/2-1) + at(n/2)) / 2
}

// quantile is Percentile over n order statistics given by at.
func quantile(n int, p float64, at func(int) float64) float64 {
	if n == 0 {
		return 0
	}
	if n == 1 {
		return at(0) // Python raises here; one value is its own percentile
	}
	// The reference asks statistics.quantiles(n=100) for its cut point at
	// int(p·99/100) (0-based), which is cut point p for p = 95 and 99.
	i := min(max(int(p*99/100)+1, 1), 99)
	const parts = 100
	m := n + 1
	j := i * m / parts
	j = min(max(j, 1), n-1)
	delta := i*m - j*parts
	return (at(j-1)*float64(parts-delta) + at(j)*float64(delta)) / parts
}

// recorder collects one worker's counts and latencies.
type recorder struct {
	n, ok, hits int64
	sum         time.Duration
	min, max    time.Duration
	exact       []time.Duration // nil once a batch outgrows MaxExact
	quota       int64           // exact slots claimed and not yet used
	hist        *histogram
}

// exactBlock is how many exact slots a recorder claims from the batch's
// budget at a time: one atomic add per task, on a counter every worker
// shares, cost 8% of the cache-hit path's CPU time with two workers.
const exactBlock = 256

// exactBudget is the budget of exact slots for a batch on workers
// recorders: MaxExact, plus a block per recorder for the slots the others
// may hold unused when one runs out, so that a batch of MaxExact tasks is
// always exact.
func exactBudget(workers int) int64 { return MaxExact + int64(workers)*exactBlock }

func (r *recorder) add(ok, hit bool, d time.Duration, exactLeft *atomic.Int64) {
	if r.n == 0 || d < r.min {
		r.min = d
	}
	if d > r.max {
		r.max = d
	}
	r.n++
	r.sum += d
	if ok {
		r.ok++
	}
	if hit {
		r.hits++
	}
	if r.hist == nil {
		if r.quota == 0 {
			left := exactLeft.Add(-exactBlock)
			r.quota = min(max(left+exactBlock, 0), exactBlock)
		}
		if r.quota > 0 {
			r.quota--
			r.exact = append(r.exact, d)
			return
		}
		r.toHistogram()
	}
	r.hist.add(d)
}

func (r *recorder) toHistogram() {
	r.hist = new(histogram)
	for _, d := range r.exact {
		r.hist.add(d)
	}
	r.exact = nil
}

// merge combines workers' recorders into the batch's Stats.
func merge(rs []*recorder, total time.Duration) Stats {
	var s Stats
	var sum time.Duration
	var lo, hi time.Duration
	exact := true
	count := 0
	for _, r := range rs {
		if r.n == 0 {
			continue
		}
		if s.TotalTasks == 0 || r.min < lo {
			lo = r.min
		}
		hi = max(hi, r.max)
		s.TotalTasks += r.n
		s.Successful += r.ok
		s.CacheHits += r.hits
		sum += r.sum
		if r.hist != nil {
			exact = false
		}
		count += len(r.exact)
	}
	s.Failed = s.TotalTasks - s.Successful
	s.TotalTime = total.Seconds()
	if s.TotalTasks > 0 {
		s.CacheHitRate = float64(s.CacheHits) / float64(s.TotalTasks)
		s.Latency.Min, s.Latency.Max = lo.Seconds(), hi.Seconds()
		s.Latency.Mean = (sum / time.Duration(s.TotalTasks)).Seconds()
	}
	if total > 0 {
		s.Throughput = float64(s.TotalTasks) / total.Seconds()
	}
	s.Latency.Exact = exact
	if exact {
		all := make([]float64, 0, count)
		for _, r := range rs {
			for _, d := range r.exact {
				all = append(all, d.Seconds())
			}
		}
		slices.Sort(all)
		s.Latency.Median, s.Latency.P95, s.Latency.P99 = Median(all), Percentile(all, 95), Percentile(all, 99)
		return s
	}
	h := new(histogram)
	for _, r := range rs {
		if r.hist == nil {
			r.toHistogram()
		}
		h.merge(r.hist)
	}
	n := int(s.TotalTasks)
	at := h.orderStatistic()
	s.Latency.Median = median(n, at)
	s.Latency.P95, s.Latency.P99 = quantile(n, 95, at), quantile(n, 99, at)
	return s
}

// histogram counts durations in log-linear buckets: exact below 128 ns,
// then 64 buckets per power of two, each at most 1/64 of its lower bound
// wide.
type histogram [128 + 57*64]uint64

func bucket(d time.Duration) int {
	v := uint64(max(d, 0))
	if v < 128 {
		return int(v)
	}
	e := bits.Len64(v) // ≥ 8
	m := v >> (e - 7)  // in [64, 128)
	return 128 + (e-8)*64 + int(m-64)
}

// mid is the middle of bucket b, in seconds.
func mid(b int) float64 {
	if b < 128 {
		return float64(b) * 1e-9
	}
	e := (b-128)/64 + 8
	m := uint64((b-128)%64 + 64)
	lo := float64(m << (e - 7))
	return (lo + float64(uint64(1)<<(e-7))/2) * 1e-9
}

func (h *histogram) add(d time.Duration) { h[bucket(d)]++ }

func (h *histogram) merge(o *histogram) {
	for i, c := range o {
		h[i] += c
	}
}

// orderStatistic returns the k-th smallest value (0-based) as its
// bucket's middle, scanning the buckets from the first.
func (h *histogram) orderStatistic() func(k int) float64 {
	return func(k int) float64 {
		seen := uint64(0)
		for b, c := range h {
			seen += c
			if uint64(k) < seen {
				return mid(b)
			}
		}
		return math.NaN()
	}
}
