package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// ScopeName is the instrumentation scope of the monitor's meter and tracer.
const ScopeName = "github.com/dredge-cli/dredge/monitor"

// Metric attribute (Prometheus label) keys.
const (
	LabelOperation = "operation" // operation name, e.g. "unified_inference"
	LabelOutcome   = "outcome"   // OutcomeSuccess or an error code
	LabelBackend   = "backend"   // cache backend, e.g. "memory"
	LabelTimer     = "timer"     // name given to Monitor.Timer
	LabelTenant    = "tenant"    // a tenant of Monitor.SetTenants (see tenant.go)
)

// Span attribute keys set on every operation span.
const (
	AttrOperation = attribute.Key("dredge.operation")
	AttrOutcome   = attribute.Key("dredge.outcome")
	AttrModelType = attribute.Key("dredge.model_type")
	AttrCached    = attribute.Key("dredge.cached")
	AttrDevice    = attribute.Key("dredge.device")
)

// OutcomeSuccess is the outcome of an operation that returned no error.
// Failed operations use their error code as the outcome.
const OutcomeSuccess = "success"

// Instrument names. The Prometheus exporter turns them into the exposition
// names in the comments (unit suffixes, "_total" on counters).
const (
	nameOperations        = "dredge_operations"         // dredge_operations_total
	nameOperationDuration = "dredge_operation_duration" // dredge_operation_duration_seconds
	nameCacheHits         = "dredge_cache_hits"         // dredge_cache_hits_total
	nameCacheMisses       = "dredge_cache_misses"       // dredge_cache_misses_total
	nameCacheErrors       = "dredge_cache_errors"       // dredge_cache_errors_total
	nameModelsLoaded      = "dredge_models_loaded"      // dredge_models_loaded
	nameQueueDepth        = "dredge_queue_depth"        // dredge_queue_depth
	nameWorkersBusy       = "dredge_workers_busy"       // dredge_workers_busy
	nameTrainingEpochs    = "dredge_training_epochs"    // dredge_training_epochs_total
	nameModelMemory       = "dredge_model_memory"       // dredge_model_memory_bytes
	nameModelMemoryLimit  = "dredge_model_memory_limit" // dredge_model_memory_limit_bytes
	nameHeavyRunning      = "dredge_heavy_calls"        // dredge_heavy_calls
	nameHeavyLimit        = "dredge_heavy_calls_limit"  // dredge_heavy_calls_limit
	nameTimerDuration     = "dredge_timer_duration"     // dredge_timer_duration_seconds
	nameJobs              = "dredge_jobs"               // dredge_jobs_total
	nameJobClaims         = "dredge_job_claims"         // dredge_job_claims_total
	nameJobRetries        = "dredge_job_retries"        // dredge_job_retries_total
	nameTenantCacheHits   = "dredge_tenant_cache_hits"  // dredge_tenant_cache_hits_total
)

// Instrument descriptions, the HELP text of /metrics.
const (
	descOperations        = "Operations served, by operation, outcome (success or an error code) and tenant (named tenants only)."
	descOperationDuration = "Time to serve an operation, by operation."
	descCacheHits         = "Result cache lookups that found an entry, by cache backend."
	descCacheMisses       = "Result cache lookups that found no entry, by cache backend."
	descCacheErrors       = "Result cache operations that failed, by cache backend."
	descModelsLoaded      = "Models currently loaded."
	descQueueDepth        = "Tasks waiting in the work queue."
	descWorkersBusy       = "Workers currently running a task."
	descTrainingEpochs    = "Training epochs completed."
	descModelMemory       = "Memory charged to the loaded models (parameters and optimiser state)."
	descModelMemoryLimit  = "The loaded models' memory budget (MODEL_MEMORY_LIMIT)."
	descHeavyRunning      = "Heavy calls (training, large inferences) running now."
	descHeavyLimit        = "Heavy calls allowed to run at once (MAX_CONCURRENT_HEAVY)."
	descTimerDuration     = "Time spent in blocks timed with Monitor.Timer, by timer name."
	descJobs              = "Jobs a worker pool ran to an end, by outcome (completed, failed, released, lost) and tenant (named tenants only)."
	descJobClaims         = "Jobs claimed from the queue by a worker pool."
	descJobRetries        = "Claims of a job delivered before (its earlier worker died, or its operation failed with a retryable code)."
	descTenantCacheHits   = "Operations of named tenants answered from the result cache, by tenant (a part of dredge_cache_hits_total)."
)

// Job outcomes, the outcome label of dredge_jobs_total.
const (
	JobCompleted = "completed" // acknowledged with the operation's response
	JobFailed    = "failed"    // failed with the operation's error (the queue may retry it)
	JobReleased  = "released"  // handed back to the queue by a pool shutting down
	JobLost      = "lost"      // its claim lapsed or it was canceled: the queue refused the outcome
)

// Timer names of the job latencies (dredge_timer_duration_seconds{timer}).
const (
	TimerJobWait = "job_wait" // from enqueue to the claim that ran the job
	TimerJobRun  = "job_run"  // from the claim to the job's end
)

// translationStrategy is used by both the Prometheus exporter and
// [Monitor.Snapshot], so snapshot keys and exposition names agree.
var translationStrategy = otlptranslator.UnderscoreEscapingWithSuffixes

// Monitor records DREDGE's metrics and traces. Create one with [New] or
// [Nop]; a nil *Monitor is valid too and records nothing.
//
// All methods are safe for concurrent use. The recording methods never
// block and, with tracing not exported, do not allocate after the first
// use of a given operation, backend or timer name. Those names become
// metric labels: take them from a small fixed set.
type Monitor struct {
	logger    *slog.Logger
	metricsOn bool
	tracingOn bool // spans are recorded and exported
	start     time.Time

	meterProvider metric.MeterProvider
	sdkMeter      *sdkmetric.MeterProvider // nil when metrics are off
	reader        sdkmetric.Reader         // the Prometheus exporter's reader; nil when metrics are off
	handler       http.Handler

	tracerProvider trace.TracerProvider
	sdkTracer      *sdktrace.TracerProvider // nil unless spans are exported
	tracer         trace.Tracer

	inst instruments

	// Recorded values, read by observe and histogramProducer.
	ops            sync.Map // string → *Operation
	backends       sync.Map // string → *cacheSeries
	timers         sync.Map // string → *histogram
	modelsLoaded   atomic.Int64
	queueDepth     atomic.Int64
	workersBusy    atomic.Int64
	trainingEpochs atomic.Int64
	modelMemory    atomic.Int64
	modelMemoryCap atomic.Int64
	heavyRunning   atomic.Int64
	heavyLimit     atomic.Int64
	jobs           sync.Map // outcome → *series
	jobClaims      atomic.Int64
	jobRetries     atomic.Int64

	// Tenants (tenant.go): the set of SetTenants (nil: none), and their
	// series that are not an Operation's.
	tenants         atomic.Pointer[tenantSet]
	tenantCacheHits sync.Map // tenant → *series
	tenantJobs      sync.Map // tenant → *sync.Map (outcome → *series)

	shutdownOnce sync.Once
}

// instruments are the observable instruments reporting the recorded values.
type instruments struct {
	operations     metric.Int64ObservableCounter
	cacheHits      metric.Int64ObservableCounter
	cacheMisses    metric.Int64ObservableCounter
	cacheErrors    metric.Int64ObservableCounter
	modelsLoaded   metric.Int64ObservableUpDownCounter
	queueDepth     metric.Int64ObservableGauge
	workersBusy    metric.Int64ObservableGauge
	trainingEpochs metric.Int64ObservableCounter
	modelMemory    metric.Int64ObservableGauge
	modelMemoryCap metric.Int64ObservableGauge
	heavyRunning   metric.Int64ObservableGauge
	heavyLimit     metric.Int64ObservableGauge
	jobs           metric.Int64ObservableCounter
	jobClaims      metric.Int64ObservableCounter
	jobRetries     metric.Int64ObservableCounter
	tenantHits     metric.Int64ObservableCounter
}

// New returns a Monitor configured by cfg. Metrics go to the Monitor's own
// Prometheus registry (served by [Monitor.Handler]), never the global one;
// nothing global (otel.SetMeterProvider and the like) is touched.
//
// Call [Monitor.Shutdown] when done to flush and stop the span exporter.
func New(cfg Config) (*Monitor, error) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := &Monitor{logger: logger, start: time.Now()}
	ctx := context.Background()
	endpoint, err := tracesURL(cfg)
	if err != nil {
		return nil, err
	}

	var res *resource.Resource
	if !cfg.DisableMetrics || !cfg.DisableTracing {
		res = newResource(ctx, cfg, logger)
	}

	registry := prometheus.NewRegistry()
	if cfg.DisableMetrics {
		m.meterProvider = metricnoop.NewMeterProvider()
	} else {
		if err := registry.Register(collectors.NewGoCollector()); err != nil {
			return nil, fmt.Errorf("monitor: register Go collector: %w", err)
		}
		if err := registry.Register(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{})); err != nil {
			return nil, fmt.Errorf("monitor: register process collector: %w", err)
		}
		exp, err := otelprom.New(
			otelprom.WithRegisterer(registry),
			otelprom.WithTranslationStrategy(translationStrategy),
			otelprom.WithoutScopeInfo(),
			otelprom.WithProducer(histogramProducer{m}),
		)
		if err != nil {
			return nil, fmt.Errorf("monitor: prometheus exporter: %w", err)
		}
		m.reader = exp
		m.sdkMeter = sdkmetric.NewMeterProvider(
			sdkmetric.WithReader(exp),
			sdkmetric.WithResource(res),
		)
		m.meterProvider = m.sdkMeter
		m.metricsOn = true
	}
	m.handler = promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:      promLogger{logger},
		ErrorHandling: promhttp.ContinueOnError,
	})

	if cfg.DisableTracing || endpoint == "" {
		m.tracerProvider = tracenoop.NewTracerProvider()
	} else {
		exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(endpoint))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("monitor: OTLP trace exporter: %w", err), m.shutdownMeter(ctx))
		}
		m.sdkTracer = sdktrace.NewTracerProvider(
			sdktrace.WithBatcher(exp),
			sdktrace.WithResource(res),
		)
		m.tracerProvider = m.sdkTracer
		m.tracingOn = true
		logger.Debug("monitor: exporting spans over OTLP/HTTP", "endpoint", endpoint)
	}
	m.tracer = m.tracerProvider.Tracer(ScopeName)

	if m.metricsOn {
		if err := m.inst.init(m.meterProvider.Meter(ScopeName), m.observe); err != nil {
			return nil, errors.Join(err, m.Shutdown(ctx))
		}
	}
	return m, nil
}

// Nop returns a Monitor that records nothing: every method returns at once,
// [Monitor.Handler] serves an empty exposition and [Monitor.Snapshot] empty
// maps.
func Nop() *Monitor {
	m := &Monitor{
		logger:         slog.New(slog.DiscardHandler),
		meterProvider:  metricnoop.NewMeterProvider(),
		tracerProvider: tracenoop.NewTracerProvider(),
		handler:        promhttp.HandlerFor(prometheus.NewRegistry(), promhttp.HandlerOpts{}),
	}
	m.tracer = m.tracerProvider.Tracer(ScopeName)
	return m
}

func newResource(ctx context.Context, cfg Config, logger *slog.Logger) *resource.Resource {
	name := cfg.ServiceName
	if name == "" {
		name = DefaultServiceName
	}
	attrs := []attribute.KeyValue{attribute.String("service.name", name)}
	if cfg.ServiceVersion != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.ServiceVersion))
	}
	// Later detectors win: OTEL_RESOURCE_ATTRIBUTES may add attributes but
	// the service name and version come from cfg.
	res, err := resource.New(ctx,
		resource.WithTelemetrySDK(),
		resource.WithFromEnv(),
		resource.WithAttributes(attrs...),
	)
	if err != nil {
		// A partial resource is still returned; a malformed
		// OTEL_RESOURCE_ATTRIBUTES must not stop the service.
		logger.Warn("monitor: resource detection", "err", err)
	}
	return res
}

// tracesURL returns the URL spans are posted to, or "" when none is set.
func tracesURL(cfg Config) (string, error) {
	if cfg.OTLPTracesEndpoint != "" {
		if _, err := parseEndpoint(cfg.OTLPTracesEndpoint); err != nil {
			return "", err
		}
		return cfg.OTLPTracesEndpoint, nil
	}
	if cfg.OTLPEndpoint == "" {
		return "", nil
	}
	u, err := parseEndpoint(cfg.OTLPEndpoint)
	if err != nil {
		return "", err
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
	return u.String(), nil
}

func parseEndpoint(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err == nil && (u.Scheme != "http" && u.Scheme != "https" || u.Host == "") {
		err = errors.New("want an http:// or https:// URL with a host")
	}
	if err != nil {
		return nil, fmt.Errorf("monitor: OTLP endpoint %q: %w", s, err)
	}
	return u, nil
}

func (in *instruments) init(meter metric.Meter, callback metric.Callback) error {
	var errs []error
	counter := func(name, desc, unit string) metric.Int64ObservableCounter {
		c, err := meter.Int64ObservableCounter(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, desc, unit string) metric.Int64ObservableGauge {
		g, err := meter.Int64ObservableGauge(name, metric.WithDescription(desc), metric.WithUnit(unit))
		errs = append(errs, err)
		return g
	}
	in.operations = counter(nameOperations, descOperations, "{operation}")
	in.cacheHits = counter(nameCacheHits, descCacheHits, "{hit}")
	in.cacheMisses = counter(nameCacheMisses, descCacheMisses, "{miss}")
	in.cacheErrors = counter(nameCacheErrors, descCacheErrors, "{error}")
	var err error
	in.modelsLoaded, err = meter.Int64ObservableUpDownCounter(nameModelsLoaded,
		metric.WithDescription(descModelsLoaded), metric.WithUnit("{model}"))
	errs = append(errs, err)
	in.queueDepth = gauge(nameQueueDepth, descQueueDepth, "{task}")
	in.workersBusy = gauge(nameWorkersBusy, descWorkersBusy, "{worker}")
	in.trainingEpochs = counter(nameTrainingEpochs, descTrainingEpochs, "{epoch}")
	in.modelMemory = gauge(nameModelMemory, descModelMemory, "By")
	in.modelMemoryCap = gauge(nameModelMemoryLimit, descModelMemoryLimit, "By")
	in.heavyRunning = gauge(nameHeavyRunning, descHeavyRunning, "{call}")
	in.heavyLimit = gauge(nameHeavyLimit, descHeavyLimit, "{call}")
	in.jobs = counter(nameJobs, descJobs, "{job}")
	in.jobClaims = counter(nameJobClaims, descJobClaims, "{claim}")
	in.jobRetries = counter(nameJobRetries, descJobRetries, "{claim}")
	in.tenantHits = counter(nameTenantCacheHits, descTenantCacheHits, "{hit}")
	if err = errors.Join(errs...); err == nil {
		_, err = meter.RegisterCallback(callback,
			in.operations, in.cacheHits, in.cacheMisses, in.cacheErrors,
			in.modelsLoaded, in.queueDepth, in.workersBusy, in.trainingEpochs,
			in.modelMemory, in.modelMemoryCap, in.heavyRunning, in.heavyLimit,
			in.jobs, in.jobClaims, in.jobRetries, in.tenantHits)
	}
	if err != nil {
		return fmt.Errorf("monitor: create instruments: %w", err)
	}
	return nil
}

// Handler returns the handler for /metrics: the Prometheus text exposition
// of the Monitor's registry (its instruments, target_info, and the Go
// runtime and process collectors).
func (m *Monitor) Handler() http.Handler {
	if m == nil {
		return Nop().handler
	}
	return m.handler
}

// MeterProvider returns the provider behind the Monitor's instruments, for
// other instrumentation that should appear in /metrics and the
// [Monitor.Snapshot]. It is a no-op provider when metrics are disabled.
func (m *Monitor) MeterProvider() metric.MeterProvider {
	if m == nil {
		return metricnoop.NewMeterProvider()
	}
	return m.meterProvider
}

// TracerProvider returns the provider behind operation spans. It is a no-op
// provider unless spans are exported.
func (m *Monitor) TracerProvider() trace.TracerProvider {
	if m == nil {
		return tracenoop.NewTracerProvider()
	}
	return m.tracerProvider
}

// MetricsEnabled reports whether measurements are recorded.
func (m *Monitor) MetricsEnabled() bool { return m != nil && m.metricsOn }

// TracingExported reports whether operation spans are recorded and exported.
func (m *Monitor) TracingExported() bool { return m != nil && m.tracingOn }

// ForceFlush exports the spans ended so far. It blocks until they are sent
// or ctx is done.
func (m *Monitor) ForceFlush(ctx context.Context) error {
	if m == nil || m.sdkTracer == nil {
		return nil
	}
	return m.sdkTracer.ForceFlush(ctx)
}

// Shutdown flushes pending spans and stops the providers; measurements and
// spans after it are dropped. It is safe to call more than once: later calls
// return nil. Errors of the providers are combined with [errors.Join].
func (m *Monitor) Shutdown(ctx context.Context) error {
	if m == nil {
		return nil
	}
	var err error
	m.shutdownOnce.Do(func() {
		var errs []error
		if m.sdkTracer != nil {
			errs = append(errs, m.sdkTracer.Shutdown(ctx))
		}
		errs = append(errs, m.shutdownMeter(ctx))
		err = errors.Join(errs...)
	})
	return err
}

func (m *Monitor) shutdownMeter(ctx context.Context) error {
	if m.sdkMeter == nil {
		return nil
	}
	return m.sdkMeter.Shutdown(ctx)
}

// CacheHit counts a cache lookup that found an entry in backend.
func (m *Monitor) CacheHit(backend string) {
	if m == nil || !m.metricsOn {
		return
	}
	m.cache(backend).hits.Add(1)
}

// CacheMiss counts a cache lookup that found no entry in backend.
func (m *Monitor) CacheMiss(backend string) {
	if m == nil || !m.metricsOn {
		return
	}
	m.cache(backend).misses.Add(1)
}

// ObserveCache makes /metrics report the hits and misses of a cache in
// backend from counts, read at each collection: a cache that counts its
// lookups itself is not counted twice. Several caches (the Engines sharing
// a Monitor) add up, with the counts of [Monitor.CacheHit] and
// [Monitor.CacheMiss]. The returned stop ends the observation, keeping the
// final counts, so that the totals never go down.
func (m *Monitor) ObserveCache(backend string, counts func() (hits, misses int64)) (stop func()) {
	if m == nil || !m.metricsOn || counts == nil {
		return func() {}
	}
	c := m.cache(backend)
	f := &counts
	c.mu.Lock()
	c.counts = append(c.counts, f)
	c.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			h, mi := counts()
			c.hits.Add(h)
			c.misses.Add(mi)
			c.counts = slices.DeleteFunc(c.counts, func(g *func() (int64, int64)) bool { return g == f })
		})
	}
}

// CacheError counts a failed cache operation in backend.
func (m *Monitor) CacheError(backend string) {
	if m == nil || !m.metricsOn {
		return
	}
	m.cache(backend).errors.Add(1)
}

func (m *Monitor) cache(backend string) *cacheSeries {
	return load(&m.backends, backend, func() *cacheSeries {
		return &cacheSeries{opts: observeOpts(attribute.String(LabelBackend, backend))}
	})
}

// ModelLoaded adds delta (negative when unloading) to the number of models
// loaded.
func (m *Monitor) ModelLoaded(delta int) {
	if m == nil || !m.metricsOn {
		return
	}
	m.modelsLoaded.Add(int64(delta))
}

// SetQueueDepth records the number of tasks waiting in the work queue.
func (m *Monitor) SetQueueDepth(n int) {
	if m == nil || !m.metricsOn {
		return
	}
	m.queueDepth.Store(int64(n))
}

// SetBusyWorkers records the number of workers running a task.
func (m *Monitor) SetBusyWorkers(n int) {
	if m == nil || !m.metricsOn {
		return
	}
	m.workersBusy.Store(int64(n))
}

// TrainingEpochs counts n completed training epochs; n ≤ 0 is ignored.
func (m *Monitor) TrainingEpochs(n int) {
	if m == nil || !m.metricsOn || n <= 0 {
		return
	}
	m.trainingEpochs.Add(int64(n))
}

// SetModelMemory records the memory charged to the loaded models and its limit, in bytes.
func (m *Monitor) SetModelMemory(used, limit int64) {
	if m == nil || !m.metricsOn {
		return
	}
	m.modelMemory.Store(used)
	m.modelMemoryCap.Store(limit)
}

// SetHeavyCalls records the heavy calls running and how many may run at once.
func (m *Monitor) SetHeavyCalls(running, limit int) {
	if m == nil || !m.metricsOn {
		return
	}
	m.heavyRunning.Store(int64(running))
	m.heavyLimit.Store(int64(limit))
}

// JobClaimed records a job claimed by a worker pool: its attempt (a retry
// when above 1) and how long it waited since it was enqueued.
func (m *Monitor) JobClaimed(attempt int, waited time.Duration) {
	if m == nil || !m.metricsOn {
		return
	}
	m.jobClaims.Add(1)
	if attempt > 1 {
		m.jobRetries.Add(1)
	}
	m.timer(TimerJobWait).observe(max(waited, 0))
}

// JobFinished records a job's end, one of the Job* outcomes, and how long
// it ran. It counts the job without a tenant label; see
// [Monitor.JobFinishedFor].
func (m *Monitor) JobFinished(outcome string, ran time.Duration) {
	m.JobFinishedFor("", outcome, ran)
}

// promLogger adapts a slog.Logger to promhttp.Logger.
type promLogger struct{ l *slog.Logger }

func (p promLogger) Println(v ...any) {
	p.l.Error("monitor: serving /metrics", "err", fmt.Sprint(v...))
}
