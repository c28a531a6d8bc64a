// Command batch runs DREDGE operations in batches: the original's load
// test, or JSONL task files (see package
// github.com/dredge-cli/dredge/adapters/batch).
//
// Usage:
//
//	batch -tasks N [-workers W] [-no-cache] [-repeats] [-json]
//	batch -in tasks.jsonl [-out results.jsonl] [-workers W] [-ordered] [-fail-fast] [-no-progress] [-timeout D] [-json] [-queue memory|redis]
//
// With -tasks it runs the original's load test, N unified_inference tasks
// (with -repeats every fifth repeats an earlier one), and prints the
// statistics: total_tasks, successful, failed, cache_hits,
// cache_hit_rate, total_time, throughput and latency {min, mean, median,
// max, p95, p99}; with -json as one JSON line, throughput in tasks per
// second and times in seconds.
//
// With -in it runs the tasks of a JSONL file ("-": stdin), one
// {"id", "operation", "params"} a line, and writes one result line per
// task to -out ("-", the default: stdout). An output file is resumed:
// rerun the same command after an interruption and the tasks already in
// it are skipped. The summary goes to stdout, or to stderr when the
// results do. A progress bar shows on stderr when it is a terminal
// (-no-progress: never).
//
// With -queue redis the tasks fan out as jobs through the workers' Redis
// queue (REDIS_URL, QUEUE_PREFIX, … as the service reads them, see
// workers.ConfigFromEnv) to every examples/worker process on it, and
// their results come back to the same output: this process only enqueues
// and collects, -workers jobs in flight (default 256). Results, resuming
// and the options are as without a queue; -timeout bounds each job from
// its enqueueing (without workers running, jobs wait for them). -queue
// memory runs the jobs on a pool in this process (NUM_WORKERS ×
// WORKER_CONCURRENCY), the same path without Redis.
//
//	redis-server --port 6379 --save "" --daemonize yes
//	REDIS_URL=redis://127.0.0.1:6379/0 METRICS_PORT=9091 worker &
//	REDIS_URL=redis://127.0.0.1:6379/0 METRICS_PORT=9092 worker &
//	REDIS_URL=redis://127.0.0.1:6379/0 batch -in tasks.jsonl -out results.jsonl -queue redis
//
// The Engine is configured from the environment (DEVICE, CACHE_*,
// METRICS_ENABLED, … see dredge.FromEnv); -no-cache turns the result
// cache off. A file batch keeps at most 24 MiB of results in a memory
// cache unless CACHE_MAX_BYTES says otherwise, and sets Go's soft memory
// limit to that plus 40 MiB unless GOMEMLIMIT is set: a batch of any
// length stays under 100 MB resident. SIGINT or SIGTERM stops a batch cleanly: the results so far
// are written and synced, and a rerun resumes.
package main
