package pipeline

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dredge-cli/dredge"
)

// Task is one call of a batch: an operation of the table and its JSON
// params, or a typed unified_inference.
type Task struct {
	// ID names the task in its result (optional).
	ID string
	// Operation and Params are the call, as [dredge.Engine.CallJSON] takes them.
	Operation string
	Params    json.RawMessage
	// Unified, when not nil, holds a unified_inference task's params
	// decoded, which are run instead of Params (skipping the decoding):
	// through the typed method on an Engine without a result cache, through
	// [dredge.Engine.AnswerParams] (the JSON answer, cached) with one.
	Unified *dredge.UnifiedParams
	// Err, when not nil, fails the task before it runs: a source reports a
	// malformed input line this way, and the batch goes on.
	Err error
}

// Result is the outcome of one task.
type Result struct {
	// Seq is the task's 0-based position in its source.
	Seq int64
	// ID is the task's ID.
	ID string
	// Code is the failure's code, [dredge.CodeOK] on success.
	Code dredge.Code
	// Err is the failure, nil on success ([dredge.MessageOf],
	// [dredge.FieldOf] read it).
	Err error
	// Body is the operation's JSON answer: the result with "success": true,
	// or {"success": false, "error", "code", "field"}. It is nil for typed
	// tasks when [Config.DiscardBodies] is set.
	Body []byte
	// Cached reports an answer served from the result cache.
	Cached bool
	// Latency is the time the call took.
	Latency time.Duration
}

// Source yields a batch's tasks. Next is called by one goroutine at a
// time; it fills t and reports false at the end. An error stops the batch
// (report a bad input line through [Task.Err] instead).
type Source interface {
	Next(t *Task) (bool, error)
}

// Config configures a [Pipeline]. The zero value runs GOMAXPROCS workers,
// results in the order they complete, without a per-task deadline.
type Config struct {
	// Workers is the number of tasks run at once (0: GOMAXPROCS).
	Workers int
	// TaskTimeout bounds each task (0: no deadline of its own).
	TaskTimeout time.Duration
	// Ordered hands results to the sink in the source's order; a window
	// of tasks ahead of the oldest unfinished one bounds the memory.
	Ordered bool
	// DiscardBodies skips encoding typed tasks' results: load tests that
	// only count successes, cache hits and latencies.
	DiscardBodies bool
	// Do, when not nil, runs each task in place of the Engine: the jobs of
	// a queue's workers, say. It gets the task's context (with TaskTimeout
	// applied) and returns the task's Code, Err, Body and Cached; the
	// pipeline sets Seq, ID and Latency. A task with Err set fails without
	// reaching Do. Do is called by Workers goroutines at once. With Do,
	// [New] accepts a nil Engine.
	Do func(ctx context.Context, t *Task) Result
}

// Pipeline runs batches of tasks on an Engine. It is safe for concurrent
// use; each Run has its own workers and statistics.
type Pipeline struct {
	eng    *dredge.Engine
	cfg    Config
	cached bool
}

// New returns a Pipeline over eng (which may be nil when [Config.Do]
// runs the tasks).
func New(eng *dredge.Engine, cfg Config) (*Pipeline, error) {
	if eng == nil && cfg.Do == nil {
		return nil, fmt.Errorf("%w: pipeline.New: nil Engine", dredge.ErrInvalidArgument)
	}
	if cfg.Workers < 0 || cfg.TaskTimeout < 0 {
		return nil, fmt.Errorf("%w: pipeline: Workers and TaskTimeout must not be negative", dredge.ErrInvalidArgument)
	}
	if cfg.Workers == 0 {
		cfg.Workers = runtime.GOMAXPROCS(0)
	}
	return &Pipeline{eng: eng, cfg: cfg, cached: eng != nil && eng.Cache() != nil}, nil
}

// chunk is how many tasks a worker takes from the source at a time.
const chunk = 64

// Run runs every task of src on the workers and hands each result to sink
// (nil: none), one call at a time, in the source's order with
// [Config.Ordered], else as they complete. A failing task is a result, not
// an error: Run stops early only when ctx is done, src fails or sink
// fails, returning that error with the statistics so far.
func (p *Pipeline) Run(ctx context.Context, src Source, sink func(Result) error) (Stats, error) {
	start := time.Now()
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	r := &run{p: p, ctx: ctx, cancel: cancel, src: src, sink: sink}
	if p.cfg.Ordered && sink != nil {
		r.window = newWindow(p.cfg.Workers*chunk*4, &r.mu)
		// Takers waiting for room must see the run end.
		stop := context.AfterFunc(ctx, r.window.wake)
		defer stop()
	}
	recs := make([]*recorder, p.cfg.Workers)
	// One budget of exact latencies for the whole batch, whichever
	// worker runs how many tasks.
	var exactLeft atomic.Int64
	exactLeft.Store(exactBudget(len(recs)))
	var wg sync.WaitGroup
	for i := range recs {
		recs[i] = &recorder{}
		wg.Go(func() { r.work(recs[i], &exactLeft) })
	}
	wg.Wait()
	return merge(recs, time.Since(start)), context.Cause(ctx)
}

type run struct {
	p      *Pipeline
	ctx    context.Context
	cancel context.CancelCauseFunc
	mu     sync.Mutex // guards src, seq and done
	src    Source
	seq    int64
	done   bool
	sinkMu sync.Mutex // serialises sink calls when unordered
	sink   func(Result) error
	window *window
}

// take fills buf with up to chunk tasks; it returns their first Seq.
func (r *run) take(buf []Task) ([]Task, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first := r.seq
	buf = buf[:0]
	for !r.done && len(buf) < chunk {
		if r.window != nil && !r.window.fits(r.seq) {
			// Waiting lets other workers take tasks: only an empty
			// chunk waits, so that a chunk's tasks stay consecutive.
			if len(buf) > 0 || !r.window.reserve(r.ctx, r.seq) {
				break
			}
			first = r.seq
			continue
		}
		buf = append(buf, Task{})
		ok, err := r.src.Next(&buf[len(buf)-1])
		if err != nil || !ok {
			buf = buf[:len(buf)-1]
			r.done = true
			if err != nil {
				r.cancel(fmt.Errorf("pipeline: reading tasks: %w", err))
			}
			break
		}
		r.seq++
	}
	return buf, first
}

func (r *run) work(rec *recorder, exactLeft *atomic.Int64) {
	buf := make([]Task, 0, chunk)
	for r.ctx.Err() == nil {
		var first int64
		buf, first = r.take(buf)
		if len(buf) == 0 {
			return
		}
		for i := range buf {
			if r.ctx.Err() != nil {
				return
			}
			res := r.p.do(r.ctx, &buf[i])
			res.Seq = first + int64(i)
			rec.add(res.Code == dredge.CodeOK, res.Cached, res.Latency, exactLeft)
			if r.sink != nil {
				if err := r.emit(res); err != nil {
					r.cancel(err)
					return
				}
			}
			buf[i] = Task{}
		}
	}
}

func (r *run) emit(res Result) error {
	if r.window != nil {
		return r.window.put(res, r.sink)
	}
	r.sinkMu.Lock()
	defer r.sinkMu.Unlock()
	return r.sink(res)
}

// fail makes r the failure err: its code and error JSON.
func (r *Result) fail(err error) {
	r.Code, r.Body, r.Err = dredge.CodeOf(err), dredge.ErrorJSON(err), err
}

// Failure is the Result of a task that failed with err (for a
// [Config.Do]): its code, its error and the error's JSON body.
func Failure(err error) Result {
	var r Result
	r.fail(err)
	return r
}

// do runs one task.
func (p *Pipeline) do(ctx context.Context, t *Task) Result {
	res := Result{ID: t.ID}
	if t.Err != nil {
		res.fail(t.Err)
		return res
	}
	if p.cfg.TaskTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, p.cfg.TaskTimeout)
		defer cancel()
	}
	start := time.Now()
	if p.cfg.Do != nil {
		res = p.cfg.Do(ctx, t)
		res.ID, res.Latency = t.ID, time.Since(start)
		return res
	}
	if t.Unified != nil && !p.cached && p.cfg.DiscardBodies {
		// Nothing to encode and nothing cached: the typed call alone.
		if _, err := p.eng.UnifiedInference(ctx, t.Unified); err != nil {
			res.fail(err)
		}
		res.Latency = time.Since(start)
		return res
	}
	var a dredge.Answer
	if t.Unified != nil {
		a = p.eng.AnswerParams(ctx, "unified_inference", t.Unified)
	} else {
		a = p.eng.Answer(ctx, t.Operation, t.Params)
	}
	res.Latency = time.Since(start)
	res.Body, res.Code, res.Err, res.Cached = a.Body, a.Code, a.Err, a.Cached
	return res
}

// window hands results to the sink in Seq order. Tasks are taken only
// while their Seq is within size of the oldest result not yet handed on,
// so at most size results wait.
type window struct {
	outer *sync.Mutex // run.mu, held by takers
	cond  *sync.Cond  // on outer: next advanced, or the run ends
	mu    sync.Mutex  // guards the fields below
	next  int64       // the Seq the sink gets next
	slots []Result
	full  []bool
	size  int64
}

func newWindow(size int, outer *sync.Mutex) *window {
	return &window{outer: outer, cond: sync.NewCond(outer), slots: make([]Result, size), full: make([]bool, size), size: int64(size)}
}

// fits reports whether seq fits in the window now.
func (w *window) fits(seq int64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return seq < w.next+w.size
}

// reserve waits, with outer held, until seq fits in the window; false when
// ctx is done first. Other takers may take tasks while it waits.
func (w *window) reserve(ctx context.Context, seq int64) bool {
	for !w.fits(seq) {
		if ctx.Err() != nil {
			return false
		}
		w.cond.Wait()
	}
	return true
}

// wake wakes every taker waiting in reserve.
func (w *window) wake() {
	w.outer.Lock()
	w.cond.Broadcast()
	w.outer.Unlock()
}

// put stores res and hands on every result now in order.
func (w *window) put(res Result, sink func(Result) error) error {
	advanced, err := w.flush(res, sink)
	if advanced {
		w.wake()
	}
	return err
}

func (w *window) flush(res Result, sink func(Result) error) (advanced bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	i := res.Seq % w.size
	w.slots[i], w.full[i] = res, true
	for {
		j := w.next % w.size
		if !w.full[j] {
			return advanced, nil
		}
		r := w.slots[j]
		w.slots[j], w.full[j] = Result{}, false
		w.next++
		advanced = true
		if err := sink(r); err != nil {
			return advanced, err
		}
	}
}
