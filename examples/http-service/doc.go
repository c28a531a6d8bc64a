// Command http-service serves DREDGE over HTTP: the REST operations, the
// legacy POST /mcp endpoint, /lift, /health, /ready and /metrics (see
// package github.com/dredge-cli/dredge/adapters/httpapi).
//
// Usage:
//
//	http-service [-addr :3001]
//
// Everything else comes from the environment: the Engine's variables
// (DEVICE, CACHE_*, REDIS_*, METRICS_ENABLED, REQUEST_TIMEOUT, … see
// dredge.FromEnv), the service's (AUTH_ENABLED, API_KEY, API_KEYS_FILE,
// RATE_LIMIT_*, MAX_BODY_BYTES, TRUST_PROXY, see httpapi.ConfigFromEnv)
// the job queue's and LOG_LEVEL (debug|info|warn|error, default info) for
// the JSON logs on stderr.
//
// Jobs (POST /v1/jobs, GET and DELETE /v1/jobs/{id}) go to the queue
// QUEUE_BACKEND names: memory, the default, in-process; or redis, shared
// with other service instances and with examples/worker processes (see
// workers.ConfigFromEnv). They run on NUM_WORKERS × WORKER_CONCURRENCY
// workers (defaults GOMAXPROCS and 1); with NUM_WORKERS=0 the service only
// enqueues, and workers elsewhere run the jobs.
//
// SIGINT or SIGTERM stops it gracefully: requests in flight finish, then
// the workers stop claiming and running jobs finish (each step within
// httpapi.Config.ShutdownTimeout, 30 s; jobs still running then are
// stopped and handed back to the queue), before the Engine closes; pending
// jobs of the in-process queue are dropped (logged), those on Redis stay
// for the other workers.
//
// SIGHUP reads API_KEYS_FILE again (httpapi.Keys.Reload): a removed key is
// refused from the next request on, while requests already admitted run
// on; a changed quota applies to the next request, and the tenants the
// file names become the metrics' tenant labels; a file that does not load
// keeps the previous keys and logs the error, which names the line, never
// a key.
package main
