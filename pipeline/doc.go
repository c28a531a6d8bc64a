// Package pipeline runs batches of operations on a [dredge.Engine] with a
// pool of workers, and reports the original DREDGE batch pipeline's
// statistics: tasks, successes, failures, cache hits and their rate, total
// time, throughput, and latency min, mean, median, max, p95 and p99.
//
// # Tasks and results
//
// A [Source] yields [Task] values: an operation of the Engine's table with
// JSON params, as [dredge.Engine.CallJSON] takes them, or a typed
// unified_inference (the hot path: on an Engine without a result cache it
// skips JSON altogether). Workers take tasks from the source in chunks, so
// a batch of any length streams through in constant memory; each result
// goes to the sink, in the source's order or as tasks complete
// ([Config.Ordered]). A task that fails (bad params, an unknown operation,
// a malformed input line reported through [Task.Err]) is a result with its
// error code, never a stop: the batch goes on.
//
// # Statistics
//
// [Stats] uses the original's field names and formulas: the median of
// Python's statistics.median and the percentiles of its
// _calculate_percentile ([Percentile]). Percentiles are exact for batches
// of up to [MaxExact] tasks; beyond, they come from a log-linear histogram
// and are within 1/64 (1.6%) of the exact value, so that memory stays
// constant. [LoadTest] is the original's load-test task generator.
package pipeline
