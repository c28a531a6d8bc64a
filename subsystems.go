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
	Success    bool               `json:"success"`
	CacheStats CacheStatsSnapshot `json:"cache_stats"`
}

// CacheStatsSnapshot is get_cache_stats' cache_stats: the result cache's
// [cache.Stats], and its entries also under the original's name.
type CacheStatsSnapshot struct {
	cache.Stats
	// TotalEntries is Stats.Entries (-1 where the backend cannot say).
	TotalEntries int64 `json:"total_entries"`
}

// CacheStats returns the result cache's statistics.
func (e *Engine) CacheStats(ctx context.Context) (*CacheStatsResult, error) {
	return opCacheStats.run(ctx, e, &NoParams{})
}

func (e *Engine) cacheStatsResult(ctx context.Context) (*CacheStatsResult, error) {
	s := e.cacheStats(ctx)
	return &CacheStatsResult{Success: true, CacheStats: CacheStatsSnapshot{Stats: s, TotalEntries: s.Entries}}, nil
}

func (e *Engine) cachingEnabled() bool { return e.results != nil }
