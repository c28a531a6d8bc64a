package accel

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dredge-cli/dredge/internal/vecmath"
)

// waveProblem is a random wave family problem with t ≠ 0, so that every
// parameter has a gradient.
func waveProblem(f WaveFamily, n int, seed uint64) (p, in, y []float64) {
	rng := rand.New(rand.NewPCG(seed, 99))
	p = make([]float64, f.NumParams())
	for i := range p {
		p[i] = rng.NormFloat64() * 0.7
	}
	in = make([]float64, (f.Dim+1)*n)
	for i := range in {
		in[i] = 4*rng.Float64() - 2
	}
	y = make([]float64, n)
	for i := range y {
		y[i] = rng.NormFloat64() * 0.3
	}
	return p, in, y
}

func closeRel(a, b, rel, abs float64) bool {
	return math.Abs(a-b) <= abs || math.Abs(a-b) <= rel*math.Max(math.Abs(a), math.Abs(b))
}

// TestWaveKernels checks the wave kernels of every dimension, the
// specialised (1, 3, 5 axes) and the general ones: the loss against the
// forward pass, the gradient against central finite differences, and the
// specialised kernels against the general ones.
func TestWaveKernels(t *testing.T) {
	c := NewCPU(CPUConfig{Workers: 2})
	for _, dim := range []int{1, 2, 3, 4, 5, 6} {
		for _, f := range []WaveFamily{{Dim: dim, Waves: 1}, {Dim: dim, Waves: 3, Head: true}} {
			t.Run(fmt.Sprintf("dim=%d/waves=%d", dim, f.Waves), func(t *testing.T) {
				const n = 41
				p, in, y := waveProblem(f, n, uint64(dim*10+f.Waves))
				pb, inb, yb := mustUpload(t, c, p), mustUpload(t, c, in), mustUpload(t, c, y)
				out, grad := mustAlloc(t, c, n), mustAlloc(t, c, len(p))
				if err := c.WaveForward(f, pb, inb, n, out); err != nil {
					t.Fatal(err)
				}
				loss, err := c.WaveLossGrad(f, pb, inb, yb, n, grad)
				if err != nil {
					t.Fatal(err)
				}
				o, _ := c.Slice(out)
				mse := 0.0
				for i, v := range o[:n] {
					mse += (v - y[i]) * (v - y[i])
				}
				if mse /= n; !closeRel(loss, mse, 1e-13, 0) {
					t.Errorf("loss %v, forward MSE %v", loss, mse)
				}
				g, _ := c.Slice(grad)
				lossAt := func(q []float64) float64 {
					qb := mustUpload(t, c, q)
					l, err := c.WaveLossGrad(f, qb, inb, yb, n, mustAlloc(t, c, len(q)))
					if err != nil {
						t.Fatal(err)
					}
					return l
				}
				for i := range p {
					h := 1e-6
					q := append([]float64(nil), p...)
					q[i] = p[i] + h
					lp := lossAt(q)
					q[i] = p[i] - h
					fd := (lp - lossAt(q)) / (2 * h)
					if !closeRel(g[i], fd, 1e-6, 1e-9) {
						t.Errorf("gradient[%d] = %.12g, finite difference %.12g", i, g[i], fd)
					}
				}
				if dim%2 == 0 || dim > 5 {
					return
				}
				// The general kernels agree with the specialised ones.
				gn := make([]float64, len(p))
				sq := waveLossGradN(c, f, p, in, y, n, gn)
				if !closeRel(sq/n, loss, 1e-13, 0) {
					t.Errorf("general loss %v, specialised %v", sq/n, loss)
				}
				for i := range gn {
					if !closeRel(gn[i], g[i], 1e-12, 1e-15) {
						t.Errorf("general gradient[%d] = %v, specialised %v", i, gn[i], g[i])
					}
				}
				on := make([]float64, n)
				waveForwardN(c, f, p, in, n, on)
				for i := range on {
					if !closeRel(on[i], o[i], 1e-13, 1e-15) {
						t.Errorf("general output[%d] = %v, specialised %v", i, on[i], o[i])
					}
				}
			})
		}
	}
}

func mustUpload(t testing.TB, c *CPU, v []float64) Buffer {
	t.Helper()
	b := mustAlloc(t, c, len(v))
	if err := c.Upload(b, v); err != nil {
		t.Fatal(err)
	}
	return b
}

func mustAlloc(t testing.TB, c *CPU, n int) Buffer {
	t.Helper()
	b, err := c.Alloc(n)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// BenchmarkWaveLossGrad is one gradient of the 1D ensemble n=16 on 1,000
// points, of the 4D ensemble n=8 on 8,000 and of the 6D ensemble n=6 on
// 32,768, at several worker counts, on the vector path (where the CPU has
// one) and the portable path. It reports point-waves/s and, on the vector
// path, the fraction of the cores' peak float64 FMA rate
// (vecmath.PeakFMARate × workers) that the kernel's arithmetic reaches,
// counting wavePointOps operations per point-wave.
func BenchmarkWaveLossGrad(b *testing.B) {
	for _, c := range []struct {
		f WaveFamily
		n int
	}{
		{WaveFamily{Dim: 1, Waves: 16, Head: true}, 1000},
		{WaveFamily{Dim: 3, Waves: 8, Head: true}, 8000},
		{WaveFamily{Dim: 5, Waves: 6, Head: true}, 32768},
	} {
		for _, workers := range []int{1, 2} {
			for _, portable := range []bool{false, true} {
				path := "vector"
				if portable {
					path = "portable"
				}
				b.Run(fmt.Sprintf("dim=%d/waves=%d/n=%d/workers=%d/%s", c.f.Dim, c.f.Waves, c.n, workers, path), func(b *testing.B) {
					dev := NewCPU(CPUConfig{Workers: workers, Portable: portable})
					if !portable && dev.simd == "" {
						b.Skip("no vector path on this CPU (or DREDGE_CPU_SIMD=off)")
					}
					p, in, y := waveProblem(c.f, c.n, 1)
					pb, inb, yb := mustUpload(b, dev, p), mustUpload(b, dev, in), mustUpload(b, dev, y)
					grad := mustAlloc(b, dev, len(p))
					for b.Loop() {
						if _, err := dev.WaveLossGrad(c.f, pb, inb, yb, c.n, grad); err != nil {
							b.Fatal(err)
						}
					}
					rate := float64(b.N) * float64(c.n*c.f.Waves) / b.Elapsed().Seconds()
					b.ReportMetric(rate, "point-waves/s")
					if peak := vecmath.PeakFMARate(); !portable && peak > 0 {
						b.ReportMetric(wavePointOps(c.f.Dim)*rate/(peak*float64(workers)), "fma-peak-frac")
					}
				})
			}
		}
	}
}

// wavePointOps is the float64 arithmetic of one point-wave of a gradient
// in dim axes, counted from waveBlockForward and waveBlockGrad: the
// arguments 5·dim+2, three sincos at 26 and one exp at 22 (as vecmath
// counts them), the combine 6, the gradient 24+4·dim.
func wavePointOps(dim int) float64 { return float64(132 + 9*dim) }
