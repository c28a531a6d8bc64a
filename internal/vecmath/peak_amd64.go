//go:build amd64 && !purego

package vecmath

import (
	"sync"
	"time"
)

// PeakFMARate returns the core's peak rate of float64 FMA lanes per
// second, measured once per process (about 10 ms): the best of 5 runs of
// 12 independent VFMADD231PD per iteration on ZMM registers with AVX-512,
// else YMM. It is 0 without AVX2. Benchmarks divide their own rates by it
// to report the fraction of the hardware's speed they reach.
func PeakFMARate() float64 { return fmaPeak() }

var fmaPeak = sync.OnceValue(func() float64 {
	run, lanes := fmaPeakAVX2, 4.0
	switch {
	case hasAVX512:
		run, lanes = fmaPeakAVX512, 8
	case !hasAVX2:
		return 0
	}
	const iters = 1 << 21
	best := 0.0
	for range 5 {
		start := time.Now()
		run(iters)
		best = max(best, 12*lanes*iters/time.Since(start).Seconds())
	}
	return best
})
