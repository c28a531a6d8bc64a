package vecmath

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// naiveGemm is C = alpha·op(A)·op(B) + beta·C by the triple loop, with
// bound[i·n+j] the sum of the magnitudes of the terms of C[i, j]: the
// scale of its rounding error.
func naiveGemm(tA, tB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) (want, bound []float64) {
	opA := func(i, p int) float64 {
		if tA {
			return a[p*lda+i]
		}
		return a[i*lda+p]
	}
	opB := func(p, j int) float64 {
		if tB {
			return b[j*ldb+p]
		}
		return b[p*ldb+j]
	}
	want, bound = make([]float64, m*n), make([]float64, m*n)
	for i := range m {
		for j := range n {
			s, abs := 0.0, 0.0
			for p := range k {
				t := alpha * opA(i, p) * opB(p, j)
				s += t
				abs += math.Abs(t)
			}
			if beta != 0 {
				t := beta * c[i*ldc+j]
				s += t
				abs += math.Abs(t)
			}
			want[i*n+j], bound[i*n+j] = s, abs
		}
	}
	return want, bound
}

func randSlice(r *rand.Rand, n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 2*r.Float64() - 1
	}
	return s
}

type gemmCase struct {
	tA, tB      bool
	m, n, k     int
	alpha, beta float64
	pad         int // added to each minimum stride
}

func (g gemmCase) String() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s%s/%dx%dx%d/alpha=%g/beta=%g/pad=%d", t(g.tA), t(g.tB), g.m, g.n, g.k, g.alpha, g.beta, g.pad)
}

// checkGemm runs Gemm on case g and compares it with naiveGemm: within
// 1e-12 of the sum of the terms' magnitudes, C's padding untouched. C
// starts as NaN where beta = 0.
func checkGemm(t *testing.T, r *rand.Rand, g gemmCase) {
	t.Helper()
	ar, ac := g.m, g.k
	if g.tA {
		ar, ac = g.k, g.m
	}
	br, bc := g.k, g.n
	if g.tB {
		br, bc = g.n, g.k
	}
	lda, ldb, ldc := max(1, ac)+g.pad, max(1, bc)+g.pad, max(1, g.n)+g.pad
	a, b, c := randSlice(r, ar*lda), randSlice(r, br*ldb), randSlice(r, g.m*ldc)
	if g.beta == 0 {
		for i := range c {
			c[i] = math.NaN()
		}
	}
	const sentinel = 12345.0
	for i := range g.m {
		for j := g.n; j < ldc; j++ {
			c[i*ldc+j] = sentinel
		}
	}
	want, bound := naiveGemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	Gemm(g.tA, g.tB, g.m, g.n, g.k, g.alpha, a, lda, b, ldb, g.beta, c, ldc)
	bad := 0
	for i := range g.m {
		for j := range ldc {
			got := c[i*ldc+j]
			if j >= g.n {
				if got != sentinel {
					t.Errorf("%v: C[%d,%d] (padding) = %g, changed", g, i, j, got)
					return
				}
				continue
			}
			w, tol := want[i*g.n+j], 1e-12*bound[i*g.n+j]
			if !(math.Abs(got-w) <= tol) {
				if bad++; bad <= 3 {
					t.Errorf("%v: C[%d,%d] = %.17g, want %.17g (tolerance %.3g)", g, i, j, got, w, tol)
				}
			}
		}
	}
}

// forPaths runs f on every path this CPU has.
func forPaths(t *testing.T, f func(t *testing.T)) {
	for _, k := range available() {
		t.Run(k.String(), func(t *testing.T) {
			defer setImpl(k)()
			f(t)
		})
	}
}

func TestGemm(t *testing.T) {
	sizes := []int{0, 1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 33, 64, 65, 100}
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		n := 0
		for _, tA := range []bool{false, true} {
			for _, tB := range []bool{false, true} {
				for _, m := range sizes {
					for _, nn := range sizes {
						for _, k := range sizes {
							if (m > 33 && nn > 33) || (m > 33 && k > 33) || (nn > 33 && k > 33) {
								continue // TestGemmLarge's; too slow with -race
							}
							// every shape once, with alpha, beta and padding
							// cycling through their values
							n++
							g := gemmCase{tA, tB, m, nn, k, []float64{1, -0.5, 2, 0}[n%4], []float64{0, 1, -0.5, 2}[n/4%4], []int{0, 3, 0, 1, 17}[n%5]}
							checkGemm(t, r, g)
						}
					}
				}
			}
		}
	})
}

// TestGemmLarge: the SIREN and MLP shapes, shapes past the blocking
// (k > gemmKC, m > gemmMC, n > gemmNC), alpha and beta cycling.
func TestGemmLarge(t *testing.T) {
	shapes := [][3]int{{1000, 64, 64}, {1000, 1, 64}, {1000, 64, 1}, {64, 64, 1000}, {1000, 10, 64}, {1000, 64, 10}, {1, 128, 1000}, {20, 1030, 260}, {129, 20, 40}, {300, 17, 513}}
	forPaths(t, func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		abs := [][2]float64{{1, 0}, {1, 1}, {-0.5, 2}, {2, -0.5}, {0, 2}, {-0.5, 0}}
		n := 0
		for i, s := range shapes {
			for _, tA := range []bool{false, true} {
				for _, tB := range []bool{false, true} {
					n++
					ab := abs[n%len(abs)]
					checkGemm(t, r, gemmCase{tA, tB, s[0], s[1], s[2], ab[0], ab[1], i % 3})
				}
			}
		}
	})
}

// TestGemmGenericIsGonum: the generic path is gonum's, to the bit.
func TestGemmGenericIsGonum(t *testing.T) {
	defer setImpl(implGeneric)()
	r := rand.New(rand.NewPCG(5, 6))
	m, n, k := 100, 64, 33
	a, b, c := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
	c2 := append([]float64(nil), c...)
	Gemm(false, true, m, n, k, 1.5, a, k, b, k, 0.5, c, n)
	gonumDgemm(false, true, m, n, k, 1.5, a, k, b, k, 0.5, c2, n)
	for i := range c {
		if math.Float64bits(c[i]) != math.Float64bits(c2[i]) {
			t.Fatalf("C[%d] = %v, gonum %v", i, c[i], c2[i])
		}
	}
}

func TestGemmAllocs(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	forPaths(t, func(t *testing.T) {
		if active == implGeneric || !gemmVecFits(1000, 64, 64) {
			t.Skip("this path is gonum's, which allocates for large products")
		}
		if raceEnabled {
			t.Skip("with -race, sync.Pool drops a random share of what it is given")
		}
		for _, s := range [][3]int{{1000, 64, 64}, {33, 17, 300}} {
			m, n, k := s[0], s[1], s[2]
			a, b, c := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
			for _, tr := range [][2]bool{{false, true}, {true, false}, {false, false}} {
				lda, ldb := k, n
				if tr[0] {
					lda = m
				}
				if tr[1] {
					ldb = k
				}
				allocs := testing.AllocsPerRun(20, func() {
					Gemm(tr[0], tr[1], m, n, k, 1, a, lda, b, ldb, 0, c, n)
				})
				if allocs != 0 {
					t.Errorf("%v %v: %v allocations per call", s, tr, allocs)
				}
			}
		}
	})
}

func TestGemmPanics(t *testing.T) {
	a := make([]float64, 12)
	for _, c := range []struct {
		name string
		f    func()
		want string
	}{
		{"negative", func() { Gemm(false, false, -1, 2, 2, 1, a, 2, a, 2, 0, a, 2) }, "negative dimension"},
		{"lda", func() { Gemm(false, false, 2, 2, 3, 1, a, 2, a, 3, 0, a, 2) }, "stride of A"},
		{"ldb trans", func() { Gemm(false, true, 2, 2, 3, 1, a, 3, a, 2, 0, a, 2) }, "stride of B"},
		{"ldc", func() { Gemm(false, false, 2, 3, 2, 1, a, 2, a, 3, 0, a, 2) }, "stride of C"},
		{"short A", func() { Gemm(true, false, 2, 2, 7, 1, a, 2, a, 2, 0, a, 2) }, "slice of A"},
		{"short B", func() { Gemm(false, false, 2, 2, 2, 1, a, 2, a[:3], 2, 0, a, 2) }, "slice of B"},
		{"short C", func() { Gemm(false, false, 2, 2, 2, 1, a, 2, a, 2, 0, a[:3], 2) }, "slice of C"},
	} {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				msg, _ := recover().(string)
				if !strings.Contains(msg, c.want) {
					t.Errorf("panic %q, want one that says %q", msg, c.want)
				}
			}()
			Gemm(false, false, 0, 0, 0, 1, nil, 1, nil, 1, 0, nil, 1) // does not panic
			c.f()
		})
	}
}
