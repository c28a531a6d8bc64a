package monitor_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/internal/promcheck"
	"github.com/dredge-cli/dredge/monitor"
)

// workload records a fixed mix of everything the Engine reports.
func workload(t testing.TB, m *monitor.Monitor) {
	t.Helper()
	ctx := context.Background()
	for range 3 {
		_, s := m.StartOperation(ctx, "unified_inference")
		s.SetModelType("string_theory")
		s.SetCached(false)
		s.SetDevice("cpu")
		s.End(monitor.OutcomeSuccess)
	}
	_, s := m.StartOperation(ctx, "unified_inference")
	s.End("invalid_params")
	op := m.Operation("string_spectrum")
	for range 2 {
		_, s := op.Start(ctx)
		s.End("")
	}
	m.RecordOperation(ctx, "train_model", "internal_error", 1500*time.Millisecond)
	m.CacheHit("memory")
	m.CacheHit("memory")
	m.CacheMiss("memory")
	m.CacheMiss("redis")
	m.CacheError("redis")
	m.ModelLoaded(3)
	m.ModelLoaded(-1)
	m.SetQueueDepth(7)
	m.SetBusyWorkers(2)
	m.SetModelMemory(4096, 1<<30)
	m.SetHeavyCalls(1, 2)
	m.TrainingEpochs(10)
	m.TrainingEpochs(0) // ignored
	m.JobClaimed(1, 2*time.Millisecond)
	m.JobFinished(monitor.JobCompleted, 3*time.Millisecond)
	m.JobClaimed(2, -time.Second) // a clock ahead of the queue's: 0
	m.JobFinished(monitor.JobFailed, time.Millisecond)
	tm := m.Timer("load_weights")
	tm.Stop()
	m.ObserveDuration("load_weights", 2*time.Millisecond)
}

func newMonitor(t testing.TB, cfg monitor.Config) *monitor.Monitor {
	t.Helper()
	m, err := monitor.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return m
}

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %s\n%s", resp.Status, body)
	}
	return string(body)
}

func TestMetricsExposition(t *testing.T) {
	m := newMonitor(t, monitor.Config{ServiceVersion: "0.2.0-test"})
	workload(t, m)
	body := scrape(t, m.Handler())

	for _, want := range []string{
		`# HELP dredge_operations_total `,
		`# TYPE dredge_operations_total counter`,
		`dredge_operations_total{operation="unified_inference",outcome="success"} 3`,
		`dredge_operations_total{operation="unified_inference",outcome="invalid_params"} 1`,
		`dredge_operations_total{operation="string_spectrum",outcome="success"} 2`,
		`dredge_operations_total{operation="train_model",outcome="internal_error"} 1`,
		`# TYPE dredge_operation_duration_seconds histogram`,
		`dredge_operation_duration_seconds_bucket{operation="unified_inference",le="1e-06"}`,
		`dredge_operation_duration_seconds_bucket{operation="train_model",le="1"} 0`,
		`dredge_operation_duration_seconds_bucket{operation="train_model",le="2.5"} 1`,
		`dredge_operation_duration_seconds_count{operation="unified_inference"} 4`,
		`dredge_operation_duration_seconds_sum{operation="train_model"} 1.5`,
		`dredge_cache_hits_total{backend="memory"} 2`,
		`dredge_cache_misses_total{backend="memory"} 1`,
		`dredge_cache_misses_total{backend="redis"} 1`,
		`dredge_cache_errors_total{backend="redis"} 1`,
		`# TYPE dredge_models_loaded gauge`,
		`dredge_models_loaded 2`,
		`dredge_queue_depth 7`,
		`dredge_workers_busy 2`,
		`dredge_model_memory_bytes 4096`,
		`dredge_model_memory_limit_bytes 1.073741824e+09`,
		`dredge_heavy_calls 1`,
		`dredge_heavy_calls_limit 2`,
		`dredge_training_epochs_total 10`,
		`dredge_timer_duration_seconds_count{timer="load_weights"} 2`,
		`dredge_jobs_total{outcome="completed"} 1`,
		`dredge_jobs_total{outcome="failed"} 1`,
		`dredge_job_claims_total 2`,
		`dredge_job_retries_total 1`,
		`dredge_timer_duration_seconds_count{timer="job_wait"} 2`,
		`dredge_timer_duration_seconds_sum{timer="job_run"} 0.004`,
		`service_name="dredge"`,
		`service_version="0.2.0-test"`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("exposition lacks %q", want)
		}
	}
	for _, bad := range []string{"_seconds_seconds", "otel_scope_", "_total_total"} {
		if strings.Contains(body, bad) {
			t.Errorf("exposition contains %q", bad)
		}
	}
	if t.Failed() {
		t.Logf("exposition:\n%s", body)
	}
	promcheck.Metrics(t, body)
}

func TestSnapshotCounts(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	workload(t, m)
	snap := m.Snapshot()

	counters := map[string]float64{
		"dredge_operations_total{operation=unified_inference,outcome=success}":        3,
		"dredge_operations_total{operation=unified_inference,outcome=invalid_params}": 1,
		"dredge_operations_total{operation=string_spectrum,outcome=success}":          2,
		"dredge_operations_total{operation=train_model,outcome=internal_error}":       1,
		"dredge_cache_hits_total{backend=memory}":                                     2,
		"dredge_cache_misses_total{backend=memory}":                                   1,
		"dredge_cache_misses_total{backend=redis}":                                    1,
		"dredge_cache_errors_total{backend=redis}":                                    1,
		// A backend's three counters appear together, from 0.
		"dredge_cache_errors_total{backend=memory}": 0,
		"dredge_cache_hits_total{backend=redis}":    0,
		"dredge_training_epochs_total":              10,
		"dredge_jobs_total{outcome=completed}":      1,
		"dredge_jobs_total{outcome=failed}":         1,
		"dredge_job_claims_total":                   2,
		"dredge_job_retries_total":                  1,
	}
	if len(snap.Counters) != len(counters) {
		t.Errorf("counters = %v, want %d entries", snap.Counters, len(counters))
	}
	for k, want := range counters {
		if got, ok := snap.Counters[k]; !ok || got != want {
			t.Errorf("counters[%q] = %v (present %v), want %v", k, got, ok, want)
		}
	}
	gauges := map[string]float64{
		"dredge_models_loaded":            2,
		"dredge_queue_depth":              7,
		"dredge_workers_busy":             2,
		"dredge_model_memory_bytes":       4096,
		"dredge_model_memory_limit_bytes": 1 << 30,
		"dredge_heavy_calls":              1,
		"dredge_heavy_calls_limit":        2,
	}
	if len(snap.Gauges) != len(gauges) {
		t.Errorf("gauges = %v, want %v", snap.Gauges, gauges)
	}
	for k, want := range gauges {
		if got := snap.Gauges[k]; got != want {
			t.Errorf("gauges[%q] = %v, want %v", k, got, want)
		}
	}
	timers := map[string]uint64{
		"dredge_operation_duration_seconds{operation=unified_inference}": 4,
		"dredge_operation_duration_seconds{operation=string_spectrum}":   2,
		"dredge_operation_duration_seconds{operation=train_model}":       1,
		"dredge_timer_duration_seconds{timer=load_weights}":              2,
		"dredge_timer_duration_seconds{timer=job_wait}":                  2,
		"dredge_timer_duration_seconds{timer=job_run}":                   2,
	}
	if len(snap.Timers) != len(timers) {
		t.Errorf("timers = %v, want %d entries", snap.Timers, len(timers))
	}
	for k, want := range timers {
		got, ok := snap.Timers[k]
		if !ok || got.Count != want {
			t.Errorf("timers[%q].Count = %d (present %v), want %d", k, got.Count, ok, want)
			continue
		}
		if got.Min > got.Avg || got.Avg > got.Max || got.TotalTime < got.Max {
			t.Errorf("timers[%q] = %+v: want min ≤ avg ≤ max ≤ total", k, got)
		}
	}
	train := snap.Timers["dredge_operation_duration_seconds{operation=train_model}"]
	if train.TotalTime != 1.5 || train.Min != 1.5 || train.Max != 1.5 || train.Avg != 1.5 {
		t.Errorf("train_model timer = %+v, want 1.5 s throughout", train)
	}
	if lw := snap.Timers["dredge_timer_duration_seconds{timer=load_weights}"]; lw.Max < 0.002 {
		t.Errorf("load_weights timer max = %v, want ≥ 0.002", lw.Max)
	}
	if len(snap.Histograms) != 0 {
		t.Errorf("histograms = %v, want none", snap.Histograms)
	}
}

func TestSnapshotJSON(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	m.RecordOperation(context.Background(), "unified_inference", monitor.OutcomeSuccess, 2*time.Millisecond)
	b, err := json.Marshal(m.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"counters", "gauges", "histograms", "timers"} {
		if got[k] == nil {
			t.Errorf("snapshot JSON lacks %q object: %s", k, b)
		}
	}
	timer, _ := got["timers"]["dredge_operation_duration_seconds{operation=unified_inference}"].(map[string]any)
	for _, k := range []string{"count", "total_time", "min", "max", "avg"} {
		if _, ok := timer[k]; !ok {
			t.Errorf("timer JSON lacks %q: %s", k, b)
		}
	}
	if timer["total_time"] != 0.002 {
		t.Errorf("total_time = %v, want 0.002", timer["total_time"])
	}
}

func TestSnapshotConcurrentWithScrape(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	const goroutines, perG = 4, 500
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range perG {
				_, s := m.StartOperation(context.Background(), "unified_inference")
				s.End(monitor.OutcomeSuccess)
				m.CacheHit("memory")
			}
		})
	}
	wg.Go(func() {
		for range 20 {
			_ = m.Snapshot()
			resp, err := http.Get(srv.URL)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
	wg.Wait()
	snap := m.Snapshot()
	if got := snap.Counters["dredge_operations_total{operation=unified_inference,outcome=success}"]; got != goroutines*perG {
		t.Errorf("operations = %v, want %d", got, goroutines*perG)
	}
	if got := snap.Timers["dredge_operation_duration_seconds{operation=unified_inference}"].Count; got != goroutines*perG {
		t.Errorf("timer count = %v, want %d", got, goroutines*perG)
	}
}

func TestDisabled(t *testing.T) {
	disabled := newMonitor(t, monitor.Config{DisableMetrics: true, DisableTracing: true})
	for _, tc := range []struct {
		name string
		m    *monitor.Monitor
	}{
		{"config", disabled},
		{"nop", monitor.Nop()},
		{"nil", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := tc.m
			ctx := context.Background()
			workload(t, m)
			if m.MetricsEnabled() || m.TracingExported() {
				t.Errorf("MetricsEnabled, TracingExported = %v, %v; want false", m.MetricsEnabled(), m.TracingExported())
			}
			if op := m.Operation("x"); op != nil {
				t.Errorf("Operation = %v, want nil", op)
			}
			got, s := m.StartOperation(ctx, "x")
			if got != ctx || s.Recording() {
				t.Errorf("StartOperation changed ctx or records a span")
			}
			if s.Span().IsRecording() {
				t.Error("Span().IsRecording() = true")
			}
			s.End("")
			snap := m.Snapshot()
			if len(snap.Counters)+len(snap.Gauges)+len(snap.Histograms)+len(snap.Timers) != 0 {
				t.Errorf("Snapshot = %+v, want empty", snap)
			}
			if snap.Counters == nil || snap.Gauges == nil || snap.Histograms == nil || snap.Timers == nil {
				t.Errorf("Snapshot has nil maps: %+v", snap)
			}
			if body := scrape(t, m.Handler()); strings.Contains(body, "dredge_") {
				t.Errorf("disabled exposition has dredge metrics:\n%s", body)
			}
			if m.MeterProvider() == nil || m.TracerProvider() == nil {
				t.Error("nil provider")
			}
			if err := m.ForceFlush(ctx); err != nil {
				t.Error(err)
			}
			if err := m.Shutdown(ctx); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestTracingOffByDefault(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	if !m.MetricsEnabled() || m.TracingExported() {
		t.Fatalf("MetricsEnabled, TracingExported = %v, %v; want true, false", m.MetricsEnabled(), m.TracingExported())
	}
	ctx := context.Background()
	got, s := m.StartOperation(ctx, "unified_inference")
	if got != ctx || s.Recording() {
		t.Error("a span is recorded without an OTLP endpoint")
	}
	s.End(monitor.OutcomeSuccess)
}

func TestShutdownIdempotent(t *testing.T) {
	m, err := monitor.New(monitor.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m.RecordOperation(context.Background(), "unified_inference", "", time.Millisecond)
	for i := range 3 {
		if err := m.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown #%d: %v", i+1, err)
		}
	}
	// Recording and reading after Shutdown are harmless.
	workload(t, m)
	if snap := m.Snapshot(); len(snap.Counters) != 0 {
		t.Errorf("Snapshot after Shutdown = %+v, want empty", snap)
	}
	_ = scrape(t, m.Handler())
}

func TestNewRejectsBadEndpoint(t *testing.T) {
	for _, cfg := range []monitor.Config{
		{OTLPEndpoint: "localhost:4318"},
		{OTLPEndpoint: "http://"},
		{OTLPTracesEndpoint: "ftp://collector/v1/traces"},
		{OTLPEndpoint: "http://a b"},
	} {
		if m, err := monitor.New(cfg); err == nil {
			t.Errorf("New(%+v) = nil error", cfg)
			_ = m.Shutdown(context.Background())
		}
	}
}

func TestConfigFromEnv(t *testing.T) {
	vars := []string{"METRICS_ENABLED", "TRACING_ENABLED", "OTEL_SDK_DISABLED", "OTEL_SERVICE_NAME",
		"OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"}
	tests := []struct {
		name    string
		env     map[string]string
		want    monitor.Config
		wantErr string // variable named by the *EnvError
	}{
		{name: "unset", want: monitor.Config{}},
		{name: "metrics off", env: map[string]string{"METRICS_ENABLED": "false"}, want: monitor.Config{DisableMetrics: true}},
		{name: "tracing off", env: map[string]string{"TRACING_ENABLED": "0"}, want: monitor.Config{DisableTracing: true}},
		{name: "words", env: map[string]string{"METRICS_ENABLED": " Off ", "TRACING_ENABLED": "yes"}, want: monitor.Config{DisableMetrics: true}},
		{name: "sdk disabled", env: map[string]string{"OTEL_SDK_DISABLED": "true"}, want: monitor.Config{DisableMetrics: true, DisableTracing: true}},
		{
			name: "otlp",
			env: map[string]string{
				"OTEL_SERVICE_NAME":                  "dredge-worker",
				"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://collector:4318",
				"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/custom",
			},
			want: monitor.Config{ServiceName: "dredge-worker", OTLPEndpoint: "http://collector:4318", OTLPTracesEndpoint: "http://collector:4318/custom"},
		},
		{name: "bad", env: map[string]string{"METRICS_ENABLED": "maybe"}, wantErr: "METRICS_ENABLED"},
		{name: "bad tracing", env: map[string]string{"TRACING_ENABLED": "2"}, wantErr: "TRACING_ENABLED"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range vars {
				t.Setenv(v, tc.env[v])
			}
			got, err := monitor.ConfigFromEnv()
			if tc.wantErr != "" {
				var envErr *monitor.EnvError
				if !errors.As(err, &envErr) || envErr.Name != tc.wantErr {
					t.Fatalf("err = %v, want *EnvError for %s", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("ConfigFromEnv() = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestHotPathDoesNotAllocate(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	ctx := context.Background()
	workload(t, m) // create every series first
	for _, tc := range []struct {
		name string
		f    func()
	}{
		{"operation", func() {
			_, s := m.StartOperation(ctx, "unified_inference")
			s.SetModelType("string_theory")
			s.SetCached(true)
			s.SetDevice("cpu")
			s.End(monitor.OutcomeSuccess)
		}},
		{"operation error", func() {
			_, s := m.StartOperation(ctx, "unified_inference")
			s.End("invalid_params")
		}},
		{"cache", func() { m.CacheHit("memory"); m.CacheMiss("memory"); m.CacheError("redis") }},
		{"gauges", func() { m.SetQueueDepth(3); m.SetBusyWorkers(1); m.ModelLoaded(1); m.TrainingEpochs(1) }},
		{"timer", func() { tm := m.Timer("load_weights"); tm.Stop() }},
	} {
		if n := testing.AllocsPerRun(100, tc.f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", tc.name, n)
		}
	}
}

// TestObserveCache reads a cache's own counts at each scrape, added to the
// ones counted with CacheHit and CacheMiss.
func TestObserveCache(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	var hits, misses int64 = 5, 7
	m.ObserveCache("file", func() (int64, int64) { return hits, misses })
	m.CacheHit("file")
	body := scrape(t, m.Handler())
	for _, want := range []string{`dredge_cache_hits_total{backend="file"} 6`, `dredge_cache_misses_total{backend="file"} 7`} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s in\n%s", want, body)
		}
	}
	hits = 9
	if body := scrape(t, m.Handler()); !strings.Contains(body, `dredge_cache_hits_total{backend="file"} 10`) {
		t.Errorf("the second scrape did not read the counts again:\n%s", body)
	}
}

// TestObserveCacheShared: two caches on one monitor add up, and a stopped
// one keeps its counts, so the totals never go down.
func TestObserveCacheShared(t *testing.T) {
	m := newMonitor(t, monitor.Config{})
	stopA := m.ObserveCache("memory", func() (int64, int64) { return 3, 1 })
	m.ObserveCache("memory", func() (int64, int64) { return 4, 2 })
	want := []string{`dredge_cache_hits_total{backend="memory"} 7`, `dredge_cache_misses_total{backend="memory"} 3`}
	for _, phase := range []string{"both observed", "the first stopped"} {
		body := scrape(t, m.Handler())
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: missing %s in\n%s", phase, w, body)
			}
		}
		stopA()
	}
}
