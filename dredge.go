package dredge

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/monitor"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Version is the library's version, reported by list_capabilities and the adapters.
const Version = "0.3.0"

// Name is the server name reported by list_capabilities: the Python
// original's MCP server name, which its clients check.
const Name = "DREDGE Quasimoto String Theory MCP Server"

// Title is the short display name: the MCP server's title.
const Title = "DREDGE"

// ServiceName and ServiceDescription are what the Python original's
// "DREDGE x Dolly" server answered at GET /; the HTTP service's index
// (package adapters/httpapi) answers them beside the capabilities.
const (
	ServiceName        = "DREDGE x Dolly"
	ServiceDescription = "GPU-CPU Lifter · Save · Files · Print"
)

// Engine runs DREDGE's operations. It holds the device, the model registry
// and the subsystems (cache, monitor) that the operations use. Every
// adapter dispatches through [Engine.Call] or [Engine.CallJSON], or calls
// the typed methods directly.
//
// An Engine is safe for concurrent use by multiple goroutines.
type Engine struct {
	dev        accel.Device
	ownDevice  bool
	devInfo    accel.Info
	logger     *slog.Logger
	vib        stringtheory.Vibration
	stringNN   StringNNDefaults
	models     registry
	modelStore modelstore.Store // nil: models live in this Engine only
	summaries  summaries        // of stored models, for list_models

	results      *cache.ResultCache // nil: caching disabled
	cacheBackend string

	mon   *monitor.Monitor              // nil: not instrumented
	opMon map[string]*monitor.Operation // per operation, nil entries record nothing

	timeouts [2]time.Duration // per call: ordinary, long-running; 0: none

	budget  budget    // memory of loaded models and running trainings
	tenants tenantUse // what each tenant holds against its limits
	heavy   turns     // heavy calls running

	closed    atomic.Bool
	closeOnce sync.Once
	closers   []func(context.Context) error
}

// New returns an Engine configured by opts. With no options it runs on
// the CPU (or CUDA in a cuda build with a GPU) with nothing else to set up.
func New(opts ...Option) (*Engine, error) {
	c := config{deviceKind: accel.KindAuto, maxModels: 10_000}
	for _, o := range opts {
		if o == nil {
			continue
		}
		if err := o.apply(&c); err != nil {
			return nil, err
		}
	}
	if c.logger == nil {
		c.logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	e := &Engine{
		logger:   c.logger,
		vib:      stringtheory.DefaultVibration,
		stringNN: c.stringNN,
	}
	e.models.max = c.maxModels
	e.models.maxPerTenant = c.tenants.Models
	e.tenants.limits = c.tenants
	for i, d := range [2]time.Duration{cmp.Or(c.requestTimeout, DefaultRequestTimeout), cmp.Or(c.longTimeout, DefaultLongRequestTimeout)} {
		e.timeouts[i] = max(d, 0)
	}
	if c.device != nil {
		e.dev = c.device
	} else {
		dev, warn, err := accel.Open(c.deviceKind)
		if err != nil {
			return nil, invalid("DEVICE", "unknown device %q (want auto, cpu or cuda)", c.deviceKind)
		}
		if warn != nil {
			e.logger.Warn("device fallback", "requested", c.deviceKind, "reason", warn.Error())
		}
		e.dev, e.ownDevice = dev, true
	}
	e.devInfo = e.dev.Info()
	if err := e.openMonitor(&c); err != nil {
		_ = e.Close()
		return nil, err
	}
	if err := e.openCache(&c); err != nil {
		_ = e.Close()
		return nil, err
	}
	e.initResources(&c)
	if err := e.openModelStore(&c); err != nil {
		_ = e.Close()
		return nil, err
	}
	return e, nil
}

// Device returns the device the Engine's models run on.
func (e *Engine) Device() accel.Device { return e.dev }

// Close releases the Engine's resources. It is safe to call more than
// once; later calls return nil. Operations after Close fail with [ErrClosed].
func (e *Engine) Close() error {
	return e.Shutdown(context.Background())
}

// Shutdown is [Engine.Close] with a context bounding how long closing the
// subsystems may take. Errors of the subsystems are joined.
func (e *Engine) Shutdown(ctx context.Context) error {
	var err error
	e.closeOnce.Do(func() {
		e.closed.Store(true)
		var errs []error
		for i := len(e.closers) - 1; i >= 0; i-- {
			if cerr := e.closers[i](ctx); cerr != nil {
				errs = append(errs, cerr)
			}
		}
		if c, ok := e.dev.(interface{ Close() error }); ok && e.ownDevice {
			if cerr := c.Close(); cerr != nil {
				errs = append(errs, cerr)
			}
		}
		err = errors.Join(errs...)
	})
	return err
}

func (e *Engine) check() error {
	if e.closed.Load() {
		return &Error{Code: CodeUnavailable, Message: "engine closed", Err: ErrClosed}
	}
	return nil
}
