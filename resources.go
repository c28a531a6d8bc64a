package dredge

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/dustin/go-humanize"

	"github.com/dredge-cli/dredge/internal/memlimit"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Resource limits. A service shared by a team must survive any sequence of
// requests: sizes are checked from the request alone before the work they
// ask for, loaded models share a memory budget, and heavy calls take turns.
const (
	// ModelMemoryFraction is the part of the memory the process may use
	// (the cgroup limit where there is one, otherwise physical memory)
	// that the default model-memory budget takes.
	ModelMemoryFraction = 0.5
	// DefaultModelMemoryLimit is the budget where that memory is unknown.
	DefaultModelMemoryLimit = 4 << 30

	// BytesPerValue is what a loaded model is charged per value of its
	// flat vector: the value itself (8 bytes).
	BytesPerValue = 8
	// TrainingBytesPerValue is what a training run is charged per value
	// while it is set up: its working copy of the parameters, their
	// gradient and Adam's two moments. Once its data set is known it is
	// charged the copy and [stringtheory.TrainingBytes] instead.
	TrainingBytesPerValue = 32

	// HeavyWork is the work (points × trainable parameters) from which an
	// inference is a heavy call that takes a turn; training always does.
	HeavyWork = 1 << 24
)

// SoftLimitFraction is the part of the memory behind the model budget
// that [Engine.SoftMemoryLimit] suggests for Go's soft memory limit.
const SoftLimitFraction = 0.9

// SoftMemoryLimit is the Go soft memory limit (GOMEMLIMIT) that the
// Engine's model memory budget implies: [SoftLimitFraction] of the memory
// the budget is [ModelMemoryFraction] of, and at most that fraction of the
// memory the process may use. The example binaries set it unless
// GOMEMLIMIT is set, so that the collector keeps the heap near what the
// budget allows instead of letting it double.
func (e *Engine) SoftMemoryLimit() int64 {
	_, limit := e.budget.usage()
	soft := int64(float64(limit) / ModelMemoryFraction * SoftLimitFraction)
	if t, _ := memlimit.Total(); t > 0 {
		soft = min(soft, int64(float64(t)*SoftLimitFraction))
	}
	return soft
}

// defaultModelMemory is the budget of a zero WithModelMemoryLimit.
func defaultModelMemory() int64 {
	if t, _ := memlimit.Total(); t > 0 {
		return int64(float64(t) * ModelMemoryFraction)
	}
	return DefaultModelMemoryLimit
}

// budget is the memory charged to loaded models and running trainings.
type budget struct {
	mu    sync.Mutex
	used  int64
	limit int64
	// changed is told the new use; it runs with mu held.
	changed func(used, limit int64)
}

// reserve charges n bytes, or fails with CodeResourceExhausted naming
// field, without charging anything, when the budget cannot hold them.
func (b *budget) reserve(field, what string, n int64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.limit-b.used {
		msg := fmt.Sprintf("%s: %s needs %s, but %s of the model memory limit %s is in use (MODEL_MEMORY_LIMIT): unload models or raise the limit",
			field, what, ibytes(n), ibytes(b.used), ibytes(b.limit))
		return &Error{Code: CodeResourceExhausted, Field: field, Message: msg, Err: ErrResourceExhausted}
	}
	b.used += n
	b.changed(b.used, b.limit)
	return nil
}

func (b *budget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.changed(b.used, b.limit)
}

func (b *budget) usage() (used, limit int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used, b.limit
}

func ibytes(n int64) string {
	if n < 0 {
		n = 0
	}
	return humanize.IBytes(uint64(n))
}

// turns admits heavy calls, at most cap(slots) at once.
type turns struct {
	slots   chan struct{}
	changed func(running, limit int)
}

// take waits for a turn until ctx is done; release it with give.
func (t *turns) take(ctx context.Context) error {
	select {
	case t.slots <- struct{}{}:
	default:
		select {
		case t.slots <- struct{}{}:
		case <-ctx.Done():
			return &Error{Code: CodeUnavailable, Message: fmt.Sprintf(
				"busy: %d heavy calls (training, large inferences) are running, the limit MAX_CONCURRENT_HEAVY, and none finished before the deadline: retry later",
				cap(t.slots)), Err: fmt.Errorf("%w: %w", ErrUnavailable, ctx.Err())}
		}
	}
	t.changed(len(t.slots), cap(t.slots))
	return nil
}

func (t *turns) give() {
	<-t.slots
	t.changed(len(t.slots), cap(t.slots))
}

// initResources sets up the budget and the turns from c.
func (e *Engine) initResources(c *config) {
	e.budget.limit = c.modelMemory
	if e.budget.limit == 0 {
		e.budget.limit = defaultModelMemory()
	}
	e.budget.changed = e.mon.SetModelMemory
	n := c.maxHeavy
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	e.heavy = turns{slots: make(chan struct{}, n), changed: e.mon.SetHeavyCalls}
	e.mon.SetModelMemory(0, e.budget.limit)
	e.mon.SetHeavyCalls(0, n)
}

// checkWork refuses work (points × parameters, times epochs for training)
// above [stringtheory.MaxWork] before it starts.
func checkWork(field string, work float64, what string) error {
	if work > stringtheory.MaxWork {
		return invalid(field, "the work is %.3g multiply-adds (points × parameters), more than the limit %.3g: %s",
			work, float64(stringtheory.MaxWork), what)
	}
	return nil
}

// stopped turns a context error of a heavy call into an unavailable error
// that says what happened.
func stopped(op string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &Error{Code: CodeUnavailable, Message: op + ": stopped at the request's deadline or cancellation (REQUEST_TIMEOUT); nothing was stored",
			Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
	}
	return err
}

// Resources reports the Engine's resource use and limits.
type Resources struct {
	// ModelMemoryBytes is the memory charged to loaded models and running trainings.
	ModelMemoryBytes int64 `json:"model_memory_bytes"`
	// ModelMemoryLimitBytes is the budget (MODEL_MEMORY_LIMIT).
	ModelMemoryLimitBytes int64 `json:"model_memory_limit_bytes"`
	// ModelsLoaded and MaxModels count the loaded models and their cap.
	ModelsLoaded int `json:"models_loaded"`
	MaxModels    int `json:"max_models"`
	// HeavyCalls is the number of heavy calls running; MaxConcurrentHeavy their limit.
	HeavyCalls         int `json:"heavy_calls"`
	MaxConcurrentHeavy int `json:"max_concurrent_heavy"`
}

func (e *Engine) resources() Resources {
	used, limit := e.budget.usage()
	return Resources{
		ModelMemoryBytes: used, ModelMemoryLimitBytes: limit,
		ModelsLoaded: e.models.len(), MaxModels: e.models.max,
		HeavyCalls: len(e.heavy.slots), MaxConcurrentHeavy: cap(e.heavy.slots),
	}
}
