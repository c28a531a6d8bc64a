//go:build cuda

package cuda_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/accel/cuda"
	"github.com/dredge-cli/dredge/accel/devicetest"
	"github.com/dredge-cli/dredge/stringtheory"
)

// newDevice returns a CUDA device closed when the test ends, or skips the
// test when this machine has none. (Where the NVIDIA driver is missing
// altogether, gorgonia.org/cu exits the test binary from its init before
// any test runs; scripts/gpu-check.sh checks for the driver first.)
func newDevice(tb testing.TB) *cuda.Device {
	tb.Helper()
	d, err := cuda.New(cuda.Config{})
	if err != nil {
		tb.Skipf("no usable CUDA device: %v", err)
	}
	tb.Cleanup(func() {
		if err := d.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return d
}

func TestDevice(t *testing.T) {
	newDevice(t)
	devicetest.Run(t, func(t *testing.T) accel.Device { return newDevice(t) })
}

func TestInfoAndOpen(t *testing.T) {
	d := newDevice(t)
	info := d.Info()
	t.Logf("%+v", info)
	if info.Kind != accel.KindCUDA || info.Name == "" || info.Workers < 1 || info.MemoryBytes <= 0 {
		t.Errorf("Info() = %+v", info)
	}
	if !regexp.MustCompile(`^\d+\.\d+$`).MatchString(info.ComputeCapability) {
		t.Errorf("ComputeCapability = %q, want major.minor", info.ComputeCapability)
	}
	for _, kind := range []string{"auto", "cuda"} {
		dev, warn, err := accel.Open(kind)
		if err != nil || warn != nil {
			t.Fatalf("Open(%q): %v, %v", kind, warn, err)
		}
		if got := dev.Info().Kind; got != accel.KindCUDA {
			t.Errorf("Open(%q) gave a %q device, want cuda", kind, got)
		}
		if c, ok := dev.(*cuda.Device); ok {
			c.Close()
		}
	}
	if dev, _, err := accel.Open("cpu"); err != nil || dev.Info().Kind != accel.KindCPU {
		t.Errorf("Open(cpu) in a cuda build: %v, %v", dev, err)
	}
}

func TestClose(t *testing.T) {
	d := newDevice(t)
	b, err := d.Alloc(10)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if b.Len() != 0 {
		t.Errorf("buffer of a closed device has length %d", b.Len())
	}
	if _, err := d.Alloc(1); err != accel.ErrClosed {
		t.Errorf("Alloc after Close: %v, want ErrClosed", err)
	}
	d.Free(b) // no-op
}

// pair holds the same problem on the CUDA and the CPU device.
type pair struct {
	t   *testing.T
	gpu accel.Device
	cpu *accel.CPU
}

func newPair(t *testing.T) *pair {
	return &pair{t: t, gpu: newDevice(t), cpu: accel.NewCPU(accel.CPUConfig{})}
}

// size returns n, or about n/20 (at least 1000) on the CPU emulator of the
// driver (testdata/emu), which runs each CUDA thread as a fiber.
func (p *pair) size(n int) int {
	if !strings.Contains(p.gpu.Info().Name, "emulator") {
		return n
	}
	return max(n/20, 1000) | 1
}

// upload returns v on both devices.
func (p *pair) upload(v []float64) [2]accel.Buffer {
	p.t.Helper()
	var out [2]accel.Buffer
	for i, d := range []accel.Device{p.gpu, p.cpu} {
		b, err := d.Alloc(len(v))
		if err != nil {
			p.t.Fatal(err)
		}
		p.t.Cleanup(func() { d.Free(b) })
		if err := d.Upload(b, v); err != nil {
			p.t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

func (p *pair) zeros(n int) [2]accel.Buffer { return p.upload(make([]float64, n)) }

// download returns the first n values of b on each device.
func (p *pair) download(b [2]accel.Buffer, n int) (gpu, cpu []float64) {
	p.t.Helper()
	gpu, cpu = make([]float64, n), make([]float64, n)
	if err := p.gpu.Download(gpu, b[0]); err != nil {
		p.t.Fatal(err)
	}
	if err := p.cpu.Download(cpu, b[1]); err != nil {
		p.t.Fatal(err)
	}
	return gpu, cpu
}

// run calls fn on both devices.
func (p *pair) run(what string, fn func(d accel.Device, i int) error) {
	p.t.Helper()
	if err := fn(p.gpu, 0); err != nil {
		p.t.Fatalf("%s on cuda: %v", what, err)
	}
	if err := fn(p.cpu, 1); err != nil {
		p.t.Fatalf("%s on cpu: %v", what, err)
	}
}

// relTol is the agreement required between the devices, relative to the
// largest magnitude of the result (the problems are large random sums, so
// a per-value relative test would demand more than float64 gives where
// terms cancel).
const relTol = 1e-9

func (p *pair) compare(what string, b [2]accel.Buffer, n int) {
	p.t.Helper()
	gpu, cpu := p.download(b, n)
	compareSlices(p.t, what, gpu, cpu)
}

func compareSlices(t *testing.T, what string, gpu, cpu []float64) {
	t.Helper()
	scale := 0.0
	for _, v := range cpu {
		scale = math.Max(scale, math.Abs(v))
	}
	bad := 0
	for i := range cpu {
		if d := math.Abs(gpu[i] - cpu[i]); !(d <= 1e-12+relTol*scale) {
			if bad < 5 {
				t.Errorf("%s[%d]: cuda %.17g, cpu %.17g (diff %.3g, scale %.3g)", what, i, gpu[i], cpu[i], gpu[i]-cpu[i], scale)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(cpu))
	}
}

func compareScalar(t *testing.T, what string, gpu, cpu float64) {
	t.Helper()
	if d := math.Abs(gpu - cpu); !(d <= 1e-15+relTol*math.Abs(cpu)) {
		t.Errorf("%s: cuda %.17g, cpu %.17g (diff %.3g)", what, gpu, cpu, gpu-cpu)
	}
}

func uniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return v
}

func waveParams(r *rand.Rand, f accel.WaveFamily) []float64 {
	var p []float64
	d := f.Dim
	for range f.Waves {
		p = append(p, uniform(r, 1, 0.5, 1.5)...)
		p = append(p, uniform(r, d, -2, 2)...)
		p = append(p, uniform(r, 1, -1.5, 1.5)...)
		p = append(p, uniform(r, d, -0.5, 0.5)...)
		p = append(p, uniform(r, 1, -0.3, 0.4)...)
		p = append(p, uniform(r, 1, -1.5, 1.5)...)
		p = append(p, uniform(r, 1, -1, 1)...)
		p = append(p, uniform(r, d, -1.5, 1.5)...)
	}
	if f.Head {
		p = append(p, uniform(r, f.Waves+1, -1, 1)...)
	}
	return p
}

// TestWavesMatchCPU compares the wave kernels with the CPU device on large
// problems, the generic kernels (6 and 7 axes) and more waves than the
// wave slots of a block included.
func TestWavesMatchCPU(t *testing.T) {
	p := newPair(t)
	for i, c := range []struct {
		f accel.WaveFamily
		n int
	}{
		{accel.WaveFamily{Dim: 1, Waves: 1}, 1_000_003},
		{accel.WaveFamily{Dim: 1, Waves: 16, Head: true}, 100_003},
		{accel.WaveFamily{Dim: 1, Waves: 40, Head: true}, 20_011},
		{accel.WaveFamily{Dim: 2, Waves: 3, Head: true}, 50_001},
		{accel.WaveFamily{Dim: 3, Waves: 8, Head: true}, 100_000},
		{accel.WaveFamily{Dim: 4, Waves: 5, Head: true}, 30_001},
		{accel.WaveFamily{Dim: 5, Waves: 6, Head: true}, 32_768},
		{accel.WaveFamily{Dim: 6, Waves: 4, Head: true}, 20_000},
		{accel.WaveFamily{Dim: 7, Waves: 1}, 9_999},
	} {
		t.Run(fmt.Sprintf("dim=%d/waves=%d/n=%d", c.f.Dim, c.f.Waves, c.n), func(t *testing.T) {
			p := &pair{t: t, gpu: p.gpu, cpu: p.cpu}
			c.n = p.size(c.n)
			r := rand.New(rand.NewPCG(uint64(i), 7))
			params := p.upload(waveParams(r, c.f))
			in := p.upload(append(uniform(r, c.f.Dim*c.n, -2, 2), uniform(r, c.n, -1, 1)...))
			y := p.upload(uniform(r, c.n, -0.5, 0.5))
			out := p.zeros(c.n)
			p.run("WaveForward", func(d accel.Device, k int) error {
				return d.WaveForward(c.f, params[k], in[k], c.n, out[k])
			})
			p.compare("WaveForward", out, c.n)
			np := c.f.NumParams()
			grad := p.zeros(np)
			var loss [2]float64
			p.run("WaveLossGrad", func(d accel.Device, k int) (err error) {
				loss[k], err = d.WaveLossGrad(c.f, params[k], in[k], y[k], c.n, grad[k])
				return err
			})
			compareScalar(t, "WaveLossGrad loss", loss[0], loss[1])
			p.compare("WaveLossGrad gradient", grad, np)

			// Deterministic: a second run gives the same bits.
			first, _ := p.download(grad, np)
			again, err := p.gpu.WaveLossGrad(c.f, params[0], in[0], y[0], c.n, grad[0])
			if err != nil {
				t.Fatal(err)
			}
			second, _ := p.download(grad, np)
			if again != loss[0] {
				t.Errorf("second WaveLossGrad loss %.17g, first %.17g", again, loss[0])
			}
			for j := range first {
				if math.Float64bits(first[j]) != math.Float64bits(second[j]) {
					t.Errorf("second WaveLossGrad gradient[%d] = %.17g, first %.17g", j, second[j], first[j])
					break
				}
			}
		})
	}
}

func TestInterferenceMatchesCPU(t *testing.T) {
	p := newPair(t)
	for i, c := range []struct {
		s     accel.Interference
		n     int
		clamp bool
	}{
		{accel.Interference{Dim: 1, Fields: 8, Outputs: 1}, 100_003, false},
		{accel.Interference{Dim: 2, Fields: 5, Outputs: 3}, 50_001, true},
		{accel.Interference{Dim: 3, Fields: 4, Outputs: 10}, 20_000, false},
	} {
		t.Run(fmt.Sprintf("dim=%d/fields=%d/outputs=%d", c.s.Dim, c.s.Fields, c.s.Outputs), func(t *testing.T) {
			p := &pair{t: t, gpu: p.gpu, cpu: p.cpu}
			c.n = p.size(c.n)
			r := rand.New(rand.NewPCG(uint64(i), 11))
			d, F, O := c.s.Dim, c.s.Fields, c.s.Outputs
			ls := uniform(r, d, -0.3, 0.4)
			if c.clamp {
				ls[0] = math.Log(5e-4)
			}
			v := uniform(r, d, -0.5, 0.5)
			pv := append(append([]float64(nil), ls...), v...)
			pv = append(pv, uniform(r, F, 0.5, 1.5)...)
			pv = append(pv, uniform(r, F*d, -2, 2)...)
			pv = append(pv, uniform(r, 3*F, -1.5, 1.5)...)
			pv = append(pv, uniform(r, F*d, -1.5, 1.5)...)
			pv = append(pv, uniform(r, O*2*F, -1, 1)...)
			inv := append(uniform(r, d*c.n, -1.5, 1.5), uniform(r, c.n, -1, 1)...)
			if c.clamp {
				for k := 0; k < c.n; k++ {
					inv[k] = v[0]*inv[d*c.n+k] + (r.Float64()-0.5)*4e-3
				}
			}
			params, in := p.upload(pv), p.upload(inv)
			y := p.upload(uniform(r, c.n*O, -0.5, 0.5))
			out := p.zeros(c.n * O)
			p.run("InterferenceForward", func(d accel.Device, k int) error {
				return d.InterferenceForward(c.s, params[k], in[k], c.n, out[k])
			})
			p.compare("InterferenceForward", out, c.n*O)
			np := c.s.NumParams()
			grad := p.zeros(np)
			var loss [2]float64
			p.run("InterferenceLossGrad", func(d accel.Device, k int) (err error) {
				loss[k], err = d.InterferenceLossGrad(c.s, params[k], in[k], y[k], c.n, grad[k])
				return err
			})
			compareScalar(t, "InterferenceLossGrad loss", loss[0], loss[1])
			p.compare("InterferenceLossGrad gradient", grad, np)
		})
	}
}

func TestDenseMatchCPU(t *testing.T) {
	p := newPair(t)
	r := rand.New(rand.NewPCG(3, 5))
	const rows, in, out = 1003, 67, 33
	x, w, b := p.upload(uniform(r, rows*in, -1, 1)), p.upload(uniform(r, out*in, -1, 1)), p.upload(uniform(r, out, -1, 1))
	y := p.zeros(rows * out)
	p.run("Linear", func(d accel.Device, k int) error { return d.Linear(x[k], rows, in, w[k], b[k], out, y[k]) })
	p.compare("Linear", y, rows*out)
	dy := p.upload(uniform(r, rows*out, -1, 1))
	dx, dw, db := p.zeros(rows*in), p.zeros(out*in), p.zeros(out)
	p.run("LinearBackward", func(d accel.Device, k int) error {
		return d.LinearBackward(x[k], rows, in, w[k], out, dy[k], dx[k], dw[k], db[k])
	})
	p.compare("LinearBackward dx", dx, rows*in)
	p.compare("LinearBackward dw", dw, out*in)
	p.compare("LinearBackward db", db, out)

	n := p.size(100_003)
	a := p.upload(uniform(r, n, -3, 3))
	for _, act := range []accel.Activation{accel.Identity, accel.Tanh, accel.Sine} {
		ya, da := p.zeros(n), p.zeros(n)
		p.run("Activate", func(d accel.Device, k int) error { return d.Activate(act, 30, a[k], n, ya[k]) })
		p.compare("Activate "+act.String(), ya, n)
		g := p.upload(uniform(r, n, -1, 1))
		p.run("ActivateBackward", func(d accel.Device, k int) error {
			return d.ActivateBackward(act, 30, a[k], ya[k], g[k], n, da[k])
		})
		p.compare("ActivateBackward "+act.String(), da, n)
	}

	const bnRows, bnCols = 2049, 70
	bx := p.upload(uniform(r, bnRows*bnCols, -2, 3))
	gamma, beta := p.upload(uniform(r, bnCols, 0.5, 1.5)), p.upload(uniform(r, bnCols, -0.5, 0.5))
	rm, rv := p.upload(uniform(r, bnCols, -0.1, 0.1)), p.upload(uniform(r, bnCols, 0.8, 1.2))
	by, sm, si := p.zeros(bnRows*bnCols), p.zeros(bnCols), p.zeros(bnCols)
	for _, train := range []bool{true, false} {
		p.run("BatchNorm", func(d accel.Device, k int) error {
			return d.BatchNorm(bx[k], bnRows, bnCols, gamma[k], beta[k], rm[k], rv[k], 1e-5, 0.1, train, by[k], sm[k], si[k])
		})
		p.compare(fmt.Sprintf("BatchNorm train=%v", train), by, bnRows*bnCols)
		p.compare("BatchNorm running mean", rm, bnCols)
		p.compare("BatchNorm running variance", rv, bnCols)
	}
	p.run("BatchNorm", func(d accel.Device, k int) error {
		return d.BatchNorm(bx[k], bnRows, bnCols, gamma[k], beta[k], rm[k], rv[k], 1e-5, 0.1, true, by[k], sm[k], si[k])
	})
	bdy := p.upload(uniform(r, bnRows*bnCols, -1, 1))
	bdx, dg, dbeta := p.zeros(bnRows*bnCols), p.zeros(bnCols), p.zeros(bnCols)
	p.run("BatchNormBackward", func(d accel.Device, k int) error {
		return d.BatchNormBackward(bx[k], bnRows, bnCols, gamma[k], sm[k], si[k], bdy[k], bdx[k], dg[k], dbeta[k])
	})
	p.compare("BatchNormBackward dx", bdx, bnRows*bnCols)
	p.compare("BatchNormBackward dgamma", dg, bnCols)
	p.compare("BatchNormBackward dbeta", dbeta, bnCols)

	const fRows, fIn, fFeat = 3001, 3, 128
	fx, fb := p.upload(uniform(r, fRows*fIn, -1, 1)), p.upload(uniform(r, fIn*fFeat, -5, 5))
	fy := p.zeros(fRows * 2 * fFeat)
	p.run("Fourier", func(d accel.Device, k int) error { return d.Fourier(fx[k], fRows, fIn, fb[k], fFeat, fy[k]) })
	p.compare("Fourier", fy, fRows*2*fFeat)

	mseN := p.size(1_000_003)
	pred, target := p.upload(uniform(r, mseN, -1, 1)), p.upload(uniform(r, mseN, -1, 1))
	dpred := p.zeros(mseN)
	var mse [2]float64
	p.run("MSE", func(d accel.Device, k int) (err error) {
		mse[k], err = d.MSE(pred[k], target[k], mseN, dpred[k])
		return err
	})
	compareScalar(t, "MSE", mse[0], mse[1])
	p.compare("MSE gradient", dpred, mseN)

	const adamN = 10_007
	params, m, v := p.upload(uniform(r, adamN, -1, 1)), p.zeros(adamN), p.zeros(adamN)
	for step := 1; step <= 10; step++ {
		g := p.upload(uniform(r, adamN, -1, 1))
		p.run("Adam", func(d accel.Device, k int) error {
			return d.Adam(params[k], g[k], m[k], v[k], adamN, step, 1e-3, 0.9, 0.999, 1e-8)
		})
	}
	p.compare("Adam parameters", params, adamN)
	p.compare("Adam first moment", m, adamN)
	p.compare("Adam second moment", v, adamN)
}

// TestTrainMatchesCPU trains every model type on both devices from the same
// start and compares the loss trajectories.
func TestTrainMatchesCPU(t *testing.T) {
	gpu := newDevice(t)
	cpu := accel.NewCPU(accel.CPUConfig{})
	cases := []struct {
		typ    string
		cfg    stringtheory.Config
		data   stringtheory.Dataset
		epochs int
	}{
		{stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 16}, stringtheory.GlitchyChirp(), 30},
		{stringtheory.TypeEnsemble4D, stringtheory.Config{NWaves: 8}, stringtheory.Grid4D(20), 10},
		{stringtheory.TypeEnsemble6D, stringtheory.Config{NWaves: 6}, stringtheory.Grid6D(8), 5},
	}
	for _, typ := range []string{stringtheory.TypeWave1D, stringtheory.TypeInterferenceBasis, stringtheory.TypeSIREN, stringtheory.TypeRFF, stringtheory.TypeStringNN} {
		cases = append(cases, struct {
			typ    string
			cfg    stringtheory.Config
			data   stringtheory.Dataset
			epochs int
		}{typ: typ, epochs: 10})
	}
	cases = append(cases, struct {
		typ    string
		cfg    stringtheory.Config
		data   stringtheory.Dataset
		epochs int
	}{typ: stringtheory.TypeStringNN, cfg: stringtheory.Config{UseBatchNorm: true}, epochs: 10})
	emulated := strings.Contains(gpu.Info().Name, "emulator")
	for _, c := range cases {
		if emulated {
			c.epochs = min(c.epochs, 3)
		}
		t.Run(fmt.Sprintf("%s/bn=%v", c.typ, c.cfg.UseBatchNorm), func(t *testing.T) {
			var res [2]stringtheory.TrainResult
			for k, dev := range []accel.Device{gpu, cpu} {
				m, err := stringtheory.New(c.typ, c.cfg)
				if err != nil {
					t.Fatal(err)
				}
				data := c.data
				if data.N == 0 {
					if data, err = stringtheory.DatasetFor(m); err != nil {
						t.Fatal(err)
					}
				}
				res[k], err = stringtheory.Train(context.Background(), dev, m, data, stringtheory.TrainConfig{Epochs: c.epochs, Samples: 1})
				if err != nil {
					t.Fatalf("Train on %s: %v", dev.Info().Kind, err)
				}
			}
			for e := range res[1].Losses {
				compareScalar(t, fmt.Sprintf("loss before step %d", e+1), res[0].Losses[e], res[1].Losses[e])
			}
			compareScalar(t, "final loss", res[0].FinalLoss, res[1].FinalLoss)
		})
	}
}
