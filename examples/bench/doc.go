// Command bench trains DREDGE models and reports their losses and speed.
//
// One model on its default data set (1D types on the glitchy chirp, _4d on
// the 20³ grid, _6d on the 8⁵ grid), one JSON line with -json:
//
//	bench -model quasimoto_ensemble -waves 16 -epochs 200 -lr 1e-3 -seed 1 -json
//
// The rows of the Quasimoto paper's table over several seeds, a Markdown
// table (a JSON array with -json) and PNG plots in -out:
//
//	bench -suite paper -seeds 3 -out plots
//
// A progress bar goes to stderr when stderr is a terminal.
package main
