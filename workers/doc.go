// Package workers runs DREDGE operations as jobs: a [Queue] holds them
// between the adapters that enqueue them and the workers that run them, and
// a [Pool] runs them through an Engine's operation table, so that a job has
// the same validation, errors, caching, deadlines and metrics as a direct
// call.
//
// A job is pending until a worker claims it, running until the worker
// acknowledges it (completed, with the operation's own response as its
// result) or fails it (failed, with the operation's code and message), and
// may be canceled while pending or running. A job that failed with a
// [Retryable] code is pending again after a backoff, as often as the
// queue's [RetryPolicy] allows. A running job's claim is kept
// alive by heartbeats, which also tell the worker that its job was
// canceled and carry the operation's latest [dredge.Progress] (benchmark's
// epochs) to the job's [State]. A pool shutting down stops claiming, lets running jobs finish
// within its grace period, and hands the rest back without spending an
// attempt.
//
// [Memory] is the in-process queue, the embedded default: bounded, with
// back-pressure ([ErrFull] when full). [Redis] is shared by any number of
// service instances and worker processes through Redis Streams: a job
// whose worker dies is taken over by another after a claim timeout, and
// dead-lettered after too many lost deliveries or when its retries are
// spent; lost deliveries never spend a retry. [ConfigFromEnv] and [Open]
// pick one from the environment (QUEUE_BACKEND). Every implementation
// passes the shared suite in package queuetest.
package workers
