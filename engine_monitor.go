package dredge

import (
	"context"

	"github.com/dredge-cli/dredge/monitor"
)

// WithMonitor instruments the Engine through m: a span and metrics per
// operation, cache hits and misses, models loaded and training epochs. The
// Engine does not shut m down. WithMonitor(nil) turns instrumentation off.
// By default an Engine has a monitor of its own with metrics on and spans
// not exported.
func WithMonitor(m *monitor.Monitor) Option {
	return optionFunc(func(c *config) error {
		c.monitor, c.monitorCfg, c.monitorSet = m, nil, true
		return nil
	})
}

// WithMonitorConfig makes the Engine create (and shut down) a monitor from cfg.
func WithMonitorConfig(cfg monitor.Config) Option {
	return optionFunc(func(c *config) error {
		c.monitor, c.monitorCfg, c.monitorSet = nil, &cfg, true
		return nil
	})
}

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

// startOp starts the instrumentation of one operation call.
func (e *Engine) startOp(ctx context.Context, op string) (context.Context, monitor.OpSpan) {
	o := e.opMon[op]
	if o == nil {
		return ctx, monitor.OpSpan{}
	}
	ctx, span := o.Start(ctx)
	if span.Recording() {
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
