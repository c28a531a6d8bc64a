package vecmath

import (
	"math"
	"os"
	"strings"
)

// implKind names one implementation of the kernels.
type implKind uint8

const (
	implGeneric implKind = iota // loops over package math
	implAVX2                    // 4 lanes, AVX2 and FMA (amd64)
	implAVX512                  // 8 lanes, AVX-512F (amd64)
)

var implNames = [...]string{implGeneric: "generic", implAVX2: "avx2", implAVX512: "avx512"}

func (k implKind) String() string { return implNames[k] }

// envSIMD is the environment variable that chooses the path; see the
// package documentation.
const envSIMD = "DREDGE_CPU_SIMD"

// active is the implementation the exported functions use, chosen once
// at init (tests switch it with setImpl).
var active = chooseImpl(os.Getenv(envSIMD), bestImpl())

// chooseImpl returns the path for DREDGE_CPU_SIMD's value env on a CPU
// whose best path is best: off (or 0, false, no, generic) gives the
// portable path, avx2 at most AVX2, anything else (unset, on, auto) best.
func chooseImpl(env string, best implKind) implKind {
	switch strings.ToLower(strings.TrimSpace(env)) {
	case "off", "0", "false", "no", "generic":
		return implGeneric
	case "avx2":
		return min(best, implAVX2)
	}
	return best
}

// Impl returns the name of the path the functions take on this machine
// and in this process: "avx512", "avx2" or "generic".
func Impl() string { return active.String() }

// available returns the paths this CPU can run, portable first,
// whatever DREDGE_CPU_SIMD says.
func available() []implKind {
	ks := []implKind{implGeneric}
	for k := implGeneric + 1; k <= bestImpl(); k++ {
		ks = append(ks, k)
	}
	return ks
}

// setImpl makes k the active path (for tests and benchmarks, which must
// not run in parallel with other users of the package) and returns a
// function that restores the previous one. k must be available.
func setImpl(k implKind) (restore func()) {
	if k > bestImpl() {
		panic("vecmath: " + k.String() + " is not available on this CPU")
	}
	old := active
	active = k
	return func() { active = old }
}

func checkLen(fn string, a, b int) {
	if a != b {
		panic("vecmath: " + fn + ": slice lengths differ")
	}
}

// Sincos sets sin[i], cos[i] = math.Sincos(x[i]) for every i, to within
// the error bound of the package documentation. The three slices must
// have the same length (it panics otherwise). sin or cos may be x itself,
// but sin and cos must be distinct, and no slice may partially overlap
// another.
func Sincos(sin, cos, x []float64) { sincosScaled("Sincos", sin, cos, x, 1) }

// SincosScaled sets sin[i], cos[i] = math.Sincos(a·x[i]) for every i (the
// product rounded, then to within Sincos's bound): SIREN's activation and
// the cosine its backward pass needs, in one pass. The slices are as
// Sincos's.
func SincosScaled(sin, cos, x []float64, a float64) { sincosScaled("SincosScaled", sin, cos, x, a) }

// sincosScaled is SincosScaled, its panics naming fn.
func sincosScaled(fn string, sin, cos, x []float64, a float64) {
	checkLen(fn, len(sin), len(x))
	checkLen(fn, len(cos), len(x))
	if len(x) == 0 {
		return
	}
	if &sin[0] == &cos[0] {
		panic("vecmath: " + fn + ": sin and cos are the same slice")
	}
	if active == implGeneric {
		for i, v := range x {
			sin[i], cos[i] = math.Sincos(a * v)
		}
		return
	}
	sincosVec(active, sin, cos, x, a, nil, 1)
}

// Sin sets dst[i] = math.Sin(x[i]) for every i, to within the error bound
// of the package documentation. dst and x must have the same length (it
// panics otherwise); dst may be x, but must not partially overlap it.
func Sin(dst, x []float64) { sinScaled("Sin", dst, x, 1) }

// Cos sets dst[i] = math.Cos(x[i]) for every i, as Sin does.
func Cos(dst, x []float64) {
	checkLen("Cos", len(dst), len(x))
	if active == implGeneric {
		for i, v := range x {
			dst[i] = math.Cos(v)
		}
		return
	}
	sincosVec(active, nil, dst, x, 1, nil, 1)
}

// SinScaled sets dst[i] = math.Sin(a·x[i]) for every i (the product
// rounded, then to within Sin's bound): SIREN's activation in one pass.
// dst and x must have the same length (it panics otherwise); dst may be
// x, but must not partially overlap it.
func SinScaled(dst, x []float64, a float64) { sinScaled("SinScaled", dst, x, a) }

// sinScaled is SinScaled, its panics naming fn (with a = 1, Sin: a·x is x
// exactly).
func sinScaled(fn string, dst, x []float64, a float64) {
	checkLen(fn, len(dst), len(x))
	if active == implGeneric {
		for i, v := range x {
			dst[i] = math.Sin(a * v)
		}
		return
	}
	sincosVec(active, dst, nil, x, a, nil, 1)
}

// SinScaledGrad sets dst[i] = math.Cos(a·x[i])·(dy[i]·a) for every i (the
// cosine to within Cos's bound), the gradient through SinScaled of dy:
// SIREN's activation's backward pass in one. The three slices must have
// the same length (it panics otherwise), and dst must overlap neither x
// nor dy.
func SinScaledGrad(dst, dy, x []float64, a float64) {
	checkLen("SinScaledGrad", len(dst), len(x))
	checkLen("SinScaledGrad", len(dy), len(x))
	if active == implGeneric {
		for i, v := range x {
			dst[i] = math.Cos(a*v) * (dy[i] * a)
		}
		return
	}
	sincosVec(active, nil, dst, x, a, dy, a)
}

// MulScaled sets dst[i] = x[i]·(y[i]·a) for every i, rounded as that Go
// expression is (no FMA): the results are the loop's, to the bit. It is
// SIREN's activation's backward pass from a saved cosine x. The three
// slices must have the same length (it panics otherwise); dst may be x or
// y, but must not partially overlap either.
func MulScaled(dst, x, y []float64, a float64) {
	checkLen("MulScaled", len(dst), len(x))
	checkLen("MulScaled", len(y), len(x))
	if active == implGeneric {
		for i, v := range x {
			dst[i] = v * (y[i] * a)
		}
		return
	}
	mulScaledVec(active, dst, x, y, a)
}

// Exp sets dst[i] = math.Exp(x[i]) for every i, as Sin does; where
// math.Exp on amd64 returns +Inf although exp(x) is finite (709.436 ≤ x ≤
// 709.78), Exp returns the finite value, on every path (see exp).
func Exp(dst, x []float64) {
	checkLen("Exp", len(dst), len(x))
	if active == implGeneric {
		for i, v := range x {
			dst[i] = exp(v)
		}
		return
	}
	expVec(active, dst, x)
}

// Tanh sets dst[i] = math.Tanh(x[i]) for every i, as Sin does.
func Tanh(dst, x []float64) {
	checkLen("Tanh", len(dst), len(x))
	if active == implGeneric {
		for i, v := range x {
			dst[i] = math.Tanh(v)
		}
		return
	}
	tanhVec(active, dst, x)
}

// exp is math.Exp but for 709 < x ≤ 710: math.Exp's assembly on amd64
// returns +Inf from x ≥ 1023.5·ln 2 ≈ 709.436, where its 2ⁿ would need
// n = 1024, although exp(x) is finite up to 709.7827. Here exp(x) is
// 2¹⁰²³·exp(x − 1023·ln 2), the subtraction exact to 2⁻⁵³ with FMA.
func exp(x float64) float64 {
	if x > 709 && x <= 710 {
		const ln2Lo = 2.319046813846299615e-17 // ln 2 − float64(ln 2)
		r := math.FMA(-1023, math.Ln2, x) - 1023*ln2Lo
		return math.Ldexp(math.Exp(r), 1023)
	}
	return math.Exp(x)
}
