package workers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/monitor"
)

// PoolConfig configures [NewPool]. The zero value runs GOMAXPROCS jobs at
// once.
type PoolConfig struct {
	// Concurrency is the number of jobs run at once (0: the Engine's
	// GOMAXPROCS): NUM_WORKERS × WORKER_CONCURRENCY.
	Concurrency int
	// Heartbeat is how often a running job's claim is renewed and its
	// cancellation checked (0: one second).
	Heartbeat time.Duration
	// Logger receives the queue's failures (nil discards them).
	Logger *slog.Logger
}

// Pool runs the jobs of a [Queue] through an Engine's operation table: a
// job is one [dredge.Engine.Answer] call, with the same validation,
// errors, caching, deadlines and metrics as a direct call. A job whose
// operation fails (a panic or a deadline included) is failed with the
// operation's code and message; the pool goes on. The Engine's monitor
// reports the jobs running (dredge_workers_busy), the queue's depth at
// each claim (dredge_queue_depth), claims and retries
// (dredge_job_claims_total, dredge_job_retries_total), jobs by outcome
// (dredge_jobs_total) and their latency (job_wait from enqueue to claim,
// job_run from claim to end: dredge_timer_duration_seconds).
type Pool struct {
	eng *dredge.Engine
	q   Queue
	cfg PoolConfig

	claimCtx   context.Context // ended by Shutdown: no more claims
	stopClaims context.CancelFunc
	jobsCtx    context.Context // ended when Shutdown's grace ends
	stopJobs   context.CancelFunc
	wg         sync.WaitGroup
	startOnce  sync.Once
	busy       atomic.Int64
	handedBack atomic.Int64 // jobs stopped by Shutdown
}

// NewPool returns a pool that runs q's jobs on eng once started.
func NewPool(eng *dredge.Engine, q Queue, cfg PoolConfig) *Pool {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = eng.Device().Info().Workers
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 1
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	p := &Pool{eng: eng, q: q, cfg: cfg}
	p.claimCtx, p.stopClaims = context.WithCancel(context.Background())
	p.jobsCtx, p.stopJobs = context.WithCancel(context.Background())
	return p
}

// Start starts the pool's runners; it returns at once. Calling it again
// does nothing.
func (p *Pool) Start() {
	p.startOnce.Do(func() {
		for range p.cfg.Concurrency {
			p.wg.Add(1)
			go p.runner()
		}
	})
}

// Shutdown stops claiming jobs and waits for the running ones to finish
// until ctx ends; the jobs still running then are stopped and handed back
// to the queue (Release: they do not count as an attempt). It returns
// ctx's error when it had to stop jobs.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.stopClaims()
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		p.stopJobs()
		<-done
	}
	if p.handedBack.Load() > 0 {
		return ctx.Err()
	}
	return nil // ctx may have ended as the last runner left: nothing was stopped
}

func (p *Pool) runner() {
	defer p.wg.Done()
	for p.claimCtx.Err() == nil {
		j, err := p.q.Claim(p.claimCtx)
		if err != nil {
			if p.claimCtx.Err() != nil || errors.Is(err, ErrClosed) {
				return
			}
			p.cfg.Logger.Warn("workers: claim failed", "error", err)
			select {
			case <-p.claimCtx.Done():
				return
			case <-time.After(p.cfg.Heartbeat):
			}
			continue
		}
		mon := p.eng.Monitor()
		mon.JobClaimed(j.Attempt, time.Since(j.Enqueued))
		mon.SetBusyWorkers(int(p.busy.Add(1)))
		if mon.MetricsEnabled() { // a queue round trip, for the gauge only
			if n, err := p.q.Depth(p.claimCtx); err == nil {
				mon.SetQueueDepth(n)
			}
		}
		p.run(j)
		mon.SetBusyWorkers(int(p.busy.Add(-1)))
	}
}

// run runs one claimed job and reports its outcome to the queue.
func (p *Pool) run(j *Job) {
	started := time.Now()
	ctx, cancel := context.WithCancel(p.jobsCtx)
	defer cancel()
	// The operation's progress goes to the queue with the next heartbeat.
	var latest atomic.Pointer[dredge.Progress]
	ctx = dredge.WithProgress(ctx, func(pr dredge.Progress) { latest.Store(&pr) })
	beat := make(chan struct{})
	go func() {
		t := time.NewTicker(p.cfg.Heartbeat)
		defer t.Stop()
		var sent *dredge.Progress
		for {
			select {
			case <-beat:
				return
			case <-t.C:
				pr := latest.Load()
				if pr == sent {
					pr = nil // unchanged: not sent again
				} else {
					sent = pr
				}
				if canceled, err := p.q.Heartbeat(ctx, j.ID, pr); canceled || errors.Is(err, ErrNotClaimed) {
					cancel() // canceled, or taken by another worker
				}
			}
		}
	}()
	a := p.eng.Answer(ctx, j.Operation, j.Params)
	close(beat)
	// The outcome is reported even when ctx has ended (shutdown).
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	var err error
	var outcome string
	switch {
	case p.jobsCtx.Err() != nil && a.Err != nil:
		p.handedBack.Add(1)
		err, outcome = p.q.Release(rctx, j.ID), monitor.JobReleased // stopped by Shutdown: another worker runs it
	case a.Err != nil:
		err, outcome = p.q.Fail(rctx, j.ID, a.Code, dredge.MessageOf(a.Err)), monitor.JobFailed
	default:
		err, outcome = p.q.Ack(rctx, j.ID, a.Body), monitor.JobCompleted
	}
	if errors.Is(err, ErrNotClaimed) {
		outcome = monitor.JobLost
	} else if err != nil {
		p.cfg.Logger.Warn("workers: reporting a job's outcome failed", "job", j.ID, "error", err)
	}
	p.eng.Monitor().JobFinished(outcome, time.Since(started))
}
