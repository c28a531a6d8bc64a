package batch

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/pipeline"
	"github.com/dredge-cli/dredge/workers"
)

// DefaultInFlight is the number of jobs a batch keeps in a queue at once
// when [Options.Queue] is set and [Options.Workers] is 0.
const DefaultInFlight = 256

// Polling a job's status: the first look after minPoll, then twice as
// long each time up to maxPoll. statusTries consecutive failed looks
// (the queue unreachable) fail the task.
const (
	minPoll     = 250 * time.Microsecond
	maxPoll     = 20 * time.Millisecond
	statusTries = 5
	// cancelWithin bounds the cancellation of a job given up on.
	cancelWithin = 2 * time.Second
)

// queueRunner runs tasks as jobs of a queue: [pipeline.Config.Do].
type queueRunner struct {
	eng *dredge.Engine
	q   workers.Queue
}

// do enqueues t as a job and waits for its final state. An unknown
// operation fails on eng, as in a local run, without a job.
func (r *queueRunner) do(ctx context.Context, t *pipeline.Task) pipeline.Result {
	if _, ok := dredge.LookupOperation(t.Operation); !ok {
		a := r.eng.Answer(ctx, t.Operation, t.Params)
		return pipeline.Result{Code: a.Code, Err: a.Err, Body: a.Body}
	}
	id, err := r.enqueue(ctx, t)
	if err != nil {
		return pipeline.Failure(err)
	}
	st, err := r.wait(ctx, id)
	if err != nil {
		if !errors.Is(err, workers.ErrNotFound) {
			// Given up (the task's deadline, the batch stopped, or the
			// queue unreachable): the job need not run any more.
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cancelWithin)
			_ = r.q.Cancel(cctx, id)
			cancel()
		}
		return pipeline.Failure(err)
	}
	switch st.Status {
	case workers.Completed:
		return pipeline.Result{Body: st.Result}
	case workers.Failed:
		code := st.Code
		if code == dredge.CodeOK {
			code = dredge.CodeInternal
		}
		return pipeline.Failure(&dredge.Error{Code: code, Message: st.Error, Err: errors.New(st.Error)})
	}
	return pipeline.Failure(&dredge.Error{Code: dredge.CodeUnavailable, Err: dredge.ErrUnavailable,
		Message: fmt.Sprintf("job %s was %s before it finished", id, st.Status)})
}

// enqueue adds t's job, waiting while the queue is full.
func (r *queueRunner) enqueue(ctx context.Context, t *pipeline.Task) (string, error) {
	delay := minPoll
	for {
		id, err := r.q.Enqueue(ctx, t.Operation, t.Params)
		if err == nil {
			return id, nil
		}
		if !errors.Is(err, workers.ErrFull) || ctx.Err() != nil {
			return "", queueError("enqueueing the job", err)
		}
		if !sleep(ctx, delay) {
			return "", queueError("enqueueing the job (the queue stayed full)", ctx.Err())
		}
		delay = min(2*delay, maxPoll)
	}
}

// wait polls job id's status until it is final. A job the queue no
// longer knows, a queue that cannot be reached statusTries times in a
// row, and ctx's end are errors.
func (r *queueRunner) wait(ctx context.Context, id string) (workers.State, error) {
	delay := minPoll
	fails := 0
	var last workers.State
	stopped := func() error {
		return queueError(fmt.Sprintf("waiting for job %s (status %s)", id, statusOf(last)), ctx.Err())
	}
	for {
		if !sleep(ctx, delay) {
			return last, stopped()
		}
		delay = min(2*delay, maxPoll)
		st, err := r.q.Status(ctx, id)
		switch {
		case err == nil:
			if st.Status.Final() {
				return st, nil
			}
			last, fails = st, 0
		case errors.Is(err, workers.ErrNotFound):
			return last, queueError(fmt.Sprintf("job %s is lost (expired or deleted from the queue)", id), err)
		case ctx.Err() != nil:
			return last, stopped()
		default:
			if fails++; fails >= statusTries {
				return last, queueError(fmt.Sprintf("job %s's status", id), err)
			}
		}
	}
}

func statusOf(st workers.State) workers.Status {
	if st.Status == "" {
		return "unknown"
	}
	return st.Status
}

// queueError is a task's failure to go through the queue: code
// unavailable, the message saying what failed.
func queueError(what string, err error) error {
	msg := fmt.Sprintf("queue: %s: %v", what, err)
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "queue: " + what + ": the task's deadline passed"
	}
	return &dredge.Error{Code: dredge.CodeUnavailable, Message: msg, Err: err}
}

// sleep waits d; false when ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
