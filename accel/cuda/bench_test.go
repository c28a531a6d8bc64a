//go:build cuda

package cuda_test

import (
	"context"
	"sync"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/stringtheory"
)

// h100Bandwidth is the H100's memory bandwidth in bytes per second (about
// 3.35 TB/s for the SXM card, 2 TB/s for PCIe), the yardstick of the
// memory-bound forward pass.
const h100Bandwidth = 3e12

// benchDevices returns the devices a benchmark compares, CUDA first.
func benchDevices(b *testing.B) []struct {
	name string
	dev  accel.Device
} {
	return []struct {
		name string
		dev  accel.Device
	}{
		{"cuda", newDevice(b)},
		{"cpu", accel.NewCPU(accel.CPUConfig{})},
	}
}

const points1e8 = 100_000_000

// inputs1e8 holds the column inputs (x then t) of 10⁸ points, made once.
var inputs1e8 = sync.OnceValue(func() []float64 {
	in := make([]float64, 2*points1e8)
	for i := range points1e8 {
		in[i] = -10 + 20*float64(i)/points1e8
		in[points1e8+i] = 0.25 * float64(i%7) / 7
	}
	return in
})

// BenchmarkWaveForward1e8 is a Quasimoto forward pass over 10⁸ points.
// For one 1D wave it is memory bound: it reads 16 bytes (x, t) and writes
// 8 per point; B/s and GB/s report that traffic per second (the H100 has
// about 3 TB/s; %peak is against 3 TB/s). The ensemble of 16 waves is
// compute bound (points/s).
func BenchmarkWaveForward1e8(b *testing.B) {
	for _, c := range []struct {
		name string
		f    accel.WaveFamily
	}{
		{"wave1D", accel.WaveFamily{Dim: 1, Waves: 1}},
		{"ensemble16", accel.WaveFamily{Dim: 1, Waves: 16, Head: true}},
	} {
		for _, d := range benchDevices(b) {
			b.Run(c.name+"/"+d.name, func(b *testing.B) {
				if d.name == "cpu" && c.f.Waves > 1 {
					b.Skip("the CPU takes seconds per pass; compare the one-wave case")
				}
				benchForward(b, d.dev, c.f, points1e8)
			})
		}
	}
}

func benchForward(b *testing.B, dev accel.Device, f accel.WaveFamily, n int) {
	params := []float64{1, 0.5, 0.3, 0.1, -0.2, 0.4, 0.7, 0.25} // A k ω v log σ φ ε λ
	p := make([]float64, 0, f.NumParams())
	for range f.Waves {
		p = append(p, params...)
	}
	if f.Head {
		for j := range f.Waves + 1 {
			p = append(p, 1/float64(j+1))
		}
	}
	pb := mustUpload(b, dev, p)
	in := mustUpload(b, dev, inputs1e8()[:(f.Dim+1)*n])
	out, err := dev.Alloc(n)
	if err != nil {
		b.Fatal(err)
	}
	defer dev.Free(out)
	one := make([]float64, 1)
	// Warm up (module load, first launch), then time b.N passes; Download
	// waits for the queued kernels.
	if err := dev.WaveForward(f, pb, in, n, out); err != nil {
		b.Fatal(err)
	}
	if err := dev.Download(one, out); err != nil {
		b.Fatal(err)
	}
	bytes := int64(f.Dim+2) * 8 * int64(n)
	b.SetBytes(bytes)
	b.ResetTimer()
	for range b.N {
		if err := dev.WaveForward(f, pb, in, n, out); err != nil {
			b.Fatal(err)
		}
	}
	if err := dev.Download(one, out); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	bps := float64(bytes) * float64(b.N) / sec
	b.ReportMetric(bps/1e9, "GB/s")
	b.ReportMetric(100*bps/h100Bandwidth, "%peak")
	b.ReportMetric(float64(n)*float64(b.N)/sec, "points/s")
	b.ReportMetric(sec*1e3/float64(b.N), "ms/pass")
}

func mustUpload(b *testing.B, dev accel.Device, v []float64) accel.Buffer {
	b.Helper()
	buf, err := dev.Alloc(len(v))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { dev.Free(buf) })
	if err := dev.Upload(buf, v); err != nil {
		b.Fatal(err)
	}
	return buf
}

// benchTrain trains a fresh model for b.N epochs with stringtheory.Train
// and reports the training loop's time per epoch (set-up and upload
// excluded, as Train measures).
func benchTrain(b *testing.B, dev accel.Device, typ string, cfg stringtheory.Config, data stringtheory.Dataset) {
	m, err := stringtheory.New(typ, cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ResetTimer()
	sec := 0.0
	for left := b.N; left > 0; {
		e := min(left, stringtheory.MaxEpochs)
		res, err := stringtheory.Train(ctx, dev, m, data, stringtheory.TrainConfig{Epochs: e, Samples: 1})
		if err != nil {
			b.Fatal(err)
		}
		sec += res.Seconds
		left -= e
	}
	b.StopTimer()
	b.ReportMetric(sec*1e3/float64(b.N), "ms/epoch")
	b.ReportMetric(float64(b.N)/sec, "epochs/s")
}

// BenchmarkTrainEpoch1D is one epoch (loss, gradient, Adam step) of the 1D
// ensemble n=16 on the glitchy chirp (1,000 points), on CUDA and on the CPU.
func BenchmarkTrainEpoch1D(b *testing.B) {
	for _, d := range benchDevices(b) {
		b.Run(d.name, func(b *testing.B) {
			benchTrain(b, d.dev, stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 16}, stringtheory.GlitchyChirp())
		})
	}
}

// BenchmarkTrainEpoch4D is one epoch of the 4D ensemble n=8 on the 20³
// grid (8,000 points), on CUDA and on the CPU.
func BenchmarkTrainEpoch4D(b *testing.B) {
	for _, d := range benchDevices(b) {
		b.Run(d.name, func(b *testing.B) {
			benchTrain(b, d.dev, stringtheory.TypeEnsemble4D, stringtheory.Config{NWaves: 8}, stringtheory.Grid4D(20))
		})
	}
}
