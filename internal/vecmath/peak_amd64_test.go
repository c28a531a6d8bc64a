//go:build amd64 && !purego

package vecmath

import (
	"sync"
	"time"
)

// fmaPeak returns the core's peak rate of float64 FMA lanes per second,
// measured once per process: the best of 5 runs of fmaPeakAVX512 (ZMM)
// or else fmaPeakAVX2 (YMM), 12 independent VFMADD231PD per iteration.
// 0 without AVX2.
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
