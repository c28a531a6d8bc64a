package dredge

import (
	"context"

	"github.com/dredge-cli/dredge/cache"
)

// MetricsResult is get_metrics' result.
type MetricsResult struct {
	Success bool            `json:"success"`
	Metrics MetricsSnapshot `json:"metrics"`
}

// MetricsSnapshot is the original's metrics shape.
type MetricsSnapshot struct {
	Counters   map[string]float64 `json:"counters"`
	Gauges     map[string]float64 `json:"gauges"`
	Histograms map[string]any     `json:"histograms"`
	Timers     map[string]any     `json:"timers"`
}

// Metrics returns a snapshot of the Engine's metrics.
func (e *Engine) Metrics(ctx context.Context) (*MetricsResult, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	return &MetricsResult{Success: true, Metrics: MetricsSnapshot{
		Counters: map[string]float64{}, Gauges: map[string]float64{}, Histograms: map[string]any{}, Timers: map[string]any{},
	}}, nil
}

// CacheStatsResult is get_cache_stats' result.
type CacheStatsResult struct {
	Success    bool        `json:"success"`
	CacheStats cache.Stats `json:"cache_stats"`
}

// CacheStats returns the result cache's statistics.
func (e *Engine) CacheStats(ctx context.Context) (*CacheStatsResult, error) {
	if err := e.check(); err != nil {
		return nil, err
	}
	return &CacheStatsResult{Success: true, CacheStats: e.cacheStats(ctx)}, nil
}

func (e *Engine) cachingEnabled() bool { return e.results != nil }
func (e *Engine) cacheHit()            {}
func (e *Engine) cacheMiss()           {}
func (e *Engine) metricsEnabled() bool { return false }
func (e *Engine) modelLoaded()         {}
func (e *Engine) trainingEpochs(n int) {}
