package vecmath

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// BenchmarkGemm reports, for the products of the dense layers of SIREN
// (1000 points, 64 wide: Linear's NT, LinearBackward's TN and NN), their
// output layer's (n = 1) and input layer's (k = 1, and its weight gradient,
// TN with n = 1), and 256³, on each path: GFLOP/s (2·m·n·k per call);
// gonum's Dgemm (Dgemv for n = 1) measured right after in
// the same benchmark (gonum-GFLOP/s, which may use several goroutines:
// run with -cpu 1 to hold it to one core, as Gemm is), the speed-up over
// it, and fma-peak-frac: m·n·k FMA lanes per second over the core's peak
// (fmaPeak).
func BenchmarkGemm(b *testing.B) {
	for _, s := range []struct {
		tA, tB  bool
		m, n, k int
	}{
		{false, true, 1000, 64, 64},
		{true, false, 64, 64, 1000},
		{false, false, 1000, 64, 64},
		{false, true, 1000, 1, 64},
		{false, true, 1000, 64, 1},
		{true, false, 64, 1, 1000},
		{false, false, 256, 256, 256},
	} {
		name := fmt.Sprintf("%s/%dx%dx%d", map[[2]bool]string{{false, true}: "NT", {true, false}: "TN", {false, false}: "NN"}[[2]bool{s.tA, s.tB}], s.m, s.n, s.k)
		r := rand.New(rand.NewPCG(9, 10))
		a, bb, c := randSlice(r, s.m*s.k), randSlice(r, s.k*s.n), randSlice(r, s.m*s.n)
		lda, ldb := s.k, s.n
		if s.tA {
			lda = s.m
		}
		if s.tB {
			ldb = s.k
		}
		flop := 2 * float64(s.m*s.n*s.k)
		b.Run(name, func(b *testing.B) {
			for _, k := range []implKind{implGeneric, implAVX2, implAVX512} {
				b.Run(k.String(), func(b *testing.B) {
					if k > bestImpl() {
						b.Skipf("this CPU (or build) has no %s path", k)
					}
					defer setImpl(k)()
					for b.Loop() {
						Gemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
					rate := flop * float64(b.N) / b.Elapsed().Seconds()
					b.ReportMetric(rate/1e9, "GFLOP/s")
					if k == implGeneric {
						return
					}
					n, start := 0, time.Now()
					for ; n < 3 || time.Since(start) < 50*time.Millisecond; n++ {
						gonumDgemm(s.tA, s.tB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
					}
					gonumRate := flop * float64(n) / time.Since(start).Seconds()
					b.ReportMetric(gonumRate/1e9, "gonum-GFLOP/s")
					b.ReportMetric(rate/gonumRate, "speedup")
					if peak := fmaPeak(); peak > 0 {
						b.ReportMetric(rate/2/peak, "fma-peak-frac")
					}
				})
			}
		})
	}
}
