package stringtheory_test

import (
	"context"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/stringtheory"
)

// benchTrain trains m on data for b.N epochs (one epoch per op) and
// reports ms/epoch and epochs/s. The reference PyTorch (CPU, 2
// threads) needed 10 ms per epoch for the 1D ensemble n=16 and 16 ms for
// the 4D ensemble n=8.
func benchTrain(b *testing.B, m stringtheory.Model, data stringtheory.Dataset) {
	b.Helper()
	dev := accel.NewCPU(accel.CPUConfig{})
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for left := b.N; left > 0; {
		e := min(left, stringtheory.MaxEpochs)
		if _, err := stringtheory.Train(ctx, dev, m, data, stringtheory.TrainConfig{Epochs: e, LearningRate: 1e-3, Samples: 1}); err != nil {
			b.Fatal(err)
		}
		left -= e
	}
	b.StopTimer()
	sec := b.Elapsed().Seconds()
	b.ReportMetric(sec*1e3/float64(b.N), "ms/epoch")
	b.ReportMetric(float64(b.N)/sec, "epochs/s")
}

// BenchmarkTrainEpoch1D is one epoch of the 1D ensemble n=16 on the glitchy
// chirp (1,000 points).
func BenchmarkTrainEpoch1D(b *testing.B) {
	benchTrain(b, newModel(b, stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 16}), stringtheory.GlitchyChirp())
}

// BenchmarkTrainEpoch4D is one epoch of the 4D ensemble n=8 on the 20³ grid.
func BenchmarkTrainEpoch4D(b *testing.B) {
	benchTrain(b, newModel(b, stringtheory.TypeEnsemble4D, stringtheory.Config{NWaves: 8}), stringtheory.Grid4D(20))
}

// BenchmarkTrainEpoch6D is one epoch of the 6D ensemble n=6 on the 8⁵ grid.
func BenchmarkTrainEpoch6D(b *testing.B) {
	benchTrain(b, newModel(b, stringtheory.TypeEnsemble6D, stringtheory.Config{NWaves: 6}), stringtheory.Grid6D(8))
}

// BenchmarkTrainEpochModels is one epoch of every other model type on its
// default training set.
func BenchmarkTrainEpochModels(b *testing.B) {
	for _, typ := range []string{stringtheory.TypeWave1D, stringtheory.TypeInterferenceBasis, stringtheory.TypeSIREN, stringtheory.TypeRFF, stringtheory.TypeStringNN} {
		b.Run(typ, func(b *testing.B) {
			m := newModel(b, typ, stringtheory.Config{})
			data, err := stringtheory.DatasetFor(m)
			if err != nil {
				b.Fatal(err)
			}
			benchTrain(b, m, data)
		})
	}
}
