//go:build amd64 && !purego

package vecmath

import (
	"math"

	"golang.org/x/sys/cpu"
)

// The kernels of vecmath_amd64.s. Each processes n values, n a multiple
// of its width (4 for AVX2, 8 for AVX-512); the wrappers below run the
// tail through a padded buffer. sincos stores sin(a·x) in s and cos(a·x)
// in c (either may be nil: not stored), each times m[i]·b when m is not
// nil. It returns non-zero when some lane had |a·x| ≥ 2²⁹, ±Inf or NaN:
// it then stored a·x itself in that lane of s and c, for fixSincos.

//go:noescape
func sincosAVX2(s, c, x *float64, n int, a float64, m *float64, b float64) (bad int)

//go:noescape
func sincosAVX512(s, c, x *float64, n int, a float64, m *float64, b float64) (bad int)

//go:noescape
func expAVX2(dst, x *float64, n int)

//go:noescape
func expAVX512(dst, x *float64, n int)

//go:noescape
func tanhAVX2(dst, x *float64, n int)

//go:noescape
func tanhAVX512(dst, x *float64, n int)

// mulScaledAVX2 and mulScaledAVX512 set dst[i] = x[i]·(y[i]·a), n a
// multiple of their width.
//
//go:noescape
func mulScaledAVX2(dst, x, y *float64, n int, a float64)

//go:noescape
func mulScaledAVX512(dst, x, y *float64, n int, a float64)

// fmaPeakAVX2 and fmaPeakAVX512 run n iterations of 12 independent
// VFMADD231PD (YMM, ZMM): the benchmarks' measure of the core's peak.
func fmaPeakAVX2(n int)
func fmaPeakAVX512(n int)

var (
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
	hasAVX512 = hasAVX2 && cpu.X86.HasAVX512F && cpu.X86.HasAVX512DQ
)

// bestImpl is the fastest path this CPU runs.
func bestImpl() implKind {
	switch {
	case hasAVX512:
		return implAVX512
	case hasAVX2:
		return implAVX2
	}
	return implGeneric
}

func width(k implKind) int {
	if k == implAVX512 {
		return 8
	}
	return 4
}

// ptr returns &s[0], or nil for an empty s.
func ptr(s []float64) *float64 {
	if len(s) == 0 {
		return nil
	}
	return &s[0]
}

// sincosVec is Sincos (s and c given), Sin (c nil) or Cos (s nil) of a·x
// on a vector path, each value times m[i]·b when m is not nil (then x
// must not overlap s, c or m).
func sincosVec(k implKind, s, c, x []float64, a float64, m []float64, b float64) {
	// The kernels are called directly, not through a func value, so that
	// their go:noescape keeps the tail's buffers on the stack (through a
	// func value they escaped: 3 KB a training epoch).
	kern := func(s, c, x *float64, n int, m *float64) int {
		if k == implAVX512 {
			return sincosAVX512(s, c, x, n, a, m, b)
		}
		return sincosAVX2(s, c, x, n, a, m, b)
	}
	n := len(x) &^ (width(k) - 1)
	bad := 0
	if n > 0 {
		bad = kern(ptr(s), ptr(c), &x[0], n, ptr(m))
	}
	if n < len(x) {
		var xb, sb, cb, mb [8]float64
		copy(xb[:], x[n:])
		var mt *float64
		if m != nil {
			copy(mb[:], m[n:])
			mt = &mb[0]
		}
		bad |= kern(&sb[0], &cb[0], &xb[0], width(k), mt)
		if s != nil {
			copy(s[n:], sb[:])
		}
		if c != nil {
			copy(c[n:], cb[:])
		}
	}
	if bad == 0 {
		return
	}
	if m == nil && b == 1 {
		fixSincos(s, c)
		return
	}
	// The products may exceed 1: the bad lanes are found from x.
	for i, v := range x {
		if v *= a; math.Abs(v) < 1<<29 {
			continue
		}
		sn, cs := math.Sincos(v)
		f := b
		if m != nil {
			f = m[i] * b
		}
		if s != nil {
			s[i] = sn * f
		}
		if c != nil {
			c[i] = cs * f
		}
	}
}

// fixSincos sets the lanes the kernel left to package math. The kernel
// stored those lanes' a·x in s and c, and only there can a value exceed 1
// in magnitude (or be NaN).
func fixSincos(s, c []float64) {
	flag := s
	if flag == nil {
		flag = c
	}
	for i, v := range flag {
		if math.Abs(v) <= 1 {
			continue
		}
		switch {
		case c == nil:
			s[i] = math.Sin(v)
		case s == nil:
			c[i] = math.Cos(v)
		default:
			s[i], c[i] = math.Sincos(v)
		}
	}
}

// mulScaledVec is MulScaled on a vector path, the tail in Go (the same
// two roundings).
func mulScaledVec(k implKind, dst, x, y []float64, a float64) {
	n := len(x) &^ (width(k) - 1)
	if n > 0 {
		if k == implAVX512 {
			mulScaledAVX512(&dst[0], &x[0], &y[0], n, a)
		} else {
			mulScaledAVX2(&dst[0], &x[0], &y[0], n, a)
		}
	}
	for i := n; i < len(x); i++ {
		dst[i] = x[i] * (y[i] * a)
	}
}

func expVec(k implKind, dst, x []float64) { unary(k, opExp, dst, x) }

func tanhVec(k implKind, dst, x []float64) { unary(k, opTanh, dst, x) }

// The unary kernels.
const (
	opExp = iota
	opTanh
)

// unaryKern runs op's kernel of path k, called directly (see sincosVec).
func unaryKern(k implKind, op int, dst, x *float64, n int) {
	switch {
	case op == opExp && k == implAVX512:
		expAVX512(dst, x, n)
	case op == opExp:
		expAVX2(dst, x, n)
	case k == implAVX512:
		tanhAVX512(dst, x, n)
	default:
		tanhAVX2(dst, x, n)
	}
}

// unary runs op over x into dst, the tail through a padded buffer.
func unary(k implKind, op int, dst, x []float64) {
	w := width(k)
	n := len(x) &^ (w - 1)
	if n > 0 {
		unaryKern(k, op, &dst[0], &x[0], n)
	}
	if n < len(x) {
		var xb, db [8]float64
		copy(xb[:], x[n:])
		unaryKern(k, op, &db[0], &xb[0], w)
		copy(dst[n:], db[:])
	}
}

// Indices into vc, the kernels' constants; vecmath_amd64.s addresses
// them as ·vc+64*index(SB) and must follow this order.
const (
	kAbs     = iota // 0x7fff…: clears the sign
	kSign           // 0x8000…
	kFourPi         // 4/π
	kHalf           // 0.5
	kOne            // 1
	kLimit          // 2²⁹: sincos's largest argument
	kMagic52        // 2⁵²: k+2⁵² holds the integer k in its low bits
	kPi4A           // π/4 in three parts, as package math
	kPi4B
	kPi4C
	kSin0 // sin polynomial, Cephes (as package math)
	kSin1
	kSin2
	kSin3
	kSin4
	kSin5
	kCos0 // cos polynomial
	kCos1
	kCos2
	kCos3
	kCos4
	kCos5
	kLog2E    // 1/ln 2
	kLn2Hi    // ln 2 rounded
	kLn2Lo    // ln 2 − kLn2Hi
	kExpMax   // exp clamps x to [kExpMin, kExpMax]
	kExpMin   //
	kRndMagic // 1.5·2⁵²: adding and subtracting it rounds to an integer
	kBias52   // 1023<<52 (integer)
	kExp13    // 1/13!, … 1/0!: exp's Taylor polynomial
	kExp12
	kExp11
	kExp10
	kExp9
	kExp8
	kExp7
	kExp6
	kExp5
	kExp4
	kExp3
	kExp2
	kExp1
	kExp0
	kTanhMax   // tanh clamps |x| to it
	kTanhSmall // below: the rational approximation
	kTanhP0    // Cephes tanh (as package math)
	kTanhP1
	kTanhP2
	kTanhQ0
	kTanhQ1
	kTanhQ2
	kInt1   // 1 (integer)
	kNegTwo // −2
	kCount
)

// vc holds each constant in 8 lanes (64 bytes), so that both kernels
// can take any of them as a full-width memory operand.
var vc [kCount][8]uint64

func init() {
	f := math.Float64bits
	var v [kCount]uint64
	v[kAbs] = 1<<63 - 1
	v[kSign] = 1 << 63
	v[kFourPi] = f(4 / math.Pi)
	v[kHalf] = f(0.5)
	v[kOne] = f(1)
	v[kLimit] = f(1 << 29)
	v[kMagic52] = f(1 << 52)
	v[kPi4A] = f(7.85398125648498535156e-1)
	v[kPi4B] = f(3.77489470793079817668e-8)
	v[kPi4C] = f(2.69515142907905952645e-15)
	for i, c := range [...]float64{
		1.58962301576546568060e-10,
		-2.50507477628578072866e-8,
		2.75573136213857245213e-6,
		-1.98412698295895385996e-4,
		8.33333333332211858878e-3,
		-1.66666666666666307295e-1,
	} {
		v[kSin0+i] = f(c)
	}
	for i, c := range [...]float64{
		-1.13585365213876817300e-11,
		2.08757008419747316778e-9,
		-2.75573141792967388112e-7,
		2.48015872888517045348e-5,
		-1.38888888888730564116e-3,
		4.16666666666665929218e-2,
	} {
		v[kCos0+i] = f(c)
	}
	v[kLog2E] = f(math.Log2E)
	v[kLn2Hi] = f(math.Ln2)
	v[kLn2Lo] = f(2.319046813846299615e-17) // ln 2 − float64(ln 2)
	v[kExpMax] = f(710)
	v[kExpMin] = f(-746)
	v[kRndMagic] = f(0x1.8p52)
	v[kBias52] = 1023 << 52
	fact := 1.0
	for i := 0; i <= 13; i++ {
		if i > 0 {
			fact *= float64(i)
		}
		v[kExp0-i] = f(1 / fact)
	}
	v[kTanhMax] = f(22)
	v[kTanhSmall] = f(0.625)
	v[kTanhP0] = f(-9.64399179425052238628e-1)
	v[kTanhP1] = f(-9.92877231001918586564e1)
	v[kTanhP2] = f(-1.61468768441708447952e3)
	v[kTanhQ0] = f(1.12811678491632931402e2)
	v[kTanhQ1] = f(2.23548839060100448583e3)
	v[kTanhQ2] = f(4.84406305325125486048e3)
	v[kInt1] = 1
	v[kNegTwo] = f(-2)
	for i, x := range v {
		for j := range vc[i] {
			vc[i][j] = x
		}
	}
}
