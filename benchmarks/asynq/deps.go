// Package asynq holds the baseline of DREDGE's queue throughput: asynq's
// own BenchmarkEndToEndSimple, run from this module by run.sh. It is a
// module of its own so that asynq stays out of DREDGE's go.mod; this file
// keeps asynq, and the modules its tests import, in this module's go.sum.
package asynqbench

import (
	_ "github.com/hibiken/asynq"
)
