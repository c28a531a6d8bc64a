// Command worker runs DREDGE jobs from the Redis queue that service
// instances (examples/http-service with QUEUE_BACKEND=redis, often with
// NUM_WORKERS=0) enqueue to: any number of worker processes share one
// Redis, and a job whose worker dies is taken over by another (see
// workers.Redis).
//
// Usage:
//
//	REDIS_URL=redis://127.0.0.1:6379/0 worker
//
// It is configured from the environment like the service: the Engine's
// variables (DEVICE, CACHE_*, MODEL_* …, see dredge.FromEnv) and the
// queue's (see workers.ConfigFromEnv: QUEUE_PREFIX, QUEUE_CLAIM_AFTER,
// QUEUE_MAX_DELIVERIES, QUEUE_MAX_RETRIES, QUEUE_RETRY_BACKOFF, RESULT_TTL), with NUM_WORKERS × WORKER_CONCURRENCY
// jobs at once (defaults GOMAXPROCS and 1). QUEUE_BACKEND may be left
// out; it must not name another backend than redis.
//
// GET /health (200 while Redis answers, else 503) and GET /metrics (the
// Prometheus text of the Engine's monitor: jobs by outcome, claims,
// retries, job latency, busy workers, queue depth, operations) are served
// on METRICS_PORT (default 9090). With API_KEYS_FILE (the service's keys
// file, read again on SIGHUP) each tenant's jobs and operations are
// counted under its tenant label, as in the service; the worker only
// learns the tenants' names from it.
//
// With LOG_LEVEL=debug it logs one line per job it starts ("job
// started", with the job's id, operation and attempt) and one when the
// job ends ("job ended", with its outcome: completed, failed, handed
// back, or lost to another worker after its claim lapsed): a ledger of
// the executions, which internal/faulttest reads.
//
// SIGINT or SIGTERM stops it: it stops claiming, lets running jobs finish
// within SHUTDOWN_TIMEOUT (seconds, default 30), and hands the jobs still
// running then back to the queue for other workers, without spending a
// delivery.
package main
