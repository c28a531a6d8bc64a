// Package batch runs batches of DREDGE operations read as JSONL, one task
// a line, on a [dredge.Engine] through [pipeline], and writes one JSONL
// result line per task. [RunFile] resumes an interrupted batch; [Run]
// streams from any reader to any writer.
//
// # Tasks
//
// Each input line is a JSON object:
//
//	{"id": "a1", "operation": "unified_inference", "params": {"dredge_insight": "…"}}
//
// "id" (a string or a number) names the task in its result; without one a
// task is named after its 1-based line number, "line-7". Blank lines are
// skipped. Lines are read as a stream, so a batch of any length runs in
// constant memory; a line may hold up to [DefaultMaxLineBytes] (8 MiB,
// [Options.MaxLineBytes]).
//
// # Results
//
// A task that succeeds writes the operation's JSON answer as it is:
//
//	{"id": "a1", "result": {"success": true, …}}
//
// A task that fails writes its error, code, field (when the error names
// one) and input line:
//
//	{"id": "line-3", "error": "line 3: not a JSON task object: …", "code": "invalid_argument", "line": 3}
//
// A malformed line (not JSON, no "operation", too long) is such a result,
// its message starting "line N: ", and so are an unknown operation
// (not_found) and bad params (invalid_argument, with the field): the batch
// goes on, unless [Options.FailFast] stops it at the first failure (whose
// result is then not written, and [Run] returns a [*TaskError]). Results
// come in the order they complete, or in the input's order with
// [Options.Ordered].
//
// # Resuming
//
// [RunFile] appends to its output file. When the file already holds
// results, the tasks whose ids it holds are skipped, so that rerunning an
// interrupted batch (Ctrl-C, a crash, SIGKILL) with the same input and
// output completes it with every task exactly once. Only complete lines
// count: a torn last line, a write cut short by a kill, is cut off before
// the run. Ids must therefore be unique within a batch ([Summary] counts
// the duplicates an output holds); tasks that failed are done too, so to
// retry them remove their lines from the output. The ids are kept as
// 64-bit hashes, 8 bytes each: resuming a ten-million-line batch holds
// 80 MB. Two ids share a hash with probability 2⁻⁶⁴, so with n results
// in the output and m tasks in the input a wrong skip has odds of at most
// n·m/2⁶⁴: below 10⁻⁵ for ten million of each. Results
// are written in 256 KiB blocks at least every second, and the file is
// synced every ten seconds and at the end. A task cut short because the
// run stopped (ctx done, or FailFast) is not written: the rerun runs it.
//
// # Fan-out through a queue
//
// With [Options.Queue] the tasks run as jobs of a [workers.Queue] instead
// of on the Engine: each task's operation and params are enqueued as they
// are, and its job's status is polled (every 250 µs at first, then twice
// as long each time up to 20 ms) until it is final. The queue's workers run
// the jobs: a [workers.Pool] in this process on a [workers.Memory] queue,
// or examples/worker processes anywhere on a [workers.Redis] queue, so
// that a batch fans out to every worker process and its results come back
// to the one output. [Options.Workers] is then the number of jobs in
// flight (0: [DefaultInFlight]), which bounds the memory as locally.
//
// The results are a local run's: a completed job writes its result, a
// failed one the operation's error and code (the queue keeps no field,
// so a job's failure has none), and an unknown operation is reported by
// the Engine without a job. Ordering, FailFast, resuming, the progress bar
// and the [Summary] are as locally (a job's latency runs from its
// enqueueing to the status that showed it final; cache hits are not
// counted). A job the queue no longer knows (its result expired), a job
// canceled elsewhere, a queue that refuses it (closed, unreachable) or
// that cannot be asked its status five times in a row fail the task with
// code unavailable and a message naming the job; a full queue is waited
// for. [Options.TaskTimeout] bounds a task from its enqueueing: past it
// the job is canceled and the task fails. Without workers running, jobs
// stay pending: set TaskTimeout for a batch that must end. A job given up
// because the batch stopped (ctx done, FailFast) is canceled and not
// written, so a rerun enqueues it again; a batch killed outright leaves
// its jobs in flight to run in vain, and the rerun still writes each task
// once.
//
// # Summary and progress
//
// Both functions return a [Summary]: the [pipeline.Stats] of the tasks
// run (total, successful, failed, cache hits, throughput, latency
// percentiles) and the tasks skipped. [Options.Progress] draws a progress
// bar (github.com/schollz/progressbar/v3) on a writer of the caller's
// choice; the package itself never prints.
package batch
