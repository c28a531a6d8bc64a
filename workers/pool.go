package workers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/throttle"
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
// errors, caching, deadlines and metrics as a direct call, and under the
// job's tenant ([Job.Tenant] on its context: that tenant's models and
// cached results). A job whose operation fails (a panic or a deadline
// included) is failed with the operation's code and message; the pool
// goes on. The Engine's monitor
// reports the jobs running (dredge_workers_busy), the queue's depth (at
// most once a second, dredge_queue_depth), claims and retries
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
	started    atomic.Bool
	stopOnce   sync.Once
	busy       atomic.Int64
	handedBack atomic.Int64                 // jobs stopped by Shutdown
	running    []atomic.Pointer[runningJob] // runner i's job in [i], for beat (a map under a mutex: 0.3–1.3 µs more CPU a job in queuebench)
	stopBeats  chan struct{}                // closed by Shutdown once no job runs
	beaten     chan struct{}                // closed when beat returns
	depthEvery throttle.Every               // the depth gauge's refresh
	claimLog   throttle.Every               // the log of failed claims
	claimFails atomic.Int64                 // claim failures not yet logged
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
	p := &Pool{eng: eng, q: q, cfg: cfg, running: make([]atomic.Pointer[runningJob], cfg.Concurrency), stopBeats: make(chan struct{}), beaten: make(chan struct{})}
	p.claimCtx, p.stopClaims = context.WithCancel(context.Background())
	p.jobsCtx, p.stopJobs = context.WithCancel(context.Background())
	return p
}

// Start starts the pool's runners; it returns at once. Calling it again
// does nothing.
func (p *Pool) Start() {
	p.startOnce.Do(func() {
		p.started.Store(true)
		go p.beat()
		for i := range p.cfg.Concurrency {
			p.wg.Add(1)
			go p.runner(&p.running[i])
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
	p.stopOnce.Do(func() { close(p.stopBeats) })
	if p.started.Load() {
		<-p.beaten
	}
	if p.handedBack.Load() > 0 {
		return ctx.Err()
	}
	return nil // ctx may have ended as the last runner left: nothing was stopped
}

// runner claims and runs jobs one at a time; slot holds the one it runs.
func (p *Pool) runner(slot *atomic.Pointer[runningJob]) {
	defer p.wg.Done()
	for p.claimCtx.Err() == nil {
		j, err := p.q.Claim(p.claimCtx)
		if err != nil {
			if p.claimCtx.Err() != nil || errors.Is(err, ErrClosed) {
				return
			}
			p.claimFailed(err)
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
		if mon.MetricsEnabled() {
			p.observeDepth()
		}
		p.runSafely(j, slot)
		mon.SetBusyWorkers(int(p.busy.Add(-1)))
	}
}

// claimLogEvery is the least time between two logged claim failures of a
// pool: with the queue down, every runner fails once per heartbeat.
const claimLogEvery = 10 * time.Second

// claimFailed logs a failed claim, at most once per claimLogEvery, with
// the number of failures since the last record.
func (p *Pool) claimFailed(err error) {
	n := p.claimFails.Add(1)
	if !p.claimLog.Due(claimLogEvery) {
		return
	}
	p.claimFails.Add(-n)
	p.cfg.Logger.Warn("workers: claim failed", "error", err, "failures", n)
}

// observeDepth sets the queue depth gauge, at most once a second (from
// the claims and the heartbeats): it is a round trip to a shared queue
// (one per claim cost the Redis queue a third of its throughput).
func (p *Pool) observeDepth() {
	if !p.depthEvery.Due(time.Second) {
		return
	}
	if n, err := p.q.Depth(p.claimCtx); err == nil {
		p.eng.Monitor().SetQueueDepth(n)
	}
}

// beat renews the claims of the running jobs every PoolConfig.Heartbeat,
// and cancels a job when the queue says it was canceled or taken by
// another worker. One goroutine for the pool: a goroutine and a ticker per
// job cost 10% of queuebench in process, a timer per job 15%.
func (p *Pool) beat() {
	defer close(p.beaten)
	t := time.NewTicker(p.cfg.Heartbeat)
	defer t.Stop()
	var jobs []*runningJob
	for {
		select {
		case <-p.stopBeats:
			return
		case <-t.C:
		}
		if p.eng.Monitor().MetricsEnabled() {
			// Claims update the gauge too, but none come while every
			// runner is busy or the queue is idle.
			p.observeDepth()
		}
		jobs = jobs[:0]
		for i := range p.running {
			if j := p.running[i].Load(); j != nil {
				jobs = append(jobs, j)
			}
		}
		// At once, within one interval: a shared queue pipelines them, and
		// one slow answer does not hold the others past their claim.
		ctx, cancel := context.WithTimeout(p.jobsCtx, p.cfg.Heartbeat)
		var wg sync.WaitGroup
		for _, j := range jobs {
			pr := j.latest.Load()
			if pr == j.sent {
				pr = nil // unchanged: not sent again
			} else {
				j.sent = pr
			}
			wg.Go(func() {
				canceled, err := p.q.Heartbeat(ctx, j.id, pr)
				if canceled || errors.Is(err, ErrNotClaimed) || errors.Is(err, ErrNotFound) {
					j.cancel() // canceled, taken by another worker, or gone
				}
			})
		}
		wg.Wait()
		cancel()
	}
}

// runningJob is a job a runner runs, as beat sees it.
type runningJob struct {
	id     string
	cancel context.CancelFunc
	latest atomic.Pointer[dredge.Progress] // the operation's last report
	sent   *dredge.Progress                // the last one beat sent (beat's own)
}

// runSafely is run, where a panic (the Engine recovers its operations'
// own; this is any other: a queue's, a hook's) fails the job, never the
// worker.
func (p *Pool) runSafely(j *Job, slot *atomic.Pointer[runningJob]) {
	started := time.Now()
	defer func() {
		if r := recover(); r != nil {
			p.cfg.Logger.Error("workers: a job panicked", "job", j.ID, "operation", j.Operation, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			slot.Store(nil)
			if err := p.q.Fail(context.Background(), j.ID, dredge.CodeInternal, "internal error"); err != nil && !errors.Is(err, ErrNotClaimed) {
				p.cfg.Logger.Warn("workers: failing a job that panicked failed", "job", j.ID, "error", err)
			}
			p.eng.Monitor().JobFinishedFor(j.Tenant, monitor.JobFailed, time.Since(started))
		}
	}()
	p.run(j, slot, started)
}

// run runs one claimed job, shown to beat in slot, and reports its outcome
// to the queue.
func (p *Pool) run(j *Job, slot *atomic.Pointer[runningJob], started time.Time) {
	ctx, cancel := context.WithCancel(p.jobsCtx)
	defer cancel()
	// The operation's progress goes to the queue with the next heartbeat.
	rj := &runningJob{id: j.ID, cancel: cancel}
	ctx = dredge.WithProgress(ctx, func(pr dredge.Progress) { rj.latest.Store(&pr) })
	if j.Tenant != "" {
		// The Engine keeps each tenant's models and cached results apart:
		// the job runs as its tenant, as the call that enqueued it would.
		// (The default tenant is a context without one: no allocation.)
		ctx = dredge.WithTenant(ctx, j.Tenant)
	}
	slot.Store(rj)
	a := p.eng.Answer(ctx, j.Operation, j.Params)
	slot.Store(nil)
	// The outcome is reported even when ctx has ended (shutdown); the
	// queue bounds its own calls.
	rctx := context.WithoutCancel(ctx)
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
	p.eng.Monitor().JobFinishedFor(j.Tenant, outcome, time.Since(started))
}
