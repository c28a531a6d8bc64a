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
// # Summary and progress
//
// Both functions return a [Summary]: the [pipeline.Stats] of the tasks
// run (total, successful, failed, cache hits, throughput, latency
// percentiles) and the tasks skipped. [Options.Progress] draws a progress
// bar (github.com/schollz/progressbar/v3) on a writer of the caller's
// choice; the package itself never prints.
package batch
