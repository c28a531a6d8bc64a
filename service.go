package dredge

import (
	"context"
	"slices"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/monitor"
	"github.com/dredge-cli/dredge/stringtheory"
)

// ---- list_capabilities ----

// Capabilities is the result of list_capabilities.
type Capabilities struct {
	Success      bool            `json:"success"`
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Protocol     string          `json:"protocol"`
	Capabilities CapabilityLists `json:"capabilities"`
	Features     Features        `json:"features"`
	Resources    Resources       `json:"resources"`
}

// CapabilityLists names the model types and operations.
type CapabilityLists struct {
	Models     []string `json:"models"`
	Operations []string `json:"operations"`
}

// Features reports optional subsystems and the device.
type Features struct {
	Caching    bool       `json:"caching"`
	Metrics    bool       `json:"metrics"`
	GPUSupport bool       `json:"gpu_support"`
	DeviceInfo DeviceInfo `json:"device_info"`
}

// Capabilities lists model types, operations and features.
func (e *Engine) Capabilities(ctx context.Context) (*Capabilities, error) {
	return opCapabilities.run(ctx, e, &NoParams{})
}

func (e *Engine) capabilities(ctx context.Context) (*Capabilities, error) {
	return &Capabilities{
		Success:  true,
		Name:     Name,
		Version:  Version,
		Protocol: "dredge-mcp/1",
		Capabilities: CapabilityLists{
			Models:     slices.Clone(stringtheory.ModelTypes),
			Operations: Operations(),
		},
		Features: Features{
			Caching:    e.cachingEnabled(),
			Metrics:    e.metricsEnabled(),
			GPUSupport: e.devInfo.Kind == accel.KindCUDA,
			DeviceInfo: deviceInfo(e.devInfo),
		},
		Resources: e.resources(),
	}, nil
}

// ---- get_metrics and get_cache_stats ----

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
	s := e.results.Stats(ctx) // its hits and misses are the ones /metrics reports
	return &CacheStatsResult{Success: true, CacheStats: CacheStatsSnapshot{Stats: s, TotalEntries: s.Entries}}, nil
}

func (e *Engine) cachingEnabled() bool { return e.results != nil }

// ---- device information ----

// DeviceInfo is list_capabilities' features.device_info: the Engine's
// device ([accel.Info]: kind, name, workers, …) and the fields the
// original reported about the compute devices, so that its clients keep
// working.
type DeviceInfo struct {
	accel.Info
	// OptimalDevice is the device kind the Engine runs on ("cpu", "cuda").
	OptimalDevice string `json:"optimal_device"`
	// CPUAvailable is always true.
	CPUAvailable bool `json:"cpu_available"`
	// CUDAAvailable reports whether the Engine runs on a CUDA device (not
	// whether the machine has one it does not use).
	CUDAAvailable bool `json:"cuda_available"`
	// MPSAvailable is always false: there is no Apple Metal device.
	MPSAvailable bool `json:"mps_available"`
	// CUDADeviceCount (1) and CUDADeviceName (the GPU's name) are set when
	// the Engine runs on CUDA.
	CUDADeviceCount int    `json:"cuda_device_count,omitempty"`
	CUDADeviceName  string `json:"cuda_device_name,omitempty"`
}

// deviceInfo describes the device of info for list_capabilities.
func deviceInfo(info accel.Info) DeviceInfo {
	d := DeviceInfo{Info: info, OptimalDevice: info.Kind, CPUAvailable: true, CUDAAvailable: info.Kind == accel.KindCUDA}
	if d.CUDAAvailable {
		d.CUDADeviceCount, d.CUDADeviceName = 1, info.Name
	}
	return d
}

// ModelDeviceInfo is a string_theory load_model answer's device_info, as the
// original reported it for the model: its device and shape.
type ModelDeviceInfo struct {
	Device        string `json:"device"`
	CUDAAvailable bool   `json:"cuda_available"`
	MPSAvailable  bool   `json:"mps_available"`
	NumLayers     int    `json:"num_layers"`
	UseBatchNorm  bool   `json:"use_batch_norm"`
}
