package vecmath

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// benchN is the length of the benchmarks' slices.
const benchN = 4096

// opsPerValue is the floating-point add, sub, mul, min, max and FMA
// instructions per vector of each kernel, so per value (counted in
// vecmath_amd64.s). tanh also divides once.
var opsPerValue = map[string]float64{"sincos": 26, "sin": 26, "cos": 26, "exp": 22, "tanh": 31, "mulscaled": 2}

func benchInput(lo, hi float64) []float64 {
	r := rand.New(rand.NewPCG(4, 5))
	x := make([]float64, benchN)
	for i := range x {
		x[i] = lo + (hi-lo)*r.Float64()
	}
	return x
}

// benchPaths runs vec on every path of this CPU, and reports, in each,
// points/s (values per second); the vector paths also report the scalar
// loop over package math (scalar) measured right after, in the same
// benchmark, their speed-up over it, and fma-peak-frac: opsPerValue[name]
// × points/s over the core's peak rate of float64 FMA lanes, measured in
// the same run (fmaPeak).
func benchPaths(b *testing.B, name string, vec, scalar func()) {
	for _, k := range []implKind{implGeneric, implAVX2, implAVX512} {
		b.Run(k.String(), func(b *testing.B) {
			if k > bestImpl() {
				b.Skipf("this CPU (or build) has no %s path", k)
			}
			defer setImpl(k)()
			for b.Loop() {
				vec()
			}
			rate := float64(b.N) * benchN / b.Elapsed().Seconds()
			b.ReportMetric(rate, "points/s")
			b.ReportMetric(0, "ns/op") // points/s says it, per value
			if k == implGeneric {
				return
			}
			n, start := 0, time.Now()
			for ; n < 3 || time.Since(start) < 50*time.Millisecond; n++ {
				scalar()
			}
			scalarRate := float64(n) * benchN / time.Since(start).Seconds()
			b.ReportMetric(scalarRate, "scalar-points/s")
			b.ReportMetric(rate/scalarRate, "speedup")
			if peak := fmaPeak(); peak > 0 {
				b.ReportMetric(opsPerValue[name]*rate/peak, "fma-peak-frac")
			}
		})
	}
}

func BenchmarkSincos(b *testing.B) {
	x := benchInput(-100, 100)
	s, c := make([]float64, benchN), make([]float64, benchN)
	benchPaths(b, "sincos", func() { Sincos(s, c, x) }, func() {
		for i, v := range x {
			s[i], c[i] = math.Sincos(v)
		}
	})
}

func BenchmarkSin(b *testing.B) {
	x := benchInput(-100, 100)
	d := make([]float64, benchN)
	benchPaths(b, "sin", func() { Sin(d, x) }, func() {
		for i, v := range x {
			d[i] = math.Sin(v)
		}
	})
}

func BenchmarkCos(b *testing.B) {
	x := benchInput(-100, 100)
	d := make([]float64, benchN)
	benchPaths(b, "cos", func() { Cos(d, x) }, func() {
		for i, v := range x {
			d[i] = math.Cos(v)
		}
	})
}

func BenchmarkExp(b *testing.B) {
	x := benchInput(-50, 50)
	d := make([]float64, benchN)
	benchPaths(b, "exp", func() { Exp(d, x) }, func() {
		for i, v := range x {
			d[i] = math.Exp(v)
		}
	})
}

func BenchmarkTanh(b *testing.B) {
	x := benchInput(-5, 5)
	d := make([]float64, benchN)
	benchPaths(b, "tanh", func() { Tanh(d, x) }, func() {
		for i, v := range x {
			d[i] = math.Tanh(v)
		}
	})
}

// BenchmarkMulScaled: SIREN's activation's backward pass from a saved
// cosine; the scalar loop is the Go expression.
func BenchmarkMulScaled(b *testing.B) {
	x, y := benchInput(-1, 1), benchInput(-1, 1)
	d := make([]float64, benchN)
	benchPaths(b, "mulscaled", func() { MulScaled(d, x, y, 30) }, func() {
		for i, v := range x {
			d[i] = v * (y[i] * 30)
		}
	})
}

// BenchmarkFMAPeak reports the peak rate fma-peak-frac divides by, in
// float64 FMA lanes per second.
func BenchmarkFMAPeak(b *testing.B) {
	peak := fmaPeak()
	for b.Loop() {
	}
	b.ReportMetric(peak, "fma-lanes/s")
	b.ReportMetric(0, "ns/op")
}
