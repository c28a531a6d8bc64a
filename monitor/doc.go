// Package monitor records DREDGE's metrics and traces on OpenTelemetry and
// serves them to Prometheus and to the get_metrics operation.
//
// A [Monitor] owns an OpenTelemetry MeterProvider, read by the OpenTelemetry
// Prometheus exporter into the Monitor's own Prometheus registry (never the
// global one) and served by [Monitor.Handler] at /metrics, and a
// TracerProvider that exports spans over OTLP/HTTP when an endpoint is set.
// [Monitor.Snapshot] reads the same reader, so /metrics and get_metrics
// always agree. The Monitor never touches OpenTelemetry's global providers
// and never calls back into the Engine.
//
// # Configuration
//
// The zero [Config] is the default: metrics on, tracing on but not exported.
// [ConfigFromEnv] reads METRICS_ENABLED, TRACING_ENABLED, OTEL_SDK_DISABLED,
// OTEL_SERVICE_NAME, OTEL_EXPORTER_OTLP_ENDPOINT and
// OTEL_EXPORTER_OTLP_TRACES_ENDPOINT. Disabled metrics or tracing use the
// OpenTelemetry no-op providers. [Nop] returns a Monitor that records
// nothing, and a nil *Monitor behaves the same, so callers need no checks.
// [Monitor.Shutdown] flushes pending spans; it is safe to call twice.
//
// # Recording
//
// The Engine instruments each operation with [Monitor.StartOperation] (or an
// [Operation] handle kept per operation) and [OpSpan.End]:
//
//	ctx, span := m.StartOperation(ctx, "unified_inference")
//	span.SetModelType("string_theory")
//	span.SetCached(false)
//	span.SetDevice("cpu")
//	… // run the operation with ctx
//	span.End(monitor.OutcomeSuccess) // or the error code
//
// Cache events go to [Monitor.CacheHit], [Monitor.CacheMiss] and
// [Monitor.CacheError]; models, queue and workers to [Monitor.ModelLoaded],
// [Monitor.SetQueueDepth] and [Monitor.SetBusyWorkers]; training to
// [Monitor.TrainingEpochs]. [Monitor.Timer] and [Monitor.ObserveDuration]
// time anything else.
//
// Operation, outcome, backend and timer names become metric labels: take
// them from small fixed sets (operation names, error codes), never from
// request data.
//
// # Tenants
//
// [Monitor.SetTenants] names the tenants whose calls are counted apart,
// under a tenant label; the HTTP adapter gives it the tenants of its keys
// file, again after each reload. A call of one of them, started with
// [Operation.StartTenant] (the Engine passes the tenant of the call's
// context), is counted in dredge_operations_total{operation, outcome,
// tenant}, and [OpSpan.SetCached] counts its cache hits in
// dredge_tenant_cache_hits_total{tenant}; [Monitor.JobFinishedFor] counts
// a tenant's jobs in dredge_jobs_total{outcome, tenant}. The default
// tenant "" and every name not in the set are counted in the series
// without the label, exactly as before tenants: a label value never comes
// from request data, so the number of series stays bounded by the set.
// The duration histograms have no tenant label (23 buckets a tenant would
// cost more than they tell). A call without a tenant costs what it did
// before tenants; one with a tenant name adds a look-up in the set (and,
// when labelled, in the operation's tenants); see
// BenchmarkRecordOperationTenant.
//
// # Metrics
//
// The exposition names, all with HELP text, and their labels:
//
//	dredge_operations_total{operation, outcome[, tenant]} counter
//	dredge_operation_duration_seconds{operation}          histogram
//	dredge_cache_hits_total{backend}                      counter
//	dredge_cache_misses_total{backend}                    counter
//	dredge_cache_errors_total{backend}                    counter
//	dredge_tenant_cache_hits_total{tenant}                counter
//	dredge_models_loaded                                  gauge
//	dredge_queue_depth                                    gauge
//	dredge_workers_busy                                   gauge
//	dredge_training_epochs_total                          counter
//	dredge_model_memory_bytes                             gauge
//	dredge_model_memory_limit_bytes                       gauge
//	dredge_heavy_calls                                    gauge
//	dredge_heavy_calls_limit                              gauge
//	dredge_timer_duration_seconds{timer}                  histogram (job_wait, job_run: job latency)
//	dredge_jobs_total{outcome[, tenant]}                  counter
//	dredge_job_claims_total                               counter
//	dredge_job_retries_total                              counter
//	target_info{service_name, service_version, …}         gauge
//
// plus the Go runtime (go_*) and process (process_*) collectors. Names
// follow the exporter's UnderscoreEscapingWithSuffixes translation: the
// instruments are named without suffixes ("dredge_operations", unit
// "{operation}"; "dredge_operation_duration", unit "s") and the exporter
// appends "_total" to counters and "_seconds" for the unit; scope labels are
// off. Duration histograms use [DurationBuckets] (1 µs to 10 s) rather than
// OpenTelemetry's defaults, which suit milliseconds. The output passes
// promtool check metrics without warnings.
//
// # Snapshot
//
// [Monitor.Snapshot] returns the get_metrics shape, {counters, gauges,
// histograms, timers}, keyed by exposition name and sorted, unquoted labels:
//
//	dredge_operations_total{operation=unified_inference,outcome=success}
//	dredge_operation_duration_seconds{operation=unified_inference}
//
// Duration histograms appear under timers, with count, total_time, min, max
// and avg in seconds. See [Snapshot] for the rules.
//
// # Tracing
//
// With an OTLP endpoint ([Config.OTLPEndpoint], OTEL_EXPORTER_OTLP_ENDPOINT)
// each operation is a span named after it, with the attributes
// dredge.operation, dredge.model_type, dredge.cached, dredge.device and
// dredge.outcome, and status Error for failed operations; spans go through
// a batch span processor to the OTLP/HTTP exporter. Without an endpoint the
// tracer is a no-op: StartOperation returns ctx unchanged and the OpSpan
// setters do nothing.
//
// # Cost
//
// Recording never blocks or allocates. Counters and gauges are atomics read
// at collection time by observable instruments; the duration histograms are
// aggregated lock-free in this package and handed to the reader as a
// metric Producer, because synchronous SDK instruments cost several hundred
// nanoseconds an operation (see BenchmarkSDKSyncInstruments). An operation
// without exported tracing costs two clock reads and a few atomic adds; see
// BenchmarkRecordOperation. Exported spans cost what the SDK costs (a few
// microseconds), so sample with OTEL_TRACES_SAMPLER where that matters.
package monitor
