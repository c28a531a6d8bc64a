package monitor

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Operation is the instrumentation of one named operation: a span per call,
// the dredge_operations_total counter and the
// dredge_operation_duration_seconds histogram. Recording a call allocates
// nothing.
//
// Get one with [Monitor.Operation] (the Engine can keep one per entry of its
// operation table, saving a map lookup per call) or use
// [Monitor.StartOperation]. A nil *Operation is valid and records nothing.
// Methods are safe for concurrent use.
type Operation struct {
	m        *Monitor
	name     string
	spanOpts []trace.SpanStartOption
	hist     *histogram     // all calls, whatever their tenant
	counts   *outcomeCounts // this Operation's calls by outcome

	// An Operation counts the calls of no labelled tenant, and holds one
	// Operation per labelled tenant (tenant.go), which shares its name,
	// span options and histogram, and counts that tenant's calls and
	// cache hits. OpSpan stays four words: with a fifth (the tenant), the
	// calls of the no-op Monitor took three times as long (10 → 33 ns), in
	// copies of the OpSpan.
	tenants sync.Map // tenant string → *Operation
	hits    *series  // the tenant's cache hits; nil but in a tenant's Operation
}

// Operation returns the instrumentation of the operation called name,
// creating it on first use. It returns nil, which records nothing, when the
// Monitor records neither metrics nor spans.
func (m *Monitor) Operation(name string) *Operation {
	if m == nil || !m.metricsOn && !m.tracingOn {
		return nil
	}
	return load(&m.ops, name, func() *Operation {
		return &Operation{
			m:    m,
			name: name,
			spanOpts: []trace.SpanStartOption{
				trace.WithSpanKind(trace.SpanKindInternal),
				trace.WithAttributes(AttrOperation.String(name)),
			},
			hist:   newHistogram(attribute.String(LabelOperation, name)),
			counts: newOutcomeCounts(attribute.String(LabelOperation, name)),
		}
	})
}

// StartOperation starts timing an operation and, when spans are exported, a
// span named op that is a child of any span in ctx. It returns the context
// to pass down (ctx itself when no span is recorded) and the [OpSpan] to end
// with the outcome. It is m.Operation(op).Start(ctx).
func (m *Monitor) StartOperation(ctx context.Context, op string) (context.Context, OpSpan) {
	return m.Operation(op).Start(ctx)
}

// RecordOperation records an operation timed elsewhere: it counts it under
// outcome and observes d, without a span. It is m.Operation(op).Record(…).
func (m *Monitor) RecordOperation(ctx context.Context, op, outcome string, d time.Duration) {
	m.Operation(op).Record(ctx, outcome, d)
}

// Name returns the operation's name.
func (o *Operation) Name() string {
	if o == nil {
		return ""
	}
	return o.name
}

// Start starts timing a call of the operation; see [Monitor.StartOperation].
// It counts the call without a tenant label.
func (o *Operation) Start(ctx context.Context) (context.Context, OpSpan) {
	if o == nil {
		return ctx, OpSpan{}
	}
	s := OpSpan{op: o}
	if o.m.tracingOn {
		ctx, s.span = o.m.tracer.Start(ctx, o.name, o.spanOpts...)
	}
	s.start = monotonic()
	return ctx, s
}

// StartTenant is [Operation.Start] for a call of tenant: when tenant is in
// the set of [Monitor.SetTenants], the call is counted under its tenant
// label in dredge_operations_total, and [OpSpan.SetCached] counts its cache
// hits in dredge_tenant_cache_hits_total; otherwise it is Start. The
// duration histogram has no tenant label.
func (o *Operation) StartTenant(ctx context.Context, tenant string) (context.Context, OpSpan) {
	if tenant != "" && o != nil && o.m.metricsOn {
		if t := o.forTenant(tenant); t != nil {
			return t.Start(ctx)
		}
	}
	return o.Start(ctx)
}

// Record counts one call of the operation under outcome ("" means
// [OutcomeSuccess]) and observes its duration d. The context is unused at
// present.
func (o *Operation) Record(_ context.Context, outcome string, d time.Duration) {
	if o == nil || !o.m.metricsOn {
		return
	}
	o.counts.add(outcome)
	o.hist.observe(d)
}

// OpSpan is one call of an [Operation] in progress, returned by
// [Operation.Start]. It is a small value: copy it freely, and call
// [OpSpan.End] exactly once, from any goroutine. The Set methods annotate the
// span; they do nothing when no span is recorded. The zero OpSpan does
// nothing.
type OpSpan struct {
	op    *Operation    // or, for a labelled tenant, its own (Operation.tenants)
	span  trace.Span    // nil unless recorded
	start time.Duration // monotonic()
}

// Recording reports whether the call's annotations are kept: a span is
// recorded, or the call is a labelled tenant's, whose cache hits
// [OpSpan.SetCached] counts. Callers skip computing costly attributes
// when it is false. [OpSpan.Span] tells whether a span is recorded.
func (s OpSpan) Recording() bool { return s.span != nil || s.op != nil && s.op.hits != nil }

// Span returns the underlying OpenTelemetry span: a non-recording one when
// spans are not exported.
func (s OpSpan) Span() trace.Span {
	if s.span == nil {
		return trace.SpanFromContext(context.Background())
	}
	return s.span
}

// SetModelType sets the span's dredge.model_type attribute.
func (s OpSpan) SetModelType(model string) {
	if s.span != nil {
		s.span.SetAttributes(AttrModelType.String(model))
	}
}

// SetCached sets the span's dredge.cached attribute: whether the result came
// from the cache. For a call of a labelled tenant (see
// [Operation.StartTenant]), a cached result also counts one hit in
// dredge_tenant_cache_hits_total: call it at most once a call.
func (s OpSpan) SetCached(cached bool) {
	if cached && s.op != nil && s.op.hits != nil {
		s.op.hits.n.Add(1)
	}
	if s.span != nil {
		s.span.SetAttributes(AttrCached.Bool(cached))
	}
}

// SetDevice sets the span's dredge.device attribute, e.g. "cpu".
func (s OpSpan) SetDevice(device string) {
	if s.span != nil {
		s.span.SetAttributes(AttrDevice.String(device))
	}
}

// SetAttributes sets further span attributes.
func (s OpSpan) SetAttributes(kv ...attribute.KeyValue) {
	if s.span != nil {
		s.span.SetAttributes(kv...)
	}
}

// End ends the call: it counts it under outcome ([OutcomeSuccess], "" for
// the same, or an error code), observes its duration and ends the span,
// whose status is Error with the outcome as description unless the outcome
// is success. It returns the duration.
func (s OpSpan) End(outcome string) time.Duration {
	if s.op == nil {
		return 0
	}
	d := monotonic() - s.start
	if s.span != nil {
		if outcome == "" {
			outcome = OutcomeSuccess
		}
		s.span.SetAttributes(AttrOutcome.String(outcome))
		if outcome != OutcomeSuccess {
			s.span.SetStatus(codes.Error, outcome)
		}
		s.span.End()
	}
	if s.op.m.metricsOn {
		s.op.counts.add(outcome)
		s.op.hist.observe(d)
	}
	return d
}

// Timer times a block of code into the dredge_timer_duration_seconds
// histogram, labelled with the timer's name:
//
//	t := m.Timer("load_weights")
//	defer t.Stop()
//
// It is a small value; Stop it once.
type Timer struct {
	h       *histogram // nil when not recording
	start   time.Duration
	started bool
}

// Timer starts a [Timer] called name. A Timer of a disabled or nil Monitor
// only measures.
func (m *Monitor) Timer(name string) Timer {
	t := Timer{started: true}
	if m != nil && m.metricsOn {
		t.h = m.timer(name)
	}
	t.start = monotonic()
	return t
}

// Stop records the time since the Timer started and returns it. Stopping
// the zero Timer returns 0.
func (t Timer) Stop() time.Duration {
	if !t.started {
		return 0
	}
	d := monotonic() - t.start
	if t.h != nil {
		t.h.observe(d)
	}
	return d
}

// ObserveDuration records d, measured elsewhere, as if a [Timer] called name
// had run for d.
func (m *Monitor) ObserveDuration(name string, d time.Duration) {
	if m == nil || !m.metricsOn {
		return
	}
	m.timer(name).observe(d)
}

func (m *Monitor) timer(name string) *histogram {
	return load(&m.timers, name, func() *histogram { return newHistogram(attribute.String(LabelTimer, name)) })
}
