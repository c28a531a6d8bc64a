package batch

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/pipeline"
	"github.com/dredge-cli/dredge/workers"
)

// Options configure a batch run. The zero value runs GOMAXPROCS workers
// on the Engine, writes results as they complete, goes on past failed
// tasks and draws no progress bar.
type Options struct {
	// Workers is the number of tasks run at once (0: GOMAXPROCS); with
	// Queue, the number of jobs in the queue at once (0: [DefaultInFlight]).
	Workers int
	// TaskTimeout bounds each task (0: no deadline of its own); with
	// Queue, from its enqueueing to its result, after which the job is
	// canceled and the task fails.
	TaskTimeout time.Duration
	// Queue, when not nil, runs the tasks as jobs of this queue instead of
	// on the Engine: the batch enqueues each task's operation and params,
	// polls the job's status and writes its result, while the queue's
	// workers (a [workers.Pool], worker processes on a Redis queue) run
	// the jobs. The Engine only reports unknown operations, which are not
	// enqueued. See "Fan-out through a queue" in the package doc.
	Queue workers.Queue
	// Ordered writes results in the input's order; else as they complete.
	Ordered bool
	// FailFast stops the batch at the first failed task (a malformed line
	// or an operation's error). That task's result is not written, so
	// that a rerun after a fix runs it again; Run returns a [*TaskError].
	FailFast bool
	// MaxLineBytes bounds an input line (0: [DefaultMaxLineBytes]); a
	// longer line is a malformed line.
	MaxLineBytes int
	// Progress, when not nil, gets a progress bar (the caller decides:
	// typically os.Stderr when it is a terminal).
	Progress io.Writer
}

// Summary is a batch's outcome: the pipeline's statistics of the tasks
// run, and the tasks skipped because the output already held their ids.
type Summary struct {
	pipeline.Stats
	// Skipped counts input tasks whose id the output already held.
	Skipped int64 `json:"skipped"`
	// Resumed counts the result lines the output held before the run.
	Resumed int64 `json:"resumed"`
	// DuplicateIDs counts ids the output held more than once: ids must be
	// unique within a batch for a rerun to skip the right tasks.
	DuplicateIDs int64 `json:"duplicate_ids,omitempty"`
}

// TaskError reports the failed task that stopped a batch run with
// [Options.FailFast].
type TaskError struct {
	Line    int64       // the task's input line
	ID      string      // the task's id
	Code    dredge.Code // the failure's code
	Message string      // the failure's message
}

func (e *TaskError) Error() string {
	msg := strings.TrimPrefix(e.Message, fmt.Sprintf("line %d: ", e.Line))
	return fmt.Sprintf("line %d (id %q): %s (%s)", e.Line, e.ID, msg, e.Code)
}

// Run runs the JSONL tasks read from in on eng and writes one result line
// per task to out. It does not resume: every task runs. Run returns when
// the input is done, ctx is done, reading or writing fails, or (with
// FailFast) a task fails, with the summary so far.
func Run(ctx context.Context, eng *dredge.Engine, in io.Reader, out io.Writer, opts Options) (Summary, error) {
	return run(ctx, eng, in, -1, newWriter(out, nil), "output", nil, opts)
}

// RunFile runs the JSONL tasks of the file inPath ("-": stdin) on eng and
// writes the results to the file outPath ("-": stdout). When outPath
// already holds results, the tasks whose ids it holds are skipped and the
// new results are appended: a rerun after an interruption completes the
// batch with every task exactly once. A torn last line (a write cut short
// by a kill) is cut off first. The file is synced at the end and now and
// then during the run.
func RunFile(ctx context.Context, eng *dredge.Engine, inPath, outPath string, opts Options) (Summary, error) {
	var in io.Reader = os.Stdin
	total := int64(-1)
	if inPath != "-" {
		f, err := os.Open(inPath)
		if err != nil {
			return Summary{}, fmt.Errorf("batch: tasks: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil && st.IsDir() {
			return Summary{}, fmt.Errorf("batch: tasks: %s is a directory", inPath)
		}
		in = f
		if opts.Progress != nil {
			total = countLines(f)
		}
	}
	if outPath == "-" {
		return run(ctx, eng, in, total, newWriter(os.Stdout, nil), "stdout", nil, opts)
	}
	f, err := os.OpenFile(outPath, os.O_RDWR|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return Summary{}, fmt.Errorf("batch: results: %w", err)
	}
	defer f.Close()
	done, lines, dups, err := loadDone(f)
	if err != nil {
		return Summary{}, fmt.Errorf("batch: results %s: %w", outPath, err)
	}
	r := &resume{done: done, lines: lines, dups: dups}
	s, err := run(ctx, eng, in, total, newWriter(f, f), outPath, r, opts)
	if cerr := f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("batch: results %s: %w", outPath, cerr)
	}
	return s, err
}

// resume is what an output file held before the run.
type resume struct {
	done        *idSet
	lines, dups int64
}

// countLines counts f's lines and seeks back to its start; -1 when it
// cannot.
func countLines(f *os.File) int64 {
	var n, last int64
	buf := make([]byte, 256<<10)
	for {
		k, err := f.Read(buf)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if k > 0 {
			last = int64(buf[k-1])
		}
		if err != nil {
			break
		}
	}
	if last != 0 && last != '\n' {
		n++
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return -1
	}
	return n
}

// run runs the batch; name names the output in errors.
func run(ctx context.Context, eng *dredge.Engine, in io.Reader, total int64, w *writer, name string, r *resume, opts Options) (Summary, error) {
	if eng == nil {
		return Summary{}, fmt.Errorf("%w: batch: nil Engine", dredge.ErrInvalidArgument)
	}
	pc := pipeline.Config{Workers: opts.Workers, TaskTimeout: opts.TaskTimeout, Ordered: opts.Ordered}
	if opts.Queue != nil {
		if pc.Workers == 0 {
			pc.Workers = DefaultInFlight
		}
		pc.Do = (&queueRunner{eng: eng, q: opts.Queue}).do
	}
	p, err := pipeline.New(eng, pc)
	if err != nil {
		return Summary{}, err
	}
	var sum Summary
	var done *idSet
	if r != nil {
		done, sum.Resumed, sum.DuplicateIDs = r.done, r.lines, r.dups
	}
	src := newSource(in, opts.MaxLineBytes, done)
	bar := newBar(opts.Progress, total)
	var n int64
	stopped := false
	sink := func(res pipeline.Result) error {
		line := src.lineOf(res.Seq)
		failed := res.Code != dredge.CodeOK
		if failed && (stopped || ctx.Err() != nil) {
			// A task cut short by the stop is not done: a rerun runs it.
			return nil
		}
		if failed && opts.FailFast {
			stopped = true
			return taskError(&res, line)
		}
		n++
		if err := w.write(&res, line, n); err != nil {
			return fmt.Errorf("batch: writing results to %s: %w", name, err)
		}
		if bar != nil && n%1024 == 0 {
			_ = bar.Set64(n + src.skippedNow())
		}
		return nil
	}
	sum.Stats, err = p.Run(ctx, src, sink)
	sum.Skipped = src.skippedNow()
	if ferr := w.flush(true); ferr != nil && err == nil {
		err = fmt.Errorf("batch: writing results to %s: %w", name, ferr)
	}
	if bar != nil {
		_ = bar.Set64(n + sum.Skipped)
		if err == nil {
			_ = bar.Finish()
		}
		_, _ = io.WriteString(opts.Progress, "\n")
	}
	return sum, err
}

func taskError(res *pipeline.Result, line int64) error {
	return &TaskError{Line: line, ID: res.ID, Code: res.Code, Message: dredge.MessageOf(res.Err)}
}

// newBar returns a progress bar on w (nil when w is nil) for total tasks
// (-1: unknown, a spinner).
func newBar(w io.Writer, total int64) *progressbar.ProgressBar {
	if w == nil {
		return nil
	}
	return progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("tasks"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("tasks"),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionFullWidth(),
	)
}
