// Package bench runs the training benchmarks of examples/bench: one model
// on its data set, or the rows of the Quasimoto paper's table over several
// seeds, with a Markdown table and PNG plots of the results.
package bench
