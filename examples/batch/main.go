package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"golang.org/x/term"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/adapters/batch"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/pipeline"
	"github.com/dredge-cli/dredge/workers"
)

func main() {
	var (
		tasks      = flag.Int("tasks", 0, "run the original's load test with this many tasks")
		repeats    = flag.Bool("repeats", false, "load test: every fifth task repeats an earlier one")
		in         = flag.String("in", "", `JSONL tasks to run ("-": stdin)`)
		out        = flag.String("out", "-", `results file, resumed when it exists ("-": stdout, no resume)`)
		nWorkers   = flag.Int("workers", 0, "tasks run at once (0: one per CPU; with -queue, jobs in flight, 0: 256)")
		noCache    = flag.Bool("no-cache", false, "turn the result cache off")
		ordered    = flag.Bool("ordered", false, "write results in the input's order (default: as they complete)")
		failFast   = flag.Bool("fail-fast", false, "stop at the first failed task")
		noProgress = flag.Bool("no-progress", false, "never draw a progress bar")
		timeout    = flag.Duration("timeout", 0, "deadline of each task (0: none)")
		asJSON     = flag.Bool("json", false, "print the summary as one JSON line")
		queueKind  = flag.String("queue", "", "with -in: run the tasks as jobs of a queue, memory (a pool in this process) or redis (examples/worker processes run them; REDIS_URL, QUEUE_PREFIX); default: none, on this process")
	)
	flag.Parse()
	if (*tasks > 0) == (*in != "") || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "batch: want either -tasks N or -in FILE")
		flag.Usage()
		os.Exit(2)
	}
	if *queueKind != "" && (*tasks > 0 || *queueKind != "memory" && *queueKind != "redis") {
		fmt.Fprintln(os.Stderr, "batch: -queue is memory or redis, with -in")
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	opts := []dredge.Option{dredge.FromEnv()}
	if *noCache {
		opts = append(opts, dredge.WithCache(nil))
	} else if *in != "" {
		opts = append(opts, boundMemory()...)
	}
	eng, err := dredge.New(opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "batch:", err)
		os.Exit(1)
	}
	defer eng.Close()

	var summary any
	var text string
	if *tasks > 0 {
		var s pipeline.Stats
		s, err = loadTest(ctx, eng, *tasks, *nWorkers, *repeats)
		summary, text = s, statsText(s)
	} else {
		bo := batch.Options{Workers: *nWorkers, TaskTimeout: *timeout, Ordered: *ordered, FailFast: *failFast}
		if !*noProgress && term.IsTerminal(int(os.Stderr.Fd())) {
			bo.Progress = os.Stderr
		}
		var s batch.Summary
		s, err = runFile(ctx, eng, *queueKind, *in, *out, bo)
		summary = s
		switch {
		case s.TotalTasks == 0 && s.Skipped == 0 && err == nil:
			text = fmt.Sprintf("no tasks: %s has no task lines", *in)
		case s.Skipped == 0:
			text = statsText(s.Stats)
		default:
			text = fmt.Sprintf("%s; %d skipped (already in %s)", statsText(s.Stats), s.Skipped, *out)
		}
		if s.DuplicateIDs > 0 {
			text += fmt.Sprintf("; warning: %d ids appear more than once in the results (ids must be unique to resume)", s.DuplicateIDs)
		}
	}
	var w io.Writer = os.Stdout
	if *in != "" && *out == "-" {
		w = os.Stderr
	}
	if *asJSON {
		b, _ := json.Marshal(summary)
		fmt.Fprintf(w, "%s\n", b)
	} else {
		fmt.Fprintln(w, text)
	}
	if err != nil {
		if errors.Is(err, context.Canceled) {
			err = errors.New("interrupted; rerun the same command to resume")
		}
		fmt.Fprintln(os.Stderr, "batch:", err)
		os.Exit(1)
	}
}

// runFile runs the batch, on eng or, with kind memory or redis, as jobs
// of the queue the environment configures (workers.ConfigFromEnv). A
// memory queue's jobs run on a pool in this process (NUM_WORKERS ×
// WORKER_CONCURRENCY); a Redis queue's on the worker processes.
func runFile(ctx context.Context, eng *dredge.Engine, kind, in, out string, opts batch.Options) (batch.Summary, error) {
	if kind == "" {
		return batch.RunFile(ctx, eng, in, out, opts)
	}
	cfg, err := workers.ConfigFromEnv()
	if err != nil {
		return batch.Summary{}, err
	}
	cfg.Backend = kind
	q, err := workers.Open(ctx, cfg)
	if err != nil {
		return batch.Summary{}, err
	}
	defer q.Close()
	if kind == "memory" {
		if cfg.Workers == 0 {
			return batch.Summary{}, errors.New("NUM_WORKERS: -queue memory runs the jobs in this process: want at least one worker")
		}
		pool := workers.NewPool(eng, q, workers.PoolConfig{Concurrency: cfg.Workers * cfg.Concurrency})
		pool.Start()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = pool.Shutdown(sctx)
		}()
	}
	opts.Queue = q
	return batch.RunFile(ctx, eng, in, out, opts)
}

// Unless the environment sizes them, a file batch keeps at most
// fileCacheBytes of results in its memory cache and runs under a soft
// memory limit of that plus streamHeadroom, so that a batch of any length
// stays under 100 MB resident. With the Engine's default 64 MiB cache and
// no limit, the collector lets the heap grow to twice the live data: a
// million unified_inference lines peaked at 129 MB (6,305 distinct
// answers, 8.5 s) and 237 MB (all distinct, 13.3 s); with these, at 80 MB
// (87% hits, 9.0 s) and 84 MB (16.8 s), same run.
const (
	fileCacheBytes = 24 << 20
	streamHeadroom = 40 << 20
)

// boundMemory returns the options that size a file batch's memory cache
// (when CACHE_MAX_BYTES is unset) and sets the soft memory limit (when
// GOMEMLIMIT is unset) to the cache's bound plus streamHeadroom.
func boundMemory() []dredge.Option {
	cc, err := cache.ConfigFromEnv()
	if err != nil || !cc.Enabled {
		return nil // a malformed variable is reported by dredge.FromEnv
	}
	var opts []dredge.Option
	var cached int64
	if cc.Backend == "" || cc.Backend == cache.BackendMemory {
		if cc.MaxBytes == 0 {
			cc.MaxBytes = fileCacheBytes
			opts = append(opts, dredge.WithCacheConfig(cc))
		}
		cached = cc.MaxBytes
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(cached + streamHeadroom)
	}
	return opts
}

// loadTest runs the original's generated load test.
func loadTest(ctx context.Context, eng *dredge.Engine, n, workers int, repeats bool) (pipeline.Stats, error) {
	if os.Getenv("GOGC") == "" {
		// The load test's live heap is a few MB while each task allocates
		// about 220 bytes, so the collector would run hundreds of times a
		// second: without the cache, 1.29-1.56M tasks/s at 400 against
		// 1.09-1.23M at the default 100 (six alternated runs, 2 cores).
		debug.SetGCPercent(400)
	}
	p, err := pipeline.New(eng, pipeline.Config{Workers: workers, DiscardBodies: true})
	if err != nil {
		return pipeline.Stats{}, err
	}
	return p.Run(ctx, &pipeline.LoadTest{N: n, Repeats: repeats}, nil)
}

func statsText(s pipeline.Stats) string {
	if s.TotalTasks == 0 {
		return "0 tasks"
	}
	us := func(sec float64) string { return (time.Duration(sec * 1e9)).String() }
	return fmt.Sprintf("%d tasks in %.3f s: %d successful, %d failed, %d cache hits (%.1f%%), %.0f tasks/s; latency min %s, mean %s, median %s, p95 %s, p99 %s, max %s",
		s.TotalTasks, s.TotalTime, s.Successful, s.Failed, s.CacheHits, 100*s.CacheHitRate, s.Throughput,
		us(s.Latency.Min), us(s.Latency.Mean), us(s.Latency.Median), us(s.Latency.P95), us(s.Latency.P99), us(s.Latency.Max))
}
