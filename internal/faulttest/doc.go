// Package faulttest holds the tests of scale-out with real processes:
// the HTTP service only enqueuing (QUEUE_BACKEND=redis, NUM_WORKERS=0),
// examples/worker processes running the jobs, and a redis-server with
// append-only persistence (appendfsync always).
//
// # What it checks
//
// A worker killed with SIGKILL while it holds jobs loses none of them:
// they are taken over by the other worker once their claim lapses
// (QUEUE_CLAIM_AFTER), and every job ends completed with one successful
// result. Redis killed with SIGKILL and restarted on the same data loses
// no accepted job; while it is down the service answers 503, and the
// service and the workers reconnect by themselves.
//
// TestSharedModels runs two service instances and a worker with
// MODEL_STORE=redis: a model loaded through one answers inference through
// the other and through a job the worker runs, and training anywhere is
// seen everywhere; a single instance on MODEL_STORE_DIR, SIGKILLed after
// training a model, answers the same inference after a restart.
//
// TestBatchThroughRedis runs examples/batch with -queue redis against two
// worker processes: a batch of 4,000 lines ends with every task exactly
// once in the output with its own result, and a batch SIGKILLed half-way
// and rerun likewise.
//
// It builds examples/http-service, examples/batch and examples/worker with the go command
// and skips where go or redis-server is missing, or under -short.
package faulttest
