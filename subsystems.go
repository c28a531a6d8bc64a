package dredge

import (
	"context"

	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/monitor"
)

// MetricsResult is get_metrics' result.
type MetricsResult struct {
	Success bool            `json:"success"`
	Metrics MetricsSnapshot `json:"metrics"`
}

// MetricsSnapshot is the original's metrics shape: counters, gauges,
// histograms and timers.
type MetricsSnapshot = monitor.Snapshot

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
