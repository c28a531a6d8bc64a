package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/workers"
)

// jobLog is a queue that logs, at debug level, each job this process
// starts and how it ends: "job started" (job, operation, attempt) once a
// claim hands the job to a runner, just before the operation runs, and
// "job ended" (job, outcome: completed, failed, handed back, or lost when
// the queue refused the outcome because the claim had lapsed and another
// worker had taken the job; error when reporting failed otherwise). The
// started lines are a ledger of executions: a job that ran twice (its
// worker killed, or its claim lapsed) has two.
type jobLog struct {
	workers.Queue
	log *slog.Logger
}

var _ workers.Queue = jobLog{}

func (q jobLog) Claim(ctx context.Context) (*workers.Job, error) {
	j, err := q.Queue.Claim(ctx)
	if err == nil {
		q.log.Debug("job started", "job", j.ID, "operation", j.Operation, "attempt", j.Attempt)
	}
	return j, err
}

func (q jobLog) Ack(ctx context.Context, id string, result json.RawMessage) error {
	return q.ended(id, "completed", q.Queue.Ack(ctx, id, result))
}

func (q jobLog) Fail(ctx context.Context, id string, code dredge.Code, message string) error {
	return q.ended(id, "failed", q.Queue.Fail(ctx, id, code, message))
}

func (q jobLog) Release(ctx context.Context, id string) error {
	return q.ended(id, "handed back", q.Queue.Release(ctx, id))
}

func (q jobLog) ended(id, outcome string, err error) error {
	switch {
	case errors.Is(err, workers.ErrNotClaimed):
		q.log.Debug("job ended", "job", id, "outcome", "lost")
	case err != nil:
		q.log.Debug("job ended", "job", id, "outcome", outcome, "error", err.Error())
	default:
		q.log.Debug("job ended", "job", id, "outcome", outcome)
	}
	return err
}
