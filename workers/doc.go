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
//
// # Tenants
//
// A job belongs to the tenant on the context of its Enqueue
// ([dredge.WithTenant], which the HTTP adapter sets from the request's API
// key; "" is the default tenant). Status and Cancel see only the jobs of
// the tenant on their context: another tenant's job answers [ErrNotFound]
// exactly as an id that never existed, so that its existence does not
// leak. Idempotency keys are per tenant: one key from two tenants makes
// two jobs. Workers run every tenant's jobs: Claim reports a job's tenant
// in [Job.Tenant], and a [Pool] runs the job under it, so that the Engine
// answers with that tenant's models and cached results. With
// MaxTenantJobs (QUEUE_TENANT_MAX_JOBS) a tenant, the default one included,
// may have at most that many jobs pending or running; Enqueue past it
// fails with a [*TenantLimitError] (HTTP 429, resource_exhausted), and a
// job stops counting once it is completed, failed or canceled. The Redis
// queue keeps the counts in one hash updated by the same scripts that
// change a job's status, so that they stay exact across processes.
package workers
