package accel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSincosMatchesMath checks that sincos gives math.Sincos's results bit
// for bit, over arguments of every magnitude and the special cases.
func TestSincosMatchesMath(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	same := func(x float64) {
		s1, c1 := math.Sincos(x)
		s2, c2 := sincos(x)
		if math.Float64bits(s1) != math.Float64bits(s2) || math.Float64bits(c1) != math.Float64bits(c2) {
			if !(math.IsNaN(s1) && math.IsNaN(s2) && math.IsNaN(c1) && math.IsNaN(c2)) {
				t.Fatalf("sincos(%v) = %v, %v; math.Sincos = %v, %v", x, s2, c2, s1, c1)
			}
		}
	}
	for i := 0; i < 200_000; i++ {
		x := (2*rng.Float64() - 1) * math.Pow(10, float64(i%12)-4)
		same(x)
	}
	for k := -64; k <= 64; k++ {
		base := float64(k) * math.Pi / 4
		same(base)
		same(math.Nextafter(base, math.Inf(1)))
		same(math.Nextafter(base, math.Inf(-1)))
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1e-300, -1e-300, sincosReduceMax, -sincosReduceMax, math.Nextafter(sincosReduceMax, 0), 1e300, math.Inf(1), math.Inf(-1), math.NaN()} {
		same(x)
	}
}

func BenchmarkSincos(b *testing.B) {
	x, s := 0.1, 0.0
	for b.Loop() {
		a, c := sincos(x)
		s += a + c
		x += 0.37
		if x > 30 {
			x = -30
		}
	}
	_ = s
}

func BenchmarkMathSincos(b *testing.B) {
	x, s := 0.1, 0.0
	for b.Loop() {
		a, c := math.Sincos(x)
		s += a + c
		x += 0.37
		if x > 30 {
			x = -30
		}
	}
	_ = s
}

// TestSincosMatchesSinCos checks that sincos's halves are math.Sin and
// math.Cos bit for bit, so that the activations may use either.
func TestSincosMatchesSinCos(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 200_000; i++ {
		x := (2*rng.Float64() - 1) * math.Pow(10, float64(i%10)-3)
		s, c := sincos(x)
		if math.Float64bits(s) != math.Float64bits(math.Sin(x)) || math.Float64bits(c) != math.Float64bits(math.Cos(x)) {
			t.Fatalf("sincos(%v) = %v, %v; math.Sin, math.Cos = %v, %v", x, s, c, math.Sin(x), math.Cos(x))
		}
	}
}

// TestSincosBlock checks sincosBlock against math.Sincos bit for bit,
// in place and not.
func TestSincosBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float64, 4096)
	for i := range x {
		x[i] = (2*rng.Float64() - 1) * math.Pow(10, float64(i%12)-4)
	}
	x = append(x, 0, math.Copysign(0, -1), math.Inf(1), math.NaN(), 1e300, sincosReduceMax)
	s, c := make([]float64, len(x)), make([]float64, len(x))
	sincosBlock(x, s, c)
	in := append([]float64(nil), x...)
	c2 := make([]float64, len(x))
	sincosBlock(in, in, c2)
	for i, v := range x {
		ws, wc := math.Sincos(v)
		for _, got := range [][2]float64{{s[i], c[i]}, {in[i], c2[i]}} {
			if math.Float64bits(got[0]) != math.Float64bits(ws) && !(math.IsNaN(ws) && math.IsNaN(got[0])) ||
				math.Float64bits(got[1]) != math.Float64bits(wc) && !(math.IsNaN(wc) && math.IsNaN(got[1])) {
				t.Fatalf("sincosBlock(%v) = %v, %v; want %v, %v", v, got[0], got[1], ws, wc)
			}
		}
	}
}
