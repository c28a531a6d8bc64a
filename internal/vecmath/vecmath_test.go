package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"
)

// ulps is the distance between a and b in units in the last place: the
// number of float64 values between them, with +0 and -0 one value.
// Two NaN are 0 apart; NaN and a number, or zeros of different signs,
// are as far apart as can be.
func ulps(a, b float64) uint64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		if math.IsNaN(a) && math.IsNaN(b) {
			return 0
		}
		return math.MaxUint64
	case a == 0 && b == 0 && math.Signbit(a) != math.Signbit(b):
		return math.MaxUint64
	}
	ia, ib := ordinal(a), ordinal(b)
	if ia < ib {
		ia, ib = ib, ia
	}
	return uint64(ia) - uint64(ib)
}

// ordinal maps the float64 values onto consecutive integers, in order.
func ordinal(x float64) int64 {
	b := int64(math.Float64bits(x))
	if b < 0 {
		return math.MinInt64 - b
	}
	return b
}

func TestUlps(t *testing.T) {
	next := math.Nextafter
	for _, c := range []struct {
		a, b float64
		want uint64
	}{
		{1, 1, 0},
		{1, next(1, 2), 1},
		{next(1, 0), next(1, 2), 2},
		{0, math.Copysign(0, -1), math.MaxUint64},
		{math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 2},
		{0, math.SmallestNonzeroFloat64, 1},
		{math.NaN(), math.NaN(), 0},
		{math.NaN(), 1, math.MaxUint64},
		{math.Inf(1), math.MaxFloat64, 1},
		{math.Inf(-1), math.Inf(1), 2 * (0x7ff << 52)},
	} {
		if got := ulps(c.a, c.b); got != c.want {
			t.Errorf("ulps(%g, %g) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := ulps(c.b, c.a); got != c.want {
			t.Errorf("ulps(%g, %g) = %d, want %d", c.b, c.a, got, c.want)
		}
	}
}

// A function under test: its slice form, math's scalar form, and the
// bound in ulps the package documentation states for it.
type testFunc struct {
	name  string
	vec   func(dst, x []float64)
	ref   func(float64) float64
	bound uint64
}

// Sincos is tested through both of its outputs.
func sincosSin(dst, x []float64) { Sincos(dst, make([]float64, len(x)), x) }
func sincosCos(dst, x []float64) { Sincos(make([]float64, len(x)), dst, x) }

var funcs = []testFunc{
	{"sin", Sin, math.Sin, boundSinCos},
	{"cos", Cos, math.Cos, boundSinCos},
	{"sincos.sin", sincosSin, math.Sin, boundSinCos},
	{"sincos.cos", sincosCos, math.Cos, boundSinCos},
	{"exp", Exp, exp, boundExp},
	{"tanh", Tanh, math.Tanh, boundTanh},
}

// The bounds the package documentation states, in ulps against package
// math.
const (
	boundSinCos = 1
	boundExp    = 2
	boundTanh   = 2
)

// forEachImpl runs f with each path this CPU has as the active one.
func forEachImpl(t *testing.T, f func(t *testing.T)) {
	for _, k := range []implKind{implGeneric, implAVX2, implAVX512} {
		t.Run(k.String(), func(t *testing.T) {
			if k > bestImpl() {
				t.Skipf("this CPU (or build) has no %s path", k)
			}
			defer setImpl(k)()
			f(t)
		})
	}
}

// randBits returns n float64 of random bits but for NaN and ±Inf: signs
// and exponents uniform, so log-uniform over 2⁻¹⁰⁷⁴ … 2¹⁰²⁴ with both
// signs and the subnormals.
func randBits(r *rand.Rand, n int) []float64 {
	x := make([]float64, n)
	for i := range x {
		for {
			x[i] = math.Float64frombits(r.Uint64())
			if !math.IsNaN(x[i]) && !math.IsInf(x[i], 0) {
				break
			}
		}
	}
	return x
}

// randLog returns n values of both signs with magnitudes log-uniform in
// [2^lo, 2^hi).
func randLog(r *rand.Rand, n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = math.Exp2(lo + (hi-lo)*r.Float64())
		if r.IntN(2) == 0 {
			x[i] = -x[i]
		}
	}
	return x
}

// grid returns n values evenly spaced over [lo, hi].
func grid(n int, lo, hi float64) []float64 {
	x := make([]float64, n)
	for i := range x {
		x[i] = lo + (hi-lo)*float64(i)/float64(n-1)
	}
	return x
}

// edges are the special arguments every function is tested on.
func edges() []float64 {
	x := []float64{
		0, math.Copysign(0, -1), math.SmallestNonzeroFloat64, 2 * math.SmallestNonzeroFloat64,
		0x1p-1022, 0x1p-1022 - 0x1p-1074, 0x1p-600, 1e-300, 1e-20, 1e-8, 0.5, 1, 2,
		math.MaxFloat64, math.Inf(1), math.NaN(), 1e300, 1e22, 1 << 29, 1<<29 - 1, math.Nextafter(1<<29, 0),
		1 << 52, 1 << 53, 1<<53 + 2,
		// exp: the ends of the normal results, overflow and underflow.
		709.782712893384, math.Nextafter(709.782712893384, 1000), 709.78, 709.79, 710,
		-708.39, -708.3964185322641, -708.4, -709, -744, -745.13, -745.1332191019411, -745.1332191019412,
		-745.14, -746, -1000, 708, -708, 1e4, -1e4,
		// tanh: its branch point and where it reaches ±1.
		0.625, math.Nextafter(0.625, 0), 22, 19, 20, 44, 88.02, 0.001, 0.3,
	}
	// Near multiples of π/2 and π/4, small and up to sincos's limit.
	for _, k := range []float64{1, 2, 3, 4, 5, 7, 10, 100, 355, 1000, 1e4, 1e5, 1e6, 1e7, 1e8, 3.4e8} {
		for _, m := range []float64{math.Pi / 2, math.Pi / 4} {
			v := k * m
			x = append(x, v, math.Nextafter(v, 0), math.Nextafter(v, math.Inf(1)))
		}
	}
	for _, v := range slices.Clone(x) {
		x = append(x, -v)
	}
	return x
}

// inputs returns the arguments fn is tested on.
func inputs(name string) []float64 {
	n := 1 << 20
	if testing.Short() {
		n = 1 << 16
	}
	r := rand.New(rand.NewPCG(1, uint64(len(name))))
	x := append(edges(), randBits(r, n)...)
	switch {
	case strings.HasPrefix(name, "exp"):
		x = append(x, randLog(r, n, -1074, 9.5)...)
		x = append(x, grid(n, -745.2, 709.8)...)
		x = append(x, grid(n/8, -750, -700)...)
		x = append(x, grid(n/8, 700, 710)...)
	case name == "tanh":
		x = append(x, randLog(r, n, -1074, 6)...)
		x = append(x, grid(n, -25, 25)...)
		x = append(x, grid(n/8, -1, 1)...)
	default:
		x = append(x, randLog(r, n, -30, 30)...)
		x = append(x, grid(n, -100, 100)...)
	}
	return x
}

// maxUlps records, per path and function, the largest error measured.
var maxUlps = map[string]uint64{}

func TestAccuracy(t *testing.T) {
	forEachImpl(t, func(t *testing.T) {
		for _, f := range funcs {
			x := inputs(f.name)
			got := make([]float64, len(x))
			f.vec(got, x)
			var worst uint64
			var worstX float64
			bad := 0
			for i, v := range x {
				want := f.ref(v)
				d := ulps(got[i], want)
				if d > worst {
					worst, worstX = d, v
				}
				if d > f.bound {
					if bad++; bad <= 5 {
						t.Errorf("%s(%v) = %v, math: %v (%d ulps)", f.name, v, got[i], want, d)
					}
				}
			}
			if bad > 0 {
				t.Errorf("%s: %d of %d values over %d ulps", f.name, bad, len(x), f.bound)
			}
			maxUlps[Impl()+" "+f.name] = worst
			t.Logf("%-10s max %d ulps (at %v) over %d values", f.name, worst, worstX, len(x))
		}
	})
}

// TestSpecial checks the special values bit for bit (sign of zero, NaN,
// ±Inf, ±1) on every path.
func TestSpecial(t *testing.T) {
	nz := math.Copysign(0, -1)
	inf := math.Inf(1)
	cases := []struct {
		name string
		vec  func(dst, x []float64)
		x    []float64
		want []float64
	}{
		{"sin", Sin, []float64{0, nz, inf, -inf, math.NaN()}, []float64{0, nz, math.NaN(), math.NaN(), math.NaN()}},
		{"cos", Cos, []float64{0, nz, inf, -inf, math.NaN()}, []float64{1, 1, math.NaN(), math.NaN(), math.NaN()}},
		{"exp", Exp, []float64{0, nz, inf, -inf, math.NaN(), 710, -746, 1000, -1000},
			[]float64{1, 1, inf, 0, math.NaN(), inf, 0, inf, 0}},
		{"tanh", Tanh, []float64{0, nz, inf, -inf, math.NaN(), 22, -22, 1e300, -1e300, 0x1p-1074, -0x1p-1074},
			[]float64{0, nz, 1, -1, math.NaN(), 1, -1, 1, -1, 0x1p-1074, -0x1p-1074}},
	}
	forEachImpl(t, func(t *testing.T) {
		for _, c := range cases {
			got := make([]float64, len(c.x))
			c.vec(got, c.x)
			for i := range got {
				if ulps(got[i], c.want[i]) != 0 {
					t.Errorf("%s(%v) = %v, want %v", c.name, c.x[i], got[i], c.want[i])
				}
			}
		}
	})
}

// TestLengths checks every length 0..33 (the tails of both widths), at
// every offset of a mix of ordinary and special arguments, into fresh
// slices and in place.
func TestLengths(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	pool := append(edges(), randLog(r, 200, -10, 8)...)
	r.Shuffle(len(pool), func(i, j int) { pool[i], pool[j] = pool[j], pool[i] })
	forEachImpl(t, func(t *testing.T) {
		for n := 0; n <= 33; n++ {
			for off := 0; off+n <= len(pool); off += 7 {
				x := pool[off : off+n]
				for _, f := range funcs[:4:4] {
					checkSlice(t, f, n, x)
				}
				for _, f := range funcs[4:] {
					checkSlice(t, f, n, x)
				}
				// Sincos in place, into either output.
				s, c := make([]float64, n), make([]float64, n)
				Sincos(s, c, x)
				s2 := slices.Clone(x)
				c2 := make([]float64, n)
				Sincos(s2, c2, s2)
				c3 := slices.Clone(x)
				s3 := make([]float64, n)
				Sincos(s3, c3, c3)
				for i := range x {
					if ulps(s[i], s2[i]) != 0 || ulps(s[i], s3[i]) != 0 || ulps(c[i], c2[i]) != 0 || ulps(c[i], c3[i]) != 0 {
						t.Fatalf("n=%d: Sincos(%v) in place differs: %v %v, %v %v, %v %v", n, x[i], s[i], c[i], s2[i], c2[i], s3[i], c3[i])
					}
				}
			}
		}
	})
}

func checkSlice(t *testing.T, f testFunc, n int, x []float64) {
	t.Helper()
	got := make([]float64, n)
	f.vec(got, x)
	in := slices.Clone(x)
	f.vec(in, in)
	for i, v := range x {
		if d := ulps(got[i], f.ref(v)); d > f.bound {
			t.Fatalf("n=%d: %s(%v) = %v, math: %v (%d ulps)", n, f.name, v, got[i], f.ref(v), d)
		}
		if ulps(in[i], got[i]) != 0 {
			t.Fatalf("n=%d: %s(%v) in place = %v, else %v", n, f.name, v, in[i], got[i])
		}
	}
}

// TestSinScaled checks SinScaled and SinScaledGrad against package math
// on every path: at several scales (overflowing a·x included), over the
// sine's inputs, with multipliers dy that put products far beyond ±1
// (which must not pass for the lanes left to math), on every length up
// to 33 at several offsets (the tails), and SinScaled in place; and that
// SincosScaled gives SinScaled's sines, to the bit, and cosines that
// times dy·a are SinScaledGrad's, to the bit (the CPU device's training
// relies on it: saving the cosine must not change a trajectory).
func TestSinScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	x := inputs("sin")
	if !testing.Short() {
		x = x[:1<<18]
	}
	dy := make([]float64, len(x))
	for i := range dy {
		dy[i] = randLog(r, 1, -20, 20)[0] * float64(1-2*(i%2))
	}
	dy[0], dy[1], dy[2] = 0, math.Inf(1), math.NaN()
	forEachImpl(t, func(t *testing.T) {
		for _, a := range []float64{1, 30, -2.5, 0, 1e-300, 1e300} {
			for _, c := range []struct{ lo, n int }{{0, len(x)}, {0, 0}, {3, 1}, {5, 3}, {11, 7}, {17, 9}, {40, 15}, {99, 33}} {
				xs, ds := x[c.lo:c.lo+c.n], dy[c.lo:c.lo+c.n]
				s, g := make([]float64, c.n), make([]float64, c.n)
				SinScaled(s, xs, a)
				SinScaledGrad(g, ds, xs, a)
				in := slices.Clone(xs)
				SinScaled(in, in, a)
				ss, cc := make([]float64, c.n), slices.Clone(xs)
				SincosScaled(ss, cc, cc, a) // cos in place of x
				bad := 0
				for i, v := range xs {
					ws, wg := math.Sin(a*v), math.Cos(a*v)*(ds[i]*a)
					// The gradient is a product with Cos's result: its
					// bound, and one rounding.
					if ulps(s[i], ws) > boundSinCos || ulps(g[i], wg) > boundSinCos+1 || ulps(in[i], s[i]) != 0 ||
						ulps(ss[i], s[i]) != 0 || ulps(cc[i]*(ds[i]*a), g[i]) != 0 {
						if bad++; bad <= 5 {
							t.Errorf("a=%g x=%v dy=%v: SinScaled %v (in place %v, SincosScaled %v), math %v; SinScaledGrad %v (from SincosScaled %v), math %v",
								a, v, ds[i], s[i], in[i], ss[i], ws, g[i], cc[i]*(ds[i]*a), wg)
						}
					}
				}
			}
		}
	})
}

// TestMulScaled checks MulScaled against the Go loop, to the bit, on
// every path: lengths 0 to 33 at several offsets (the tails), a long
// slice, values that overflow, underflow and are NaN or ±Inf, and dst
// being x or y.
func TestMulScaled(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	const n = 1 << 12
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = randLog(r, 1, -300, 300)[0] * float64(1-2*(i%2))
		y[i] = randLog(r, 1, -300, 300)[0] * float64(1-2*(i%3%2))
	}
	x[0], x[1], x[2], y[3], y[4], x[5] = math.NaN(), math.Inf(1), math.Inf(-1), math.NaN(), 0, math.SmallestNonzeroFloat64
	forEachImpl(t, func(t *testing.T) {
		for _, a := range []float64{30, -1.5, 0, 1e300, math.Inf(1)} {
			var cases []struct{ lo, n int }
			for k := 0; k <= 33; k++ {
				cases = append(cases, struct{ lo, n int }{k % 7, k})
			}
			cases = append(cases, struct{ lo, n int }{0, n})
			for _, c := range cases {
				xs, ys := x[c.lo:c.lo+c.n], y[c.lo:c.lo+c.n]
				want := make([]float64, c.n)
				for i := range want {
					want[i] = xs[i] * (ys[i] * a)
				}
				got := make([]float64, c.n)
				MulScaled(got, xs, ys, a)
				inX, inY := slices.Clone(xs), slices.Clone(ys)
				MulScaled(inX, inX, ys, a)
				MulScaled(inY, xs, inY, a)
				for i := range want {
					if ulps(got[i], want[i]) != 0 || ulps(inX[i], want[i]) != 0 || ulps(inY[i], want[i]) != 0 {
						t.Fatalf("a=%g n=%d: MulScaled(%v, %v) = %v (into x %v, into y %v), want %v", a, c.n, xs[i], ys[i], got[i], inX[i], inY[i], want[i])
					}
				}
			}
		}
	})
}

func TestPanics(t *testing.T) {
	x := make([]float64, 3)
	for name, f := range map[string]func(){
		"Sin":                func() { Sin(make([]float64, 2), x) },
		"Cos":                func() { Cos(make([]float64, 4), x) },
		"Exp":                func() { Exp(nil, x) },
		"Tanh":               func() { Tanh(make([]float64, 2), x) },
		"Sincos sin":         func() { Sincos(make([]float64, 2), make([]float64, 3), x) },
		"Sincos cos":         func() { Sincos(make([]float64, 3), make([]float64, 2), x) },
		"Sincos alias":       func() { s := make([]float64, 3); Sincos(s, s, x) },
		"SincosScaled cos":   func() { SincosScaled(make([]float64, 3), make([]float64, 4), x, 2) },
		"SincosScaled alias": func() { s := make([]float64, 3); SincosScaled(s, s, x, 2) },
		"SinScaled":          func() { SinScaled(make([]float64, 2), x, 2) },
		"SinScaledGrad dst":  func() { SinScaledGrad(make([]float64, 2), make([]float64, 3), x, 2) },
		"SinScaledGrad dy":   func() { SinScaledGrad(make([]float64, 3), make([]float64, 4), x, 2) },
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			f()
		}()
	}
}

func TestChooseImpl(t *testing.T) {
	for _, c := range []struct {
		env  string
		best implKind
		want implKind
	}{
		{"", implAVX512, implAVX512},
		{"on", implAVX2, implAVX2},
		{"off", implAVX512, implGeneric},
		{" OFF ", implAVX2, implGeneric},
		{"0", implAVX512, implGeneric},
		{"avx2", implAVX512, implAVX2},
		{"avx2", implGeneric, implGeneric},
		{"", implGeneric, implGeneric},
	} {
		if got := chooseImpl(c.env, c.best); got != c.want {
			t.Errorf("chooseImpl(%q, %s) = %s, want %s", c.env, c.best, got, c.want)
		}
	}
}

// TestImpl checks the path this process chose at init, under whatever
// DREDGE_CPU_SIMD the test runs with (CI runs it with off too).
func TestImpl(t *testing.T) {
	want := chooseImpl(os.Getenv(envSIMD), bestImpl())
	if Impl() != want.String() {
		t.Errorf("Impl() = %s, want %s (DREDGE_CPU_SIMD=%q)", Impl(), want, os.Getenv(envSIMD))
	}
	if got := fmt.Sprint(available()); !strings.HasPrefix(got, "[generic") {
		t.Errorf("available() = %s", got)
	}
	t.Logf("path: %s (best on this CPU: %s)", Impl(), bestImpl())
}

// TestExpScalar checks exp, the reference of Exp's tests, against
// math.Exp: equal where math.Exp is right, and within 4 ulps of
// e·math.Exp(x−1) (itself up to 3 ulps off) where it overflows early.
func TestExpScalar(t *testing.T) {
	for _, x := range append(grid(100001, -750, 709.43), math.Inf(1), math.Inf(-1), math.NaN()) {
		if got, want := exp(x), math.Exp(x); ulps(got, want) != 0 {
			t.Fatalf("exp(%v) = %v, math.Exp: %v", x, got, want)
		}
	}
	for _, x := range grid(100001, 709, 709.782712893384) {
		if got, want := exp(x), math.Exp(x-1)*math.E; ulps(got, want) > 4 || math.IsInf(got, 0) {
			t.Fatalf("exp(%v) = %v, want %v", x, got, want)
		}
	}
	for _, x := range []float64{math.Nextafter(709.782712893384, 800), 709.8, 710, 711} {
		if got := exp(x); !math.IsInf(got, 1) {
			t.Errorf("exp(%v) = %v, want +Inf", x, got)
		}
	}
}
