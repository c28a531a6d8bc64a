package accel

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/dredge-cli/dredge/internal/vecmath"
)

// BenchmarkKernels runs the CPU device's kernels other than the wave
// families' gradient (BenchmarkWaveLossGrad) on one worker, on the vector
// path (where the CPU has one) and the portable path, at the shapes of the
// models that use them: the activations of SIREN's and the string-theory
// MLP's hidden layers (1,000 points × 64; SIREN's sine also as a training
// step runs it, the cosine saved for the backward pass), the 1D ensemble's
// forward pass (16 waves on 1,000 points), SIREN's hidden dense layer
// (1,000 × 64 × 64), the RFF features (1,000 points × 128) and the
// interference basis (its defaults: 1 axis, 8 fields, 1 output, on 1,000
// points). It reports points/s, in each kernel's unit (values, rows,
// point-waves, point-features or point-fields), and on the vector path
// the fraction of the core's peak float64 FMA rate (vecmath.PeakFMARate)
// that the kernel's arithmetic reaches, counting the float64 operations
// per point given with each case (vecmath's kernels at its own counts:
// sincos 26, tanh 31).
func BenchmarkKernels(b *testing.B) {
	const (
		n    = 64_000 // activation values: 1,000 points × 64
		rows = 1000
		wide = 64
		feat = 128
	)
	r := rand.New(rand.NewPCG(21, 22))
	vals := func(k int, scale float64) []float64 {
		v := make([]float64, k)
		for i := range v {
			v[i] = scale * (2*r.Float64() - 1)
		}
		return v
	}
	x, dy := vals(n, 2), vals(n, 1)
	w, bias := vals(wide*wide, 0.2), vals(wide, 0.1)
	fb := vals(feat, 5)
	is := Interference{Dim: 1, Fields: 8, Outputs: 1}
	ip := vals(layoutInterference(is).npar, 0.5)
	iin, iy := vals(2*rows, 1), vals(rows, 1)
	wf := WaveFamily{Dim: 1, Waves: 16, Head: true}
	wp, win, _ := waveProblem(wf, rows, 1)

	type bufs struct{ x, dy, y, dx, w, b, dw, db, fb, fy, ip, iin, iy, ig, wp, win Buffer }
	cases := []struct {
		name   string
		points float64 // per call, in the kernel's unit
		ops    float64 // float64 operations per point
		run    func(d *CPU, u *bufs) error
	}{
		// scale·x, then sin: 1 + 26.
		{"activate/sine", n, 27, func(d *CPU, u *bufs) error { return d.Activate(Sine, 30, u.x, n, u.y) }},
		// scale·x, cos, then dy·scale·cos: 1 + 26 + 2.
		{"activate-backward/sine", n, 29, func(d *CPU, u *bufs) error { return d.ActivateBackward(Sine, 30, u.x, u.y, u.dy, n, u.dx) }},
		// The same, keeping the cosine (ActivateSaver): one sincos.
		{"activate-save/sine", n, 27, func(d *CPU, u *bufs) error { return d.ActivateSave(Sine, 30, u.x, n, u.y, u.dx) }},
		// cos·(dy·scale) from the saved cosine: 2.
		{"activate-backward-saved/sine", n, 2, func(d *CPU, u *bufs) error {
			return d.ActivateBackwardSaved(Sine, 30, u.x, u.dy, n, u.dx)
		}},
		{"activate/tanh", n, 31, func(d *CPU, u *bufs) error { return d.Activate(Tanh, 1, u.x, n, u.y) }},
		// dy·(1 − y·y): 3.
		{"activate-backward/tanh", n, 3, func(d *CPU, u *bufs) error { return d.ActivateBackward(Tanh, 1, u.x, u.y, u.dy, n, u.dx) }},
		// Per point-wave: the arguments 5·dim+2, three sincos 78, one exp
		// 22, the combine 6 (as wavePointOps counts the forward part).
		{"wave-forward/1x16", rows * 16, 5 + 2 + 78 + 22 + 6, func(d *CPU, u *bufs) error { return d.WaveForward(wf, u.wp, u.win, rows, u.y) }},
		// Per row: in·out FMAs.
		{"linear/1000x64x64", rows, wide * wide, func(d *CPU, u *bufs) error { return d.Linear(u.x, rows, wide, u.w, u.b, wide, u.y) }},
		// Per row: in·out FMAs for dW and for dX, out adds for db.
		{"linear-backward/1000x64x64", rows, 2*wide*wide + wide, func(d *CPU, u *bufs) error {
			return d.LinearBackward(u.x, rows, wide, u.w, wide, u.dy, u.dx, u.dw, u.db)
		}},
		// Per point-feature: the projection (in = 1), then sincos: 1 + 26.
		{"fourier/1000x128", rows * feat, 27, func(d *CPU, u *bufs) error { return d.Fourier(u.x, rows, 1, u.fb, feat, u.fy) }},
		// Per point-field: the phases 2·dim + 1, three sincos 78, the
		// second phase 1, the amplitude and [Re, Im] 4, the output 2·outputs;
		// per point (over 8 fields) the envelope 3·dim + exp 22.
		{"interference/1x8x1", rows * 8, 2 + 1 + 78 + 1 + 4 + 2 + (3+22)/8.0, func(d *CPU, u *bufs) error {
			return d.InterferenceForward(is, u.ip, u.iin, rows, u.fy)
		}},
		// The forward's 88 per point-field, then its gradient: dRe, dIm
		// and dW 4·outputs, G and H 4, the parameters' terms 13, the axes'
		// 4·dim; per point the residual 3 and the envelope's axes 8·dim.
		{"interference-grad/1x8x1", rows * 8, 88 + 4 + 4 + 13 + 4 + (3+8)/8.0, func(d *CPU, u *bufs) error {
			_, err := d.InterferenceLossGrad(is, u.ip, u.iin, u.iy, rows, u.ig)
			return err
		}},
	}
	for _, c := range cases {
		for _, portable := range []bool{false, true} {
			path := "vector"
			if portable {
				path = "portable"
			}
			b.Run(fmt.Sprintf("%s/%s", c.name, path), func(b *testing.B) {
				dev := NewCPU(CPUConfig{Workers: 1, Portable: portable})
				if !portable && dev.simd == "" {
					b.Skip("no vector path on this CPU (or DREDGE_CPU_SIMD=off)")
				}
				u := &bufs{
					x: mustUpload(b, dev, x), dy: mustUpload(b, dev, dy), y: mustAlloc(b, dev, n), dx: mustAlloc(b, dev, n),
					w: mustUpload(b, dev, w), b: mustUpload(b, dev, bias), dw: mustAlloc(b, dev, wide*wide), db: mustAlloc(b, dev, wide),
					fb: mustUpload(b, dev, fb), fy: mustAlloc(b, dev, 2*rows*feat),
					ip: mustUpload(b, dev, ip), iin: mustUpload(b, dev, iin), iy: mustUpload(b, dev, iy), ig: mustAlloc(b, dev, len(ip)),
					wp: mustUpload(b, dev, wp), win: mustUpload(b, dev, win),
				}
				for b.Loop() {
					if err := c.run(dev, u); err != nil {
						b.Fatal(err)
					}
				}
				rate := c.points * float64(b.N) / b.Elapsed().Seconds()
				b.ReportMetric(rate, "points/s")
				if peak := vecmath.PeakFMARate(); !portable && peak > 0 {
					b.ReportMetric(c.ops*rate/peak, "fma-peak-frac")
				}
			})
		}
	}
}
