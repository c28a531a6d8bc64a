// Command queuebench measures jobs end to end: unified_inference jobs (or,
// with -op lift, no-op ones: a SHA-256 of a short text, never cached)
// enqueued as fast as the producers can, run by worker pools, until every
// job has its result. It reports jobs per second (first enqueue to last
// result) and the p50/p99 of each job's enqueue-to-result latency, as the
// queue records them. With -prefill every job is enqueued before the
// workers start and the clock starts with them, the shape of asynq's
// BenchmarkEndToEndSimple (benchmarks/asynq runs the two side by side).
//
//	queuebench -backend memory -jobs 400000
//	REDIS_URL=redis://127.0.0.1:6379/0 queuebench -backend redis -jobs 50000 -workers 2
//	REDIS_URL=redis://127.0.0.1:6379/0 queuebench -backend redis -op lift -prefill -jobs 100000 -workers 1 -concurrency 10
//
// With redis, each worker is a pool with its own Engine and its own
// connection and consumer name, as a worker process has; the producers
// share another connection, on which concurrent enqueues are pipelined
// (rueidis auto-pipelining), as are the workers' acknowledgements. The
// queue's keys get a fresh prefix and are deleted afterwards.
package main
