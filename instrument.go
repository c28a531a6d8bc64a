package dredge

import (
	"context"

	"github.com/dredge-cli/dredge/monitor"
)

// Monitor returns the Engine's monitor (nil when instrumentation is off),
// for adapters that serve /metrics.
func (e *Engine) Monitor() *monitor.Monitor { return e.mon }

func (e *Engine) openMonitor(c *config) error {
	m := c.monitor
	if !c.monitorSet {
		c.monitorCfg = &monitor.Config{}
	}
	if c.monitorCfg != nil {
		cfg := *c.monitorCfg
		if cfg.ServiceVersion == "" {
			cfg.ServiceVersion = Version
		}
		if cfg.Logger == nil {
			cfg.Logger = e.logger
		}
		var err error
		if m, err = monitor.New(cfg); err != nil {
			return err
		}
		e.closers = append(e.closers, m.Shutdown)
	}
	e.mon = m
	e.opMon = make(map[string]*monitor.Operation, len(table))
	for name := range table {
		e.opMon[name] = m.Operation(name)
	}
	return nil
}

type spanKey struct{}

// startOp starts the instrumentation of one operation call, counted under
// the tenant of ctx where the monitor labels it (monitor.Monitor.SetTenants).
func (e *Engine) startOp(ctx context.Context, op string) (context.Context, monitor.OpSpan) {
	o := e.opMon[op]
	if o == nil {
		return ctx, monitor.OpSpan{}
	}
	ctx, span := o.StartTenant(ctx, TenantOf(ctx))
	// Only a recorded span is worth the annotations and the context value
	// (a labelled tenant's call is Recording for its cache hits alone).
	if span.Span().IsRecording() {
		span.SetDevice(e.devInfo.Kind)
		ctx = context.WithValue(ctx, spanKey{}, span)
	}
	return ctx, span
}

// spanModelType records the model type on the operation's span, if any.
func spanModelType(ctx context.Context, typ string) {
	if s, ok := ctx.Value(spanKey{}).(monitor.OpSpan); ok {
		s.SetModelType(typ)
	}
}

func (e *Engine) metricsEnabled() bool { return e.mon.MetricsEnabled() }
func (e *Engine) modelLoaded()         { e.mon.ModelLoaded(1) }
func (e *Engine) trainingEpochs(n int) { e.mon.TrainingEpochs(n) }

// Metrics returns a snapshot of the Engine's metrics in the original's
// shape, built from the same instruments that /metrics exposes.
func (e *Engine) Metrics(ctx context.Context) (*MetricsResult, error) {
	return opMetrics.run(ctx, e, &NoParams{})
}

func (e *Engine) metrics(ctx context.Context) (*MetricsResult, error) {
	return &MetricsResult{Success: true, Metrics: e.mon.Snapshot()}, nil
}
