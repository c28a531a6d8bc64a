// Command hostile is the hostile-client load test of the HTTP service
// (issue 29: nothing a client sends can exhaust the service). It mixes the
// requests that once exhausted the service with ordinary traffic, against
// a real process on the loopback interface, for a bounded time, and
// reports whether the process survived, its peak memory against the model
// memory budget, and the latency of the ordinary calls with and without
// the hostile ones.
//
//	go build -o /tmp/dredge-http ./examples/http-service
//	go run ./examples/http-service/loadtest/hostile -server /tmp/dredge-http
//	go run ./examples/http-service/loadtest/hostile -server /tmp/dredge-http -budget 512MiB -json
//	go run ./examples/http-service/loadtest/hostile -url http://127.0.0.1:3001   # a running service, no RSS
//
// With -server it starts the binary itself on a free 127.0.0.1 port, with
// MODEL_MEMORY_LIMIT from -budget (default 1GiB), REQUEST_TIMEOUT from
// -request-timeout (default 30s) and LOG_LEVEL=warn unless set (its logs go
// to -server-log, or are kept in memory and their tail shown if it dies);
// it samples the process's resident memory (VmRSS in /proc/PID/status)
// every 100 ms and reads its high-water mark (VmHWM) at the end, then stops
// it with SIGTERM, as it does on SIGINT. With -url it targets a running
// service, which must be on a loopback address, and reports no RSS.
//
// It runs two phases:
//
//  1. quiet (-quiet, default 20s): ordinary traffic only. -clients closed-loop
//     clients (default 2) each alternate GET /health and POST
//     /v1/ops/unified_inference with a distinct dredge_insight (so that no
//     request hits the result cache), pausing -pause (10ms) between
//     requests.
//  2. hostile (-duration, default 60s): the same ordinary traffic, and
//     goroutines looping over the findings (pausing -hostile-pause
//     between requests):
//     - oversize_load: load_model of a string_theory model over the
//     parameter limit (4096 wide, 10 layers); expects 400.
//     - legal_load: legal string_theory models (512 wide, 10 layers, 2.4M
//     parameters) loaded one after another; expects 200 until the memory
//     budget is spent, then 429 resource_exhausted.
//     - inference_over_limit and inference_under_limit: -inferrers
//     goroutines (7) sending inferences of -over-rows (100,000 rows of 10
//     values, about 5 MB, over the work limit: expects 400) and -under-rows
//     (40,000 rows, under it: expects 200, or 503 at the deadline or without
//     a turn) on a 2048 × 2 string_theory model loaded before the quiet
//     phase;
//     - training: -trainers goroutines (4) running benchmark of a siren for
//     -epochs (50,000) epochs; expects 503 at the deadline or without a turn
//     (200 if it ends in time, 429 while the budget is spent).
//
// Every request has a client timeout of the request timeout plus 10 s.
// In both phases list_capabilities is polled every 500 ms (resources_probe):
// the model memory in use must stay within its limit and the heavy calls
// within max_concurrent_heavy. Requests still in flight when the phase ends
// are cancelled and counted apart.
//
// A failure is flagged for any status a pattern does not expect (so any 500
// and any 5xx other than 503), any connection error or client timeout (a
// dead or stuck process), a 429 without resource_exhausted, and at the end
// for a process that has exited or whose /health does not answer 200, and
// for a model loaded during the run (or the inference model) that does not
// answer a small inference with 200. The report gives, per phase, the
// count, p50, p99 and maximum latency of /health and unified_inference;
// per pattern the statuses seen; the peak RSS against the budget; the
// resources figures of list_capabilities at the end and the peaks polled;
// and "alive: yes/no". -json prints the same as one JSON object. The exit
// status is 1 when a failure was flagged, 2 for bad flags.
//
// The sizes of the hostile requests are flags so that a test can run the
// same logic small; the defaults are the issue's.
package main
