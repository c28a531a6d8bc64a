package monitor

import (
	"context"
	"strings"

	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// Snapshot is the current value of every metric, in the shape of the
// get_metrics operation:
//
//	{"counters": {…}, "gauges": {…}, "histograms": {…}, "timers": {…}}
//
// Keys are the Prometheus exposition name followed, when the series has
// labels, by the labels sorted by name in braces, unquoted and separated by
// commas:
//
//	dredge_operations_total{operation=unified_inference,outcome=success}
//	dredge_operation_duration_seconds{operation=unified_inference}
//	dredge_cache_hits_total{backend=memory}
//	dredge_models_loaded
//
// Monotonic sums are counters; gauges and up-down counters are gauges;
// histograms whose unit is seconds (operation durations, [Monitor.Timer])
// are timers, with times in seconds; other histograms are histograms. The
// maps are never nil.
type Snapshot struct {
	Counters   map[string]float64        `json:"counters"`
	Gauges     map[string]float64        `json:"gauges"`
	Histograms map[string]HistogramStats `json:"histograms"`
	Timers     map[string]TimerStats     `json:"timers"`
}

// HistogramStats summarises the values observed by a histogram. Min, Max
// and Avg are 0 when Count is 0.
type HistogramStats struct {
	Count uint64  `json:"count"`
	Sum   float64 `json:"sum"`
	Min   float64 `json:"min"`
	Max   float64 `json:"max"`
	Avg   float64 `json:"avg"`
}

// TimerStats summarises the durations observed by a timer, in seconds. Min,
// Max and Avg are 0 when Count is 0.
type TimerStats struct {
	Count     uint64  `json:"count"`
	TotalTime float64 `json:"total_time"`
	Min       float64 `json:"min"`
	Max       float64 `json:"max"`
	Avg       float64 `json:"avg"`
}

func newSnapshot() Snapshot {
	return Snapshot{
		Counters:   map[string]float64{},
		Gauges:     map[string]float64{},
		Histograms: map[string]HistogramStats{},
		Timers:     map[string]TimerStats{},
	}
}

// Snapshot reads every instrument of the Monitor's meter provider (the same
// aggregation /metrics serves) and returns their values. It is empty when
// metrics are disabled or after [Monitor.Shutdown].
func (m *Monitor) Snapshot() Snapshot {
	snap := newSnapshot()
	if m == nil || m.reader == nil {
		return snap
	}
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		m.logger.Debug("monitor: snapshot", "err", err)
		return snap
	}
	namer := otlptranslator.NewMetricNamer("", translationStrategy)
	labeler := otlptranslator.LabelNamer{UTF8Allowed: !translationStrategy.ShouldEscape()}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			name, err := namer.Build(otlptranslator.Metric{Name: md.Name, Unit: md.Unit, Type: namingType(md.Data)})
			if err != nil {
				m.logger.Debug("monitor: snapshot: metric name", "metric", md.Name, "err", err)
				continue
			}
			addData(&snap, name, md.Unit == "s", md.Data, labeler)
		}
	}
	return snap
}

func addData(snap *Snapshot, name string, seconds bool, data metricdata.Aggregation, ln otlptranslator.LabelNamer) {
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		addSum(snap, name, d.IsMonotonic, d.DataPoints, ln)
	case metricdata.Sum[float64]:
		addSum(snap, name, d.IsMonotonic, d.DataPoints, ln)
	case metricdata.Gauge[int64]:
		addSum(snap, name, false, d.DataPoints, ln)
	case metricdata.Gauge[float64]:
		addSum(snap, name, false, d.DataPoints, ln)
	case metricdata.Histogram[int64]:
		addHistogram(snap, name, seconds, d.DataPoints, ln)
	case metricdata.Histogram[float64]:
		addHistogram(snap, name, seconds, d.DataPoints, ln)
	}
}

func addSum[N int64 | float64](snap *Snapshot, name string, monotonic bool, dps []metricdata.DataPoint[N], ln otlptranslator.LabelNamer) {
	dst := snap.Gauges
	if monotonic {
		dst = snap.Counters
	}
	for _, dp := range dps {
		dst[seriesKey(name, dp.Attributes, ln)] = float64(dp.Value)
	}
}

func addHistogram[N int64 | float64](snap *Snapshot, name string, seconds bool, dps []metricdata.HistogramDataPoint[N], ln otlptranslator.LabelNamer) {
	for _, dp := range dps {
		h := HistogramStats{Count: dp.Count, Sum: float64(dp.Sum)}
		if dp.Count > 0 {
			h.Avg = h.Sum / float64(dp.Count)
			if v, ok := dp.Min.Value(); ok {
				h.Min = float64(v)
			}
			if v, ok := dp.Max.Value(); ok {
				h.Max = float64(v)
			}
		}
		key := seriesKey(name, dp.Attributes, ln)
		if seconds {
			snap.Timers[key] = TimerStats{Count: h.Count, TotalTime: h.Sum, Min: h.Min, Max: h.Max, Avg: h.Avg}
		} else {
			snap.Histograms[key] = h
		}
	}
}

// seriesKey renders name{k=v,…} with the labels in attribute order (sorted
// by key), or name alone when there are none.
func seriesKey(name string, attrs attribute.Set, ln otlptranslator.LabelNamer) string {
	if attrs.Len() == 0 {
		return name
	}
	var b strings.Builder
	b.WriteString(name)
	b.WriteByte('{')
	for i, kv := range attrs.ToSlice() {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := ln.Build(string(kv.Key))
		if err != nil {
			k = string(kv.Key)
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(kv.Value.String())
	}
	b.WriteByte('}')
	return b.String()
}

// namingType mirrors the Prometheus exporter's choice of naming type, so
// that names get the same suffixes.
func namingType(data metricdata.Aggregation) otlptranslator.MetricType {
	switch d := data.(type) {
	case metricdata.Histogram[int64], metricdata.Histogram[float64],
		metricdata.ExponentialHistogram[int64], metricdata.ExponentialHistogram[float64]:
		return otlptranslator.MetricTypeHistogram
	case metricdata.Sum[int64]:
		if d.IsMonotonic {
			return otlptranslator.MetricTypeMonotonicCounter
		}
		return otlptranslator.MetricTypeNonMonotonicCounter
	case metricdata.Sum[float64]:
		if d.IsMonotonic {
			return otlptranslator.MetricTypeMonotonicCounter
		}
		return otlptranslator.MetricTypeNonMonotonicCounter
	case metricdata.Gauge[int64], metricdata.Gauge[float64]:
		return otlptranslator.MetricTypeGauge
	case metricdata.Summary:
		return otlptranslator.MetricTypeSummary
	}
	return otlptranslator.MetricTypeUnknown
}
