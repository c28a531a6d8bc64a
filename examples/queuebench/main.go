package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"runtime/pprof"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

func main() {
	backend := flag.String("backend", "memory", "memory or redis (REDIS_URL)")
	jobs := flag.Int("jobs", 200_000, "jobs to run")
	nWorkers := flag.Int("workers", 2, "worker pools (redis: each with its own Engine and connection)")
	concurrency := flag.Int("concurrency", 0, "jobs each pool runs at once (0: 2 for memory, 32 for redis)")
	producers := flag.Int("producers", 0, "goroutines enqueueing (0: 2 for memory, 64 for redis)")
	op := flag.String("op", "unified_inference", "operation each job runs: unified_inference, or lift (a SHA-256 of a short text, never cached: a no-op task)")
	distinct := flag.Int("distinct", 1000, "distinct parameter sets (results of a repeated unified_inference come from the cache)")
	flag.BoolVar(&prefill, "prefill", false, "enqueue every job before the workers start, and time from their start to the last result (the shape of asynq's BenchmarkEndToEndSimple)")
	flag.Float64Var(&rate, "rate", 0, "jobs per second to enqueue at, evenly paced (0: all at once, as fast as possible); latency figures mean most at a rate the workers keep up with")
	asJSON := flag.Bool("json", false, "one JSON line instead of text")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.DurationVar(&flushDelay, "flush-delay", 0, "redis: rueidis MaxFlushDelay (commands gathered per write)")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "queuebench:", err)
			os.Exit(1)
		}
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	r, err := run(*backend, *op, *jobs, *nWorkers, *concurrency, *producers, *distinct)
	if err != nil {
		fmt.Fprintln(os.Stderr, "queuebench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
	if *asJSON {
		_ = json.NewEncoder(os.Stdout).Encode(r)
		return
	}
	paced := "all at once"
	switch {
	case r.Prefill:
		paced = "enqueued before the workers start"
	case r.Rate > 0:
		paced = fmt.Sprintf("paced at %.0f/s", r.Rate)
	}
	fmt.Printf("%s: %d %s jobs (%s), %d workers × %d, %d producers: %.0f jobs/s; enqueue to result p50 %v, p99 %v (%d jobs sampled)\n",
		r.Backend, r.Jobs, r.Operation, paced, r.Workers, r.Concurrency, r.Producers, r.JobsPerSecond, r.P50, r.P99, r.Sampled)
}

// result is one run's figures.
type result struct {
	Backend       string        `json:"backend"`
	Operation     string        `json:"operation"`
	Jobs          int           `json:"jobs"`
	Workers       int           `json:"workers"`
	Concurrency   int           `json:"concurrency"`
	Producers     int           `json:"producers"`
	Seconds       float64       `json:"seconds"`
	Rate          float64       `json:"rate,omitempty"`
	Prefill       bool          `json:"prefill,omitempty"`
	JobsPerSecond float64       `json:"jobs_per_second"`
	P50           time.Duration `json:"p50_ns"`
	P99           time.Duration `json:"p99_ns"`
	Sampled       int           `json:"latency_samples"` // jobs whose latency was measured
}

// counting counts the jobs acknowledged through it, closes done at n, and
// records the latency from enqueue to acknowledgement of the jobs sample
// picks.
type counting struct {
	workers.Queue
	acked  *atomic.Int64
	n      int64
	done   chan struct{}
	sample func(id string) bool

	mu       sync.Mutex
	enqueued map[string]time.Time // claimed jobs
	latency  []time.Duration
}

func (c *counting) Claim(ctx context.Context) (*workers.Job, error) {
	j, err := c.Queue.Claim(ctx)
	if j != nil && c.sample(j.ID) {
		c.mu.Lock()
		c.enqueued[j.ID] = j.Enqueued
		c.mu.Unlock()
	}
	return j, err
}

func (c *counting) Ack(ctx context.Context, id string, res json.RawMessage) error {
	err := c.Queue.Ack(ctx, id, res)
	if err == nil && c.sample(id) {
		c.mu.Lock()
		c.latency = append(c.latency, time.Since(c.enqueued[id]))
		delete(c.enqueued, id)
		c.mu.Unlock()
	}
	if err == nil && c.acked.Add(1) == c.n {
		close(c.done)
	}
	return err
}

func (c *counting) Fail(ctx context.Context, id string, code dredge.Code, msg string) error {
	fmt.Fprintf(os.Stderr, "queuebench: job %s failed: %s %s\n", id, code, msg)
	return c.Queue.Fail(ctx, id, code, msg)
}

var (
	flushDelay time.Duration
	rate       float64
	prefill    bool
)

func run(backend, op string, jobs, nWorkers, concurrency, producers, distinct int) (result, error) {
	ctx := context.Background()
	redis := backend == "redis"
	switch {
	case backend != "memory" && !redis:
		return result{}, fmt.Errorf("-backend: want memory or redis, got %q", backend)
	case op != "unified_inference" && op != "lift":
		return result{}, fmt.Errorf("-op: want unified_inference or lift, got %q", op)
	case jobs < 1 || nWorkers < 1 || distinct < 1:
		return result{}, errors.New("-jobs, -workers and -distinct must be positive")
	case prefill && rate > 0:
		return result{}, errors.New("-prefill and -rate exclude each other")
	}
	if concurrency <= 0 {
		concurrency = map[bool]int{false: 2, true: 32}[redis]
	}
	if producers <= 0 {
		producers = map[bool]int{false: 2, true: 64}[redis]
	}
	r := result{Backend: backend, Operation: op, Jobs: jobs, Workers: nWorkers, Concurrency: concurrency, Producers: producers, Rate: rate, Prefill: prefill}
	params := make([]json.RawMessage, distinct)
	for i := range params {
		if op == "lift" { // as asynq's benchmark task: a payload of a dozen bytes
			params[i] = json.RawMessage(fmt.Sprintf(`{"insight_text":"task %d"}`, i))
			continue
		}
		params[i] = json.RawMessage(fmt.Sprintf(`{"dredge_insight":"job %d","quasimoto_coords":[%g,0.25],"string_modes":[1,2,%d]}`, i, float64(i%97)/97, 3+i%5))
	}
	quiet := dredge.WithLogger(slog.New(slog.DiscardHandler))

	// The producers' queue, and one per worker.
	var open func() (workers.Queue, func(), error)
	cleanup := func() {}
	if redis {
		url := os.Getenv("REDIS_URL")
		if url == "" {
			return r, errors.New("-backend redis needs REDIS_URL")
		}
		opt, err := rueidis.ParseURL(url)
		if err != nil {
			return r, fmt.Errorf("REDIS_URL: %w", err)
		}
		opt.DisableCache = true
		opt.MaxFlushDelay = flushDelay
		prefix := "dredge:queuebench:" + strconv.FormatInt(time.Now().UnixNano(), 36)
		open = func() (workers.Queue, func(), error) {
			c, err := rueidis.NewClient(opt)
			if err != nil {
				return nil, nil, err
			}
			q, err := workers.NewRedis(ctx, workers.RedisConfig{Client: c, Prefix: prefix, MaxPending: jobs})
			if err != nil {
				c.Close()
				return nil, nil, err
			}
			return q, func() { q.Close(); c.Close() }, nil
		}
		cleanup = func() {
			c, err := rueidis.NewClient(opt)
			if err != nil {
				return
			}
			defer c.Close()
			keys, _ := c.Do(ctx, c.B().Keys().Pattern("{"+prefix+"}:*").Build()).AsStrSlice()
			if len(keys) > 0 {
				c.Do(ctx, c.B().Del().Key(keys...).Build())
			}
		}
	} else {
		q := workers.NewMemory(workers.MemoryConfig{MaxPending: jobs}) // room for them all at once
		open = func() (workers.Queue, func(), error) { return q, func() {}, nil }
		defer q.Close()
	}
	defer cleanup()
	producer, closeProducer, err := open()
	if err != nil {
		return r, err
	}
	defer closeProducer()

	// Latency is measured on every job of a small run and on a random
	// sixteenth (by the last hex digit of the id, from crypto/rand) of a
	// large one: a map entry per job cost the in-process queue 15% of its
	// throughput, and 10,000 samples fix a p99 well.
	sample := func(string) bool { return true }
	if jobs >= 160_000 {
		sample = func(id string) bool { return id[len(id)-1] == '0' }
	}
	acked := new(atomic.Int64)
	done := make(chan struct{})
	// In process, one queue and one pool of nWorkers × concurrency; on
	// Redis, a pool per worker, each with its own Engine and connection.
	pools, size := nWorkers, concurrency
	if !redis {
		pools, size = 1, nWorkers*concurrency
	}
	var started []*workers.Pool
	var counted []*counting
	for range pools {
		eng, err := dredge.New(quiet)
		if err != nil {
			return r, err
		}
		defer eng.Close()
		q, closeQ, err := open()
		if err != nil {
			return r, err
		}
		defer closeQ()
		cq := &counting{Queue: q, acked: acked, n: int64(jobs), done: done, sample: sample, enqueued: make(map[string]time.Time)}
		p := workers.NewPool(eng, cq, workers.PoolConfig{Concurrency: size})
		started = append(started, p)
		counted = append(counted, cq)
	}

	var start time.Time
	enqueue := func() error {
		var next atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, producers)
		for range producers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= jobs {
						return
					}
					if rate > 0 { // the i-th job's time
						time.Sleep(time.Until(start.Add(time.Duration(float64(i) / rate * float64(time.Second)))))
					}
					if _, err := producer.Enqueue(ctx, op, params[i%distinct]); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		select {
		case err := <-errs:
			return fmt.Errorf("enqueue: %w", err)
		default:
			return nil
		}
	}
	if prefill { // the clock starts with the workers, as asynq's benchmark's does
		if err := enqueue(); err != nil {
			return r, err
		}
	}
	start = time.Now()
	for _, p := range started {
		p.Start()
	}
	if !prefill {
		if err := enqueue(); err != nil {
			return r, err
		}
	}
	select {
	case <-done:
	case <-time.After(5 * time.Minute):
		return r, fmt.Errorf("only %d of %d jobs completed in 5 minutes", acked.Load(), jobs)
	}
	elapsed := time.Since(start)
	for _, p := range started {
		_ = p.Shutdown(ctx)
	}
	r.Seconds = elapsed.Seconds()
	r.JobsPerSecond = float64(jobs) / elapsed.Seconds()

	// Each job's latency from enqueue to its acknowledgement.
	var lat []time.Duration
	for _, c := range counted {
		lat = append(lat, c.latency...)
	}
	if len(lat) == 0 {
		return r, fmt.Errorf("no latency sampled of %d jobs", jobs)
	}
	slices.Sort(lat)
	r.Sampled = len(lat)
	r.P50, r.P99 = lat[len(lat)/2], lat[len(lat)*99/100]
	return r, nil
}
