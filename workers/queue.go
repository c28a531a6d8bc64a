package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dredge-cli/dredge"
)

// Status is a job's state.
type Status string

// A job is pending until a worker claims it, running until the worker
// acknowledges or fails it, and then completed or failed; a pending or
// running job may be canceled.
const (
	Pending   Status = "pending"
	Running   Status = "running"
	Completed Status = "completed"
	Failed    Status = "failed"
	Canceled  Status = "canceled"
)

// Final reports whether s is a final status (completed, failed, canceled).
func (s Status) Final() bool { return s == Completed || s == Failed || s == Canceled }

// Job is a claimed job: one operation of the Engine's table to run.
type Job struct {
	// ID names the job; the queue made it at Enqueue.
	ID string
	// Operation and Params are the call, as [dredge.Engine.Answer] takes it.
	Operation string
	Params    json.RawMessage
	// Attempt counts the deliveries of the job, 1 on its first claim.
	Attempt int
	// Enqueued is when the job was enqueued.
	Enqueued time.Time
	// Tenant is the tenant the job belongs to, the one on the context of
	// its Enqueue ([dredge.TenantOf]; "" is the default tenant). A [Pool]
	// runs the job under it ([dredge.WithTenant]).
	Tenant string
}

// State is what [Queue.Status] reports of a job.
type State struct {
	ID        string          `json:"job_id"`
	Operation string          `json:"operation"`
	Status    Status          `json:"status"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     string          `json:"error,omitempty"`
	Code      dredge.Code     `json:"code,omitempty"`
	Attempts  int             `json:"attempts"`
	Enqueued  time.Time       `json:"enqueued_at"`
	Started   time.Time       `json:"started_at,omitzero"`
	Finished  time.Time       `json:"finished_at,omitzero"`
	// RetryAt is when a pending job whose operation failed runs again
	// (its Code and Error are the failure's until then); zero otherwise.
	RetryAt time.Time `json:"retry_at,omitzero"`
	// Progress is the latest progress a worker reported with a heartbeat
	// (of any delivery of the job), nil before the first: {"done": 120,
	// "total": 1000, "message": …}.
	Progress *dredge.Progress `json:"progress,omitempty"`
}

// Errors of the queues, wrapped with detail.
var (
	// ErrFull is returned by Enqueue when the queue holds as many jobs as
	// it may: the caller should retry later (HTTP 503 with Retry-After).
	ErrFull = errors.New("workers: queue full")
	// ErrNotFound is returned for a job id the queue does not know (or no
	// longer keeps: results expire).
	ErrNotFound = errors.New("workers: no such job")
	// ErrNotClaimed is returned by Ack, Fail, Release and Heartbeat for a
	// job the caller does not hold: it was never claimed, it is finished,
	// canceled, or it was claimed again by another worker after its claim
	// lapsed.
	ErrNotClaimed = errors.New("workers: job not claimed")
	// ErrInvalidKey is returned by EnqueueOnce for a key ValidKey refuses.
	ErrInvalidKey = errors.New("workers: invalid idempotency key")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("workers: queue closed")
)

// TenantLimitError is returned by Enqueue when the tenant on its context
// already has Limit queued jobs (pending or running), the queue's
// MaxTenantJobs. The caller should retry once some of them have finished
// (HTTP 429). It wraps [dredge.ErrResourceExhausted], so that
// [dredge.CodeOf] classifies it as [dredge.CodeResourceExhausted].
type TenantLimitError struct {
	Limit int
}

// Error is the message for the tenant's client, as the Engine's own
// tenant limits word theirs: the limit and its setting named.
func (e *TenantLimitError) Error() string {
	return fmt.Sprintf("tenant limit reached: QUEUE_TENANT_MAX_JOBS=%d queued jobs; retry once some have finished", e.Limit)
}

// Unwrap returns [dredge.ErrResourceExhausted].
func (e *TenantLimitError) Unwrap() error { return dredge.ErrResourceExhausted }

// Queue holds jobs between the adapters that enqueue them and the workers
// that run them. Every method is safe for concurrent use by any number of
// goroutines (and, for shared queues such as Redis, processes).
//
// A job belongs to the tenant on the context of its Enqueue
// ([dredge.TenantOf]; "" is the default tenant, itself a tenant like any
// other). Status and Cancel are a client's calls: for a job of another
// tenant than their context's they answer exactly as for an id that never
// existed (ErrNotFound, the same message), so that a client cannot tell
// another tenant's job from none. Idempotency keys are per tenant. Claim,
// Heartbeat, Ack, Fail and Release are a worker's calls, which run every
// tenant's jobs: they ignore the tenant on their context, and Claim
// reports the job's in [Job.Tenant].
//
// A job moves pending → running (Claim) → completed (Ack) or failed
// (Fail); Release hands a running job back (pending again, without
// spending an attempt); Cancel makes a pending or running job canceled.
// A worker's claim is kept alive by Heartbeat; a queue shared by processes
// may hand a job whose claim lapsed to another worker (the first worker's
// Ack then fails with ErrNotClaimed, and the job has one result).
type Queue interface {
	// Enqueue adds a job running op with params, of the tenant on ctx, and
	// returns its id. It fails with ErrFull when the queue is full, with a
	// *TenantLimitError when the tenant has as many queued jobs as the
	// queue allows a tenant, and never blocks for room.
	Enqueue(ctx context.Context, op string, params json.RawMessage) (string, error)
	// EnqueueOnce is Enqueue with an idempotency key (see ValidKey): when
	// a job of the same tenant was enqueued with key (keys of different
	// tenants are different keys) and the queue still remembers it (at
	// least as long as it keeps that job's status), it returns that job's
	// id and created false, and enqueues nothing. Concurrent calls with one
	// key enqueue one job.
	EnqueueOnce(ctx context.Context, key, op string, params json.RawMessage) (id string, created bool, err error)
	// Claim takes the oldest pending job, waiting until there is one or
	// ctx ends (then it returns ctx's error). The job is running, held by
	// the caller, until it is acknowledged, failed, released or canceled.
	Claim(ctx context.Context) (*Job, error)
	// Heartbeat keeps the caller's claim on a running job alive and
	// reports whether the job has been canceled meanwhile (the worker
	// should then stop it; its Ack or Fail is then ErrNotClaimed). A
	// non-nil progress becomes the job's State.Progress; nil leaves it.
	Heartbeat(ctx context.Context, id string, progress *dredge.Progress) (canceled bool, err error)
	// Ack completes a running job with result, the operation's response.
	// The queue may keep result itself, as Status then returns it: neither
	// the caller nor Status's callers may modify it.
	Ack(ctx context.Context, id string, result json.RawMessage) error
	// Fail reports that a running job's operation failed with code and
	// message. A code that [Retryable] accepts, with retries left by the
	// queue's [RetryPolicy], makes the job pending again after a backoff
	// (its State keeps the error until then); otherwise the job is failed,
	// a final state.
	Fail(ctx context.Context, id string, code dredge.Code, message string) error
	// Release hands a running job back to the queue, pending again, first
	// in line, without counting the attempt (a worker shutting down).
	Release(ctx context.Context, id string) error
	// Cancel cancels a pending or running job of the tenant on ctx.
	// Canceling a finished job fails with ErrNotClaimed; an unknown one,
	// or another tenant's, with ErrNotFound.
	Cancel(ctx context.Context, id string) error
	// Status reports the state of a job of the tenant on ctx, with its
	// result once completed or its error once failed; an unknown job, or
	// another tenant's, is ErrNotFound.
	Status(ctx context.Context, id string) (State, error)
	// Depth returns the number of pending jobs, of every tenant.
	Depth(ctx context.Context) (int, error)
	// Close releases the queue's resources; later calls fail with
	// ErrClosed. Claims waiting in Claim return ErrClosed.
	Close() error
}

// Retryable reports whether a job failed with code may succeed when run
// again: unavailable, internal (a panic or a lost dependency included),
// rate_limited and resource_exhausted. Bad input (invalid_argument), an
// unknown operation or model (not_found) and a refused caller
// (unauthenticated) fail the same way every time.
func Retryable(code dredge.Code) bool {
	switch code {
	case dredge.CodeUnavailable, dredge.CodeInternal, dredge.CodeRateLimited, dredge.CodeResourceExhausted:
		return true
	}
	return false
}

// RetryPolicy is how a queue retries the jobs whose operation failed with
// a [Retryable] code: up to Max more deliveries, the n-th after Backoff ×
// 2ⁿ⁻¹ (at most MaxBackoff) and up to a quarter more at random, so that
// jobs that failed together do not come back together. Retries are
// counted apart from the deliveries lost to a worker's death, which never
// spend one. The zero value retries 3 times after 1 s, 2 s and 4 s.
type RetryPolicy struct {
	// Max is the number of retries (0: 3; negative: none).
	Max int
	// Backoff is the wait before the first retry (0: one second);
	// MaxBackoff bounds any wait (0: ten minutes).
	Backoff, MaxBackoff time.Duration
}

// withDefaults returns p with its zero fields set to their defaults.
func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Max == 0 {
		p.Max = 3
	}
	p.Max = max(p.Max, 0)
	if p.Backoff <= 0 {
		p.Backoff = time.Second
	}
	if p.MaxBackoff <= 0 {
		p.MaxBackoff = 10 * time.Minute
	}
	return p
}

// delay returns the wait before retry n (1, 2, …), where jitter, in
// [0, 1), adds up to a quarter. The Redis queue's finish script computes
// the same.
func (p RetryPolicy) delay(n int, jitter float64) time.Duration {
	d := p.MaxBackoff
	if n <= 62 && p.Backoff <= p.MaxBackoff>>(n-1) {
		d = p.Backoff << (n - 1)
	}
	return d + time.Duration(float64(d)*jitter/4)
}

// ValidKey reports whether key can be an idempotency key: 1 to 255
// printable ASCII characters without spaces.
func ValidKey(key string) bool {
	if len(key) == 0 || len(key) > 255 {
		return false
	}
	for i := 0; i < len(key); i++ {
		if c := key[i]; c < 0x21 || c > 0x7e {
			return false
		}
	}
	return true
}
