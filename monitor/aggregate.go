package monitor

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/sdk/instrumentation"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The hot path records into atomics; the OpenTelemetry SDK reads them when a
// reader collects (a /metrics scrape, a Snapshot):
//
//   - counters and gauges are observable instruments of the Monitor's meter,
//     whose callback (Monitor.observe) reports the atomics;
//   - duration histograms are aggregated here, lock-free, and handed to the
//     reader by a metric Producer (histogramProducer).
//
// Synchronous SDK instruments cost 100–200 ns a measurement on the machines
// DREDGE targets (attribute normalisation, map lookup, contended atomics),
// which an operation taking 1–2 µs cannot afford several times over.

// clockBase anchors monotonic timestamps: time.Since(clockBase) reads one
// clock where time.Now reads two.
var clockBase = time.Now()

func monotonic() time.Duration { return time.Since(clockBase) }

// durationBounds are the histogram bucket upper bounds in seconds; see
// [DurationBuckets].
var durationBounds = []float64{
	1e-6, 2.5e-6, 5e-6,
	1e-5, 2.5e-5, 5e-5,
	1e-4, 2.5e-4, 5e-4,
	1e-3, 2.5e-3, 5e-3,
	0.01, 0.025, 0.05,
	0.1, 0.25, 0.5,
	1, 2.5, 5, 10,
}

const numBuckets = 23 // len(durationBounds) + 1 for +Inf

var boundsNanos = func() (b [numBuckets - 1]int64) {
	if len(durationBounds) != len(b) {
		panic("monitor: numBuckets out of step with durationBounds")
	}
	for i, s := range durationBounds {
		b[i] = int64(math.Round(s * 1e9))
	}
	return b
}()

// DurationBuckets returns the explicit bucket upper bounds, in seconds, of
// every duration histogram: 1 µs to 10 s in 1–2.5–5 steps, and +Inf.
func DurationBuckets() []float64 {
	return append([]float64(nil), durationBounds...)
}

// series is one labelled counter or gauge value.
type series struct {
	n    atomic.Int64
	opts []metric.ObserveOption
}

func newSeries(kvs ...attribute.KeyValue) *series {
	return &series{opts: observeOpts(kvs...)}
}

// observeOpts returns the options observing a value with the attributes kvs.
func observeOpts(kvs ...attribute.KeyValue) []metric.ObserveOption {
	return []metric.ObserveOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

// load returns the value stored under key in m, storing the one create
// returns on first use (create may run more than once when goroutines race;
// one value wins).
func load[V any](m *sync.Map, key string, create func() V) V {
	if v, ok := m.Load(key); ok {
		return v.(V)
	}
	v, _ := m.LoadOrStore(key, create())
	return v.(V)
}

// cacheSeries counts the cache events of one backend.
type cacheSeries struct {
	hits, misses, errors atomic.Int64
	opts                 []metric.ObserveOption

	mu     sync.Mutex
	counts []*func() (hits, misses int64) // see Monitor.ObserveCache
}

// load returns the backend's hits and misses.
func (c *cacheSeries) load() (hits, misses int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	hits, misses = c.hits.Load(), c.misses.Load()
	for _, f := range c.counts {
		h, m := (*f)()
		hits, misses = hits+h, misses+m
	}
	return hits, misses
}

// histogram is a cumulative explicit-bucket histogram of durations, safe for
// concurrent use without locks. Count is derived from the buckets so that it
// always equals the +Inf bucket; Sum, Min and Max may lag an observation in
// flight.
type histogram struct {
	attrs  attribute.Set
	counts [numBuckets]atomic.Uint64
	sum    atomic.Int64 // nanoseconds
	min    atomic.Int64 // nanoseconds; math.MaxInt64 when empty
	max    atomic.Int64 // nanoseconds
}

func newHistogram(kvs ...attribute.KeyValue) *histogram {
	h := &histogram{attrs: attribute.NewSet(kvs...)}
	h.min.Store(math.MaxInt64)
	return h
}

func (h *histogram) observe(d time.Duration) {
	ns := max(int64(d), 0)
	i := 0
	for i < len(boundsNanos) && ns > boundsNanos[i] {
		i++
	}
	h.sum.Add(ns)
	for cur := h.min.Load(); ns < cur && !h.min.CompareAndSwap(cur, ns); cur = h.min.Load() {
	}
	for cur := h.max.Load(); ns > cur && !h.max.CompareAndSwap(cur, ns); cur = h.max.Load() {
	}
	h.counts[i].Add(1)
}

// dataPoint returns the histogram's cumulative data point, and false when
// nothing was observed.
func (h *histogram) dataPoint(start, now time.Time) (metricdata.HistogramDataPoint[float64], bool) {
	counts := make([]uint64, numBuckets)
	var total uint64
	for i := range counts {
		counts[i] = h.counts[i].Load()
		total += counts[i]
	}
	if total == 0 {
		return metricdata.HistogramDataPoint[float64]{}, false
	}
	return metricdata.HistogramDataPoint[float64]{
		Attributes:   h.attrs,
		StartTime:    start,
		Time:         now,
		Count:        total,
		Bounds:       durationBounds,
		BucketCounts: counts,
		Min:          metricdata.NewExtrema(float64(h.min.Load()) / 1e9),
		Max:          metricdata.NewExtrema(float64(h.max.Load()) / 1e9),
		Sum:          float64(h.sum.Load()) / 1e9,
	}, true
}

// histogramProducer hands the Monitor's duration histograms to the metric
// reader, next to the SDK's own instruments.
type histogramProducer struct{ m *Monitor }

// Produce implements metric.Producer; it is safe to call concurrently.
func (p histogramProducer) Produce(context.Context) ([]metricdata.ScopeMetrics, error) {
	m := p.m
	now := time.Now()
	var metrics []metricdata.Metrics
	metrics = appendDurations(metrics, nameOperationDuration, descOperationDuration, &m.ops,
		func(v any) *histogram { return v.(*Operation).hist }, m.start, now)
	metrics = appendDurations(metrics, nameTimerDuration, descTimerDuration, &m.timers,
		func(v any) *histogram { return v.(*histogram) }, m.start, now)
	if len(metrics) == 0 {
		return nil, nil
	}
	return []metricdata.ScopeMetrics{{Scope: instrumentation.Scope{Name: ScopeName}, Metrics: metrics}}, nil
}

// appendDurations appends the duration histogram called name, with a data
// point for each histogram hist finds in the values of hists that has
// observations; it appends nothing when none has.
func appendDurations(metrics []metricdata.Metrics, name, desc string, hists *sync.Map, hist func(any) *histogram, start, now time.Time) []metricdata.Metrics {
	var dps []metricdata.HistogramDataPoint[float64]
	hists.Range(func(_, v any) bool {
		if dp, ok := hist(v).dataPoint(start, now); ok {
			dps = append(dps, dp)
		}
		return true
	})
	if len(dps) == 0 {
		return metrics
	}
	return append(metrics, metricdata.Metrics{
		Name:        name,
		Description: desc,
		Unit:        "s",
		Data:        metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: dps},
	})
}

// observe is the callback of the observable instruments.
func (m *Monitor) observe(_ context.Context, o metric.Observer) error {
	in := &m.inst
	m.ops.Range(func(_, v any) bool {
		op := v.(*Operation)
		observeOutcomes(o, in.operations, op.counts)
		op.tenants.Range(func(_, v any) bool {
			observeOutcomes(o, in.operations, v.(*Operation).counts)
			return true
		})
		return true
	})
	m.backends.Range(func(_, v any) bool {
		c := v.(*cacheSeries)
		hits, misses := c.load()
		o.ObserveInt64(in.cacheHits, hits, c.opts...)
		o.ObserveInt64(in.cacheMisses, misses, c.opts...)
		o.ObserveInt64(in.cacheErrors, c.errors.Load(), c.opts...)
		return true
	})
	o.ObserveInt64(in.modelsLoaded, m.modelsLoaded.Load())
	o.ObserveInt64(in.queueDepth, m.queueDepth.Load())
	o.ObserveInt64(in.workersBusy, m.workersBusy.Load())
	o.ObserveInt64(in.trainingEpochs, m.trainingEpochs.Load())
	o.ObserveInt64(in.modelMemory, m.modelMemory.Load())
	o.ObserveInt64(in.modelMemoryCap, m.modelMemoryCap.Load())
	o.ObserveInt64(in.heavyRunning, m.heavyRunning.Load())
	o.ObserveInt64(in.heavyLimit, m.heavyLimit.Load())
	observeAll(o, in.jobs, &m.jobs)
	m.tenantJobs.Range(func(_, v any) bool {
		observeAll(o, in.jobs, v.(*sync.Map))
		return true
	})
	o.ObserveInt64(in.jobClaims, m.jobClaims.Load())
	o.ObserveInt64(in.jobRetries, m.jobRetries.Load())
	observeAll(o, in.tenantHits, &m.tenantCacheHits)
	return nil
}

// observeOutcomes observes an operation's counts by outcome; the success
// series only once it has counted a call, so that an operation never
// called (or a tenant's that has only failed) shows no zero success.
func observeOutcomes(o metric.Observer, c metric.Int64ObservableCounter, counts *outcomeCounts) {
	if n := counts.success.n.Load(); n > 0 {
		o.ObserveInt64(c, n, counts.success.opts...)
	}
	observeAll(o, c, &counts.outcomes)
}

// observeAll observes every *series among the values of all.
func observeAll(o metric.Observer, c metric.Int64ObservableCounter, all *sync.Map) {
	all.Range(func(_, v any) bool {
		s := v.(*series)
		o.ObserveInt64(c, s.n.Load(), s.opts...)
		return true
	})
}
