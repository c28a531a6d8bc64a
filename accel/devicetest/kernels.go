package devicetest

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/dredge-cli/dredge/accel"
)

// waveParams returns small, well-conditioned random parameters of a wave
// family: widths near 1, amplitudes near 1, moderate frequencies.
func waveParams(r *rand.Rand, f accel.WaveFamily) []float64 {
	d, per := f.Dim, 3*f.Dim+5
	p := make([]float64, 0, f.Waves*per+f.Waves+1)
	for j := 0; j < f.Waves; j++ {
		p = append(p, uniform(r, 1, 0.5, 1.5)...)  // A
		p = append(p, uniform(r, d, -2, 2)...)     // k
		p = append(p, uniform(r, 1, -1.5, 1.5)...) // omega
		p = append(p, uniform(r, d, -0.5, 0.5)...) // v
		p = append(p, uniform(r, 1, -0.3, 0.4)...) // log_sigma
		p = append(p, uniform(r, 1, -1.5, 1.5)...) // phi
		p = append(p, uniform(r, 1, -1, 1)...)     // epsilon
		p = append(p, uniform(r, d, -1.5, 1.5)...) // lmbda
	}
	if f.Head {
		p = append(p, uniform(r, f.Waves, -1, 1)...) // head weights
		p = append(p, uniform(r, 1, -0.5, 0.5)...)   // head bias
	}
	return p
}

// pointInputs returns inputs of n points over dim axes and time, by column:
// coordinates in [−1.5, 1.5), times in [−1, 1).
func pointInputs(r *rand.Rand, dim, n int) []float64 {
	in := uniform(r, dim*n, -1.5, 1.5)
	return append(in, uniform(r, n, -1, 1)...)
}

type waveCase struct {
	f accel.WaveFamily
	n int
}

func (c waveCase) String() string {
	return fmt.Sprintf("dim=%d/waves=%d/head=%v/n=%d", c.f.Dim, c.f.Waves, c.f.Head, c.n)
}

// Point counts include 1, odd sizes and a few thousand points, so that the
// parallel paths of an implementation run.
var waveForwardCases = []waveCase{
	{accel.WaveFamily{Dim: 1, Waves: 1}, 1},
	{accel.WaveFamily{Dim: 1, Waves: 1}, 7},
	{accel.WaveFamily{Dim: 1, Waves: 1}, 3001},
	{accel.WaveFamily{Dim: 1, Waves: 4, Head: true}, 1},
	{accel.WaveFamily{Dim: 1, Waves: 4, Head: true}, 33},
	{accel.WaveFamily{Dim: 1, Waves: 16, Head: true}, 2500},
	{accel.WaveFamily{Dim: 3, Waves: 1}, 5},
	{accel.WaveFamily{Dim: 3, Waves: 1}, 1201},
	{accel.WaveFamily{Dim: 3, Waves: 3, Head: true}, 1},
	{accel.WaveFamily{Dim: 3, Waves: 8, Head: true}, 2001},
	{accel.WaveFamily{Dim: 5, Waves: 1}, 3},
	{accel.WaveFamily{Dim: 5, Waves: 1}, 999},
	{accel.WaveFamily{Dim: 5, Waves: 2, Head: true}, 64},
	{accel.WaveFamily{Dim: 5, Waves: 6, Head: true}, 1500},
}

var waveGradCases = []waveCase{
	{accel.WaveFamily{Dim: 1, Waves: 1}, 1},
	{accel.WaveFamily{Dim: 1, Waves: 1}, 37},
	{accel.WaveFamily{Dim: 1, Waves: 4, Head: true}, 1},
	{accel.WaveFamily{Dim: 1, Waves: 4, Head: true}, 2000},
	{accel.WaveFamily{Dim: 3, Waves: 1}, 9},
	{accel.WaveFamily{Dim: 3, Waves: 3, Head: true}, 1001},
	{accel.WaveFamily{Dim: 5, Waves: 1}, 65},
	{accel.WaveFamily{Dim: 5, Waves: 2, Head: true}, 1500},
}

func testWaveForward(h *harness) {
	for ci, c := range waveForwardCases {
		h.run(c.String(), func(h *harness) {
			r := newRand(100 + uint64(ci))
			p := waveParams(r, c.f)
			in := pointInputs(r, c.f.Dim, c.n)
			if got := c.f.NumParams(); got != len(p) {
				h.t.Fatalf("NumParams() = %d, the layout has %d", got, len(p))
			}
			want, scale := refWaveFamily(c.f, p, in, c.n)
			out := h.out(c.n)
			if !h.check("WaveForward", h.dev.WaveForward(c.f, h.upload(p), h.upload(in), c.n, out)) {
				return
			}
			h.compare("WaveForward", h.result("WaveForward", out, c.n), want, scale)
		})
	}
}

func testWaveLossGrad(h *harness) {
	for ci, c := range waveGradCases {
		h.run(c.String(), func(h *harness) {
			r := newRand(200 + uint64(ci))
			p := waveParams(r, c.f)
			in := pointInputs(r, c.f.Dim, c.n)
			y := uniform(r, c.n, -0.5, 0.5)
			pb, ib, yb := h.upload(p), h.upload(in), h.upload(y)
			np := len(p)

			grad := h.out(np)
			loss, err := h.dev.WaveLossGrad(c.f, pb, ib, yb, c.n, grad)
			if !h.check("WaveLossGrad", err) {
				return
			}
			ref := func(p []float64) float64 {
				out, _ := refWaveFamily(c.f, p, in, c.n)
				return refMSE(out, y)
			}
			h.compareScalar("WaveLossGrad loss", loss, ref(p), 0)

			// The loss is the MSE of the device's own forward pass.
			out := h.out(c.n)
			if h.check("WaveForward", h.dev.WaveForward(c.f, pb, ib, c.n, out)) {
				mse, err := h.dev.MSE(out, yb, c.n, nil)
				if h.check("MSE", err) {
					h.compareScalar("WaveLossGrad loss against MSE of WaveForward", loss, mse, 0)
				}
			}
			h.compareGrad("WaveLossGrad gradient", h.result("WaveLossGrad gradient", grad, np), cachedNumGrad(fmt.Sprint("WaveLossGrad/", ci, c), p, ref))
		})
	}
}

type interferenceCase struct {
	s accel.Interference
	n int
	// clamp lists axes whose width is set below the clamp at 1e-3; the
	// points then lie within a few widths of the envelope's centre on them.
	clamp []int
}

func (c interferenceCase) String() string {
	s := fmt.Sprintf("dim=%d/fields=%d/outputs=%d/n=%d", c.s.Dim, c.s.Fields, c.s.Outputs, c.n)
	if len(c.clamp) > 0 {
		s += fmt.Sprintf("/clamped=%v", c.clamp)
	}
	return s
}

// interferenceData returns random parameters and inputs of a case.
func interferenceData(r *rand.Rand, c interferenceCase) (p, in []float64) {
	d, F, O := c.s.Dim, c.s.Fields, c.s.Outputs
	logSigma := uniform(r, d, -0.3, 0.4)
	v := uniform(r, d, -0.5, 0.5)
	for i, a := range c.clamp {
		logSigma[a] = math.Log([]float64{1e-4, 5e-4}[i%2])
	}
	p = append(p, logSigma...)
	p = append(p, v...)
	p = append(p, uniform(r, F, 0.5, 1.5)...)    // A
	p = append(p, uniform(r, F*d, -2, 2)...)     // k
	p = append(p, uniform(r, F, -1.5, 1.5)...)   // omega
	p = append(p, uniform(r, F, -1.5, 1.5)...)   // phi
	p = append(p, uniform(r, F, -1, 1)...)       // epsilon
	p = append(p, uniform(r, F*d, -1.5, 1.5)...) // lmbda
	p = append(p, uniform(r, O*2*F, -1, 1)...)   // W
	in = pointInputs(r, d, c.n)
	for _, a := range c.clamp {
		for i := 0; i < c.n; i++ {
			t := in[d*c.n+i]
			in[a*c.n+i] = v[a]*t + (r.Float64()-0.5)*4e-3
		}
	}
	return p, in
}

var interferenceForwardCases = []interferenceCase{
	{s: accel.Interference{Dim: 1, Fields: 1, Outputs: 1}, n: 1},
	{s: accel.Interference{Dim: 1, Fields: 3, Outputs: 1}, n: 9},
	{s: accel.Interference{Dim: 1, Fields: 8, Outputs: 2}, n: 2000},
	{s: accel.Interference{Dim: 1, Fields: 2, Outputs: 2}, n: 37, clamp: []int{0}},
	{s: accel.Interference{Dim: 3, Fields: 4, Outputs: 3}, n: 1},
	{s: accel.Interference{Dim: 3, Fields: 4, Outputs: 3}, n: 11},
	{s: accel.Interference{Dim: 3, Fields: 6, Outputs: 2}, n: 1500},
	{s: accel.Interference{Dim: 3, Fields: 2, Outputs: 3}, n: 41, clamp: []int{1}},
}

var interferenceGradCases = []interferenceCase{
	{s: accel.Interference{Dim: 1, Fields: 1, Outputs: 1}, n: 1},
	{s: accel.Interference{Dim: 1, Fields: 3, Outputs: 2}, n: 23},
	{s: accel.Interference{Dim: 1, Fields: 4, Outputs: 1}, n: 1200},
	{s: accel.Interference{Dim: 1, Fields: 2, Outputs: 2}, n: 37, clamp: []int{0}},
	{s: accel.Interference{Dim: 3, Fields: 2, Outputs: 3}, n: 15},
	{s: accel.Interference{Dim: 3, Fields: 3, Outputs: 2}, n: 701},
	{s: accel.Interference{Dim: 3, Fields: 2, Outputs: 3}, n: 41, clamp: []int{0, 2}},
}

func testInterferenceForward(h *harness) {
	for ci, c := range interferenceForwardCases {
		h.run(c.String(), func(h *harness) {
			r := newRand(300 + uint64(ci))
			p, in := interferenceData(r, c)
			if got := c.s.NumParams(); got != len(p) || got != interferenceParams(c.s) {
				h.t.Fatalf("NumParams() = %d, the layout has %d", got, len(p))
			}
			want, scale := refInterference(c.s, p, in, c.n)
			m := c.n * c.s.Outputs
			out := h.out(m)
			if !h.check("InterferenceForward", h.dev.InterferenceForward(c.s, h.upload(p), h.upload(in), c.n, out)) {
				return
			}
			h.compare("InterferenceForward", h.result("InterferenceForward", out, m), want, scale)
		})
	}
}

func testInterferenceLossGrad(h *harness) {
	for ci, c := range interferenceGradCases {
		h.run(c.String(), func(h *harness) {
			r := newRand(400 + uint64(ci))
			p, in := interferenceData(r, c)
			m := c.n * c.s.Outputs
			// Targets of the outputs' own size.
			want, _ := refInterference(c.s, p, in, c.n)
			y := make([]float64, m)
			for i := range y {
				y[i] = want[i] * (0.5 + r.Float64())
			}
			pb, ib, yb := h.upload(p), h.upload(in), h.upload(y)

			grad := h.out(len(p))
			loss, err := h.dev.InterferenceLossGrad(c.s, pb, ib, yb, c.n, grad)
			if !h.check("InterferenceLossGrad", err) {
				return
			}
			ref := func(p []float64) float64 {
				out, _ := refInterference(c.s, p, in, c.n)
				return refMSE(out, y)
			}
			h.compareScalar("InterferenceLossGrad loss", loss, ref(p), 0)
			out := h.out(m)
			if h.check("InterferenceForward", h.dev.InterferenceForward(c.s, pb, ib, c.n, out)) {
				mse, err := h.dev.MSE(out, yb, m, nil)
				if h.check("MSE", err) {
					h.compareScalar("InterferenceLossGrad loss against MSE of InterferenceForward", loss, mse, 0)
				}
			}
			got := h.result("InterferenceLossGrad gradient", grad, len(p))
			h.compareGrad("InterferenceLossGrad gradient", got, cachedNumGrad(fmt.Sprint("InterferenceLossGrad/", ci, c), p, ref))
			for _, a := range c.clamp {
				if got[a] != 0 {
					h.t.Errorf("gradient of clamped log_sigma[%d] = %g, want 0", a, got[a])
				}
			}
		})
	}
}

type linearCase struct{ rows, in, out int }

var linearCases = []linearCase{
	{0, 3, 2}, {1, 1, 1}, {1, 4, 3}, {5, 3, 4}, {37, 17, 9}, {300, 12, 40},
}

func testLinear(h *harness) {
	for ci, c := range linearCases {
		for _, bias := range []bool{false, true} {
			h.run(fmt.Sprintf("rows=%d/in=%d/out=%d/bias=%v", c.rows, c.in, c.out, bias), func(h *harness) {
				r := newRand(500 + uint64(ci))
				x := uniform(r, c.rows*c.in, -1, 1)
				w := uniform(r, c.out*c.in, -1, 1)
				var b []float64
				var bb accel.Buffer
				if bias {
					b = uniform(r, c.out, -1, 1)
					bb = h.upload(b)
				}
				want, scale := refLinear(x, c.rows, c.in, w, b, c.out)
				y := h.out(c.rows * c.out)
				if !h.check("Linear", h.dev.Linear(h.upload(x), c.rows, c.in, h.upload(w), bb, c.out, y)) {
					return
				}
				h.compare("Linear", h.result("Linear", y, c.rows*c.out), want, scale)
			})
		}
	}
}

func testLinearBackward(h *harness) {
	for ci, c := range linearCases {
		r := newRand(600 + uint64(ci))
		x := uniform(r, c.rows*c.in, -1, 1)
		w := uniform(r, c.out*c.in, -1, 1)
		dy := uniform(r, c.rows*c.out, -1, 1)
		dx, dxs, dw, dws, db, dbs := refLinearBackward(x, c.rows, c.in, w, c.out, dy)
		for mask := 0; mask < 8; mask++ {
			wantDx, wantDw, wantDb := mask&1 != 0, mask&2 != 0, mask&4 != 0
			name := fmt.Sprintf("rows=%d/in=%d/out=%d/dx=%v/dw=%v/db=%v", c.rows, c.in, c.out, wantDx, wantDw, wantDb)
			h.run(name, func(h *harness) {
				var bdx, bdw, bdb accel.Buffer
				if wantDx {
					bdx = h.out(c.rows * c.in)
				}
				if wantDw {
					bdw = h.out(c.out * c.in)
				}
				if wantDb {
					bdb = h.out(c.out)
				}
				err := h.dev.LinearBackward(h.upload(x), c.rows, c.in, h.upload(w), c.out, h.upload(dy), bdx, bdw, bdb)
				if !h.check("LinearBackward", err) {
					return
				}
				if wantDx {
					h.compare("dx", h.result("dx", bdx, c.rows*c.in), dx, dxs)
				}
				if wantDw {
					h.compare("dw", h.result("dw", bdw, c.out*c.in), dw, dws)
				}
				if wantDb {
					h.compare("db", h.result("db", bdb, c.out), db, dbs)
				}
			})
		}
	}
}

type activationCase struct {
	act   accel.Activation
	scale float64
}

var activationCases = []activationCase{
	{accel.Identity, 0}, {accel.Tanh, 0}, {accel.Sine, 1}, {accel.Sine, 1.5}, {accel.Sine, 30},
}

var activationSizes = []int{1, 7, 5000}

func testActivate(h *harness) {
	for ai, a := range activationCases {
		for _, n := range activationSizes {
			for _, inPlace := range []bool{false, true} {
				name := fmt.Sprintf("%v/scale=%g/n=%d/in-place=%v", a.act, a.scale, n, inPlace)
				h.run(name, func(h *harness) {
					r := newRand(700 + uint64(ai))
					x := uniform(r, n, -2, 2)
					want := refActivate(a.act, a.scale, x)
					xb := h.upload(x)
					if inPlace {
						if h.check("Activate", h.dev.Activate(a.act, a.scale, xb, n, xb)) {
							h.compare("Activate in place", h.download(xb), want, nil)
						}
						return
					}
					y := h.out(n)
					if h.check("Activate", h.dev.Activate(a.act, a.scale, xb, n, y)) {
						h.compare("Activate", h.result("Activate", y, n), want, nil)
						h.compare("Activate input", h.download(xb), x, nil)
					}
				})
			}
		}
	}
}

func testActivateBackward(h *harness) {
	for ai, a := range activationCases {
		for _, n := range activationSizes {
			h.run(fmt.Sprintf("%v/scale=%g/n=%d", a.act, a.scale, n), func(h *harness) {
				r := newRand(800 + uint64(ai))
				x := uniform(r, n, -2, 2)
				dy := uniform(r, n, -1, 1)
				y := refActivate(a.act, a.scale, x)
				want := refActivateBackward(a.act, a.scale, x, dy)
				dx := h.out(n)
				err := h.dev.ActivateBackward(a.act, a.scale, h.upload(x), h.upload(y), h.upload(dy), n, dx)
				if h.check("ActivateBackward", err) {
					h.compare("ActivateBackward", h.result("ActivateBackward", dx, n), want, nil)
				}
			})
		}
	}
}

// testActivateSaved checks, on a device that is an [accel.ActivateSaver],
// that ActivateSave gives Activate's outputs and that
// ActivateBackwardSaved from what it saved gives ActivateBackward's
// gradient: saving into a buffer of its own and into x (as trainers do),
// and the gradient in place of dy.
func testActivateSaved(h *harness) {
	saver, ok := h.dev.(accel.ActivateSaver)
	if !ok {
		h.t.Skip("the device is not an accel.ActivateSaver")
	}
	for ai, a := range activationCases {
		for _, n := range activationSizes {
			for _, into := range []string{"own", "x", "x and y"} {
				h.run(fmt.Sprintf("%v/scale=%g/n=%d/saved=%s", a.act, a.scale, n, into), func(h *harness) {
					r := newRand(1700 + uint64(ai))
					x := uniform(r, n, -2, 2)
					dy := uniform(r, n, -1, 1)
					wantY := refActivate(a.act, a.scale, x)
					wantDX := refActivateBackward(a.act, a.scale, x, dy)
					xb := h.upload(x)
					y, saved := h.out(n), h.out(n)
					switch into {
					case "x":
						saved = xb
					case "x and y":
						// y in place of x: saved must then be its own
						y = xb
					}
					if !h.check("ActivateSave", saver.ActivateSave(a.act, a.scale, xb, n, y, saved)) {
						return
					}
					h.compare("ActivateSave", h.result("ActivateSave", y, n), wantY, nil)
					dyb := h.upload(dy)
					if h.check("ActivateBackwardSaved", saver.ActivateBackwardSaved(a.act, a.scale, saved, dyb, n, dyb)) {
						h.compare("ActivateBackwardSaved", h.download(dyb), wantDX, nil)
					}
				})
			}
		}
	}
	h.run("saved is y", func(h *harness) {
		x := h.upload([]float64{0.5, 1})
		for _, act := range []accel.Activation{accel.Tanh, accel.Sine} {
			h.wantErr(act.String(), call(func() error { return saver.ActivateSave(act, 2, x, 2, x, x) }), accel.ErrShape)
		}
	})
}

type batchNormCase struct {
	rows, cols    int
	eps, momentum float64
}

var batchNormCases = []batchNormCase{
	{2, 1, 1e-5, 0.1}, {7, 3, 1e-5, 0.1}, {64, 5, 1e-5, 0.3}, {33, 4, 1e-3, 0.1},
}

func testBatchNorm(h *harness) {
	for ci, c := range batchNormCases {
		h.run(fmt.Sprintf("rows=%d/cols=%d/eps=%g/momentum=%g", c.rows, c.cols, c.eps, c.momentum), func(h *harness) {
			r := newRand(900 + uint64(ci))
			rows, cols := c.rows, c.cols
			x := uniform(r, rows*cols, -2, 2)
			gamma := uniform(r, cols, 0.5, 1.5)
			beta := uniform(r, cols, -0.5, 0.5)
			runMean := uniform(r, cols, -0.5, 0.5)
			runVar := uniform(r, cols, 0.5, 1.5)
			xb, gb, bb := h.upload(x), h.upload(gamma), h.upload(beta)
			rmb, rvb := h.upload(runMean), h.upload(runVar)

			// Training mode: batch statistics; PyTorch's running statistics
			// with the unbiased variance.
			mean, variance := bnStats(x, rows, cols)
			want, scale := refBatchNorm(x, rows, cols, gamma, beta, mean, variance, c.eps)
			wantInv := make([]float64, cols)
			wantRM := make([]float64, cols)
			wantRV := make([]float64, cols)
			rmScale := make([]float64, cols)
			for j := range cols {
				wantInv[j] = 1 / math.Sqrt(variance[j]+c.eps)
				unbiased := variance[j] * float64(rows) / float64(rows-1)
				wantRM[j] = (1-c.momentum)*runMean[j] + c.momentum*mean[j]
				wantRV[j] = (1-c.momentum)*runVar[j] + c.momentum*unbiased
				rmScale[j] = (1-c.momentum)*math.Abs(runMean[j]) + c.momentum*math.Abs(mean[j])
			}
			y := h.out(rows * cols)
			sm, si := h.out(cols), h.out(cols)
			err := h.dev.BatchNorm(xb, rows, cols, gb, bb, rmb, rvb, c.eps, c.momentum, true, y, sm, si)
			if !h.check("BatchNorm training", err) {
				return
			}
			h.compare("BatchNorm training output", h.result("BatchNorm training output", y, rows*cols), want, scale)
			h.compare("saved mean", h.result("saved mean", sm, cols), mean, nil)
			h.compare("saved inverse std", h.result("saved inverse std", si, cols), wantInv, nil)
			gotRM, gotRV := h.download(rmb), h.download(rvb)
			h.compare("running mean", gotRM, wantRM, rmScale)
			h.compare("running variance (unbiased)", gotRV, wantRV, nil)

			// Inference mode: running statistics, left unchanged.
			want, scale = refBatchNorm(x, rows, cols, gamma, beta, gotRM, gotRV, c.eps)
			y2 := h.out(rows * cols)
			err = h.dev.BatchNorm(xb, rows, cols, gb, bb, rmb, rvb, c.eps, c.momentum, false, y2, nil, nil)
			if !h.check("BatchNorm inference", err) {
				return
			}
			h.compare("BatchNorm inference output", h.result("BatchNorm inference output", y2, rows*cols), want, scale)
			if rm, rv := h.download(rmb), h.download(rvb); !equalBits(rm, gotRM) || !equalBits(rv, gotRV) {
				h.t.Errorf("BatchNorm inference changed the running statistics: mean %v → %v, variance %v → %v", gotRM, rm, gotRV, rv)
			}
		})
	}
}

func testBatchNormBackward(h *harness) {
	for ci, c := range batchNormCases {
		h.run(fmt.Sprintf("rows=%d/cols=%d/eps=%g", c.rows, c.cols, c.eps), func(h *harness) {
			r := newRand(1000 + uint64(ci))
			rows, cols := c.rows, c.cols
			nx := rows * cols
			x := uniform(r, nx, -2, 2)
			gamma := uniform(r, cols, 0.5, 1.5)
			beta := uniform(r, cols, -0.5, 0.5)
			dy := uniform(r, nx, -1, 1)
			mean, variance := bnStats(x, rows, cols)
			inv := make([]float64, cols)
			for j := range inv {
				inv[j] = 1 / math.Sqrt(variance[j]+c.eps)
			}
			dx, dg, db := h.out(nx), h.out(cols), h.out(cols)
			err := h.dev.BatchNormBackward(h.upload(x), rows, cols, h.upload(gamma), h.upload(mean), h.upload(inv), h.upload(dy), dx, dg, db)
			if !h.check("BatchNormBackward", err) {
				return
			}
			// The gradient of Σ dy·BatchNorm(x; γ, β) in training mode
			// with respect to p = [x, γ, β].
			p := append(append(append([]float64(nil), x...), gamma...), beta...)
			loss := func(p []float64) float64 {
				x, gamma, beta := p[:nx], p[nx:nx+cols], p[nx+cols:]
				mean, variance := bnStats(x, rows, cols)
				y, _ := refBatchNorm(x, rows, cols, gamma, beta, mean, variance, c.eps)
				s := 0.0
				for i := range y {
					s += dy[i] * y[i]
				}
				return s
			}
			got := h.result("dx", dx, nx)
			got = append(got, h.result("dgamma", dg, cols)...)
			got = append(got, h.result("dbeta", db, cols)...)
			h.compareGrad("BatchNormBackward [dx, dgamma, dbeta]", got, cachedNumGrad(fmt.Sprint("BatchNormBackward/", ci, c), p, loss))
		})
	}
}

func testFourier(h *harness) {
	cases := []struct{ rows, in, features int }{
		{0, 2, 3}, {1, 1, 1}, {9, 2, 5}, {1000, 3, 64},
	}
	for ci, c := range cases {
		h.run(fmt.Sprintf("rows=%d/in=%d/features=%d", c.rows, c.in, c.features), func(h *harness) {
			r := newRand(1100 + uint64(ci))
			x := uniform(r, c.rows*c.in, -1, 1)
			b := make([]float64, c.in*c.features)
			for i := range b {
				b[i] = 3 * r.NormFloat64()
			}
			want := refFourier(x, c.rows, c.in, b, c.features)
			m := c.rows * 2 * c.features
			y := h.out(m)
			if h.check("Fourier", h.dev.Fourier(h.upload(x), c.rows, c.in, h.upload(b), c.features, y)) {
				h.compare("Fourier", h.result("Fourier", y, m), want, nil)
			}
		})
	}
}

func testMSE(h *harness) {
	for ci, n := range []int{1, 7, 10000} {
		for _, grad := range []bool{false, true} {
			h.run(fmt.Sprintf("n=%d/dpred=%v", n, grad), func(h *harness) {
				r := newRand(1200 + uint64(ci))
				pred := uniform(r, n, -1, 1)
				target := uniform(r, n, -1, 1)
				var db accel.Buffer
				if grad {
					db = h.out(n)
				}
				loss, err := h.dev.MSE(h.upload(pred), h.upload(target), n, db)
				if !h.check("MSE", err) {
					return
				}
				h.compareScalar("MSE", loss, refMSE(pred, target), 0)
				if grad {
					want := make([]float64, n)
					for i := range want {
						want[i] = 2 * (pred[i] - target[i]) / float64(n)
					}
					h.compare("MSE gradient", h.result("MSE gradient", db, n), want, nil)
				}
			})
		}
	}
}

func testAdam(h *harness) {
	cases := []struct {
		name                  string
		n, steps              int
		lr, beta1, beta2, eps float64
	}{
		{"defaults", 8, 12, 1e-3, 0.9, 0.999, 1e-8},
		{"lr=0.05/beta1=0.8/beta2=0.99/eps=1e-6", 8, 12, 0.05, 0.8, 0.99, 1e-6},
		{"n=1000", 1000, 5, 1e-2, 0.9, 0.999, 1e-8},
	}
	for ci, c := range cases {
		h.run(c.name, func(h *harness) {
			r := newRand(1300 + uint64(ci))
			p := uniform(r, c.n, -1, 1)
			ref := newAdamRef(p, c.lr, c.beta1, c.beta2, c.eps)
			pb := h.upload(p)
			gb := h.upload(make([]float64, c.n))
			mb, vb := h.upload(make([]float64, c.n)), h.upload(make([]float64, c.n))
			for step := 1; step <= c.steps; step++ {
				g := uniform(r, c.n, -1, 1)
				// Tiny gradients, where ε matters, and zero ones.
				g[0] *= 1e-7
				g[1] = 0
				if step%3 == 0 {
					g[2] = 0
				}
				if err := h.dev.Upload(gb, g); err != nil {
					h.t.Fatalf("Upload: %v", err)
				}
				if !h.check(fmt.Sprintf("Adam step %d", step), h.dev.Adam(pb, gb, mb, vb, c.n, step, c.lr, c.beta1, c.beta2, c.eps)) {
					return
				}
				ref.update(g)
				what := fmt.Sprintf("after step %d", step)
				h.compare("parameters "+what, h.download(pb), ref.params, ref.pScale)
				h.compare("first moment "+what, h.download(mb), ref.m, ref.mAbs)
				h.compare("second moment "+what, h.download(vb), ref.v, nil)
				if h.t.Failed() {
					return
				}
			}
		})
	}
}

// equalBits reports whether a and b hold the same bits.
func equalBits(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float64bits(a[i]) != math.Float64bits(b[i]) {
			return false
		}
	}
	return true
}
