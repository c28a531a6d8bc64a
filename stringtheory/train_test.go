package stringtheory_test

import (
	"context"
	"errors"
	"math"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/stringtheory"
)

func newModel(t testing.TB, typ string, cfg stringtheory.Config) stringtheory.Model {
	t.Helper()
	m, err := stringtheory.New(typ, cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	return m
}

// chirpPart is every tenth point of the glitchy chirp: small enough for
// the race detector.
func chirpPart() stringtheory.Dataset {
	d := stringtheory.GlitchyChirp()
	out := stringtheory.Dataset{Name: "chirp/10", Inputs: map[string][]float64{}}
	for i := 0; i < d.N; i += 10 {
		out.N++
		out.Target = append(out.Target, d.Target[i])
		for k, v := range d.Inputs {
			out.Inputs[k] = append(out.Inputs[k], v[i])
		}
	}
	return out
}

func TestTrainConfigErrors(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	data := chirpPart()
	for _, c := range []struct {
		cfg   stringtheory.TrainConfig
		field string
	}{
		{stringtheory.TrainConfig{Epochs: -1}, "config.epochs"},
		{stringtheory.TrainConfig{Epochs: stringtheory.MaxEpochs + 1}, "config.epochs"},
		{stringtheory.TrainConfig{LearningRate: -1e-3}, "config.learning_rate"},
		{stringtheory.TrainConfig{LearningRate: math.NaN()}, "config.learning_rate"},
		{stringtheory.TrainConfig{LearningRate: math.Inf(1)}, "config.learning_rate"},
		{stringtheory.TrainConfig{Samples: -2}, "config.samples"},
	} {
		m := newModel(t, stringtheory.TypeWave1D, stringtheory.Config{})
		before := m.Values()
		_, err := stringtheory.Train(context.Background(), dev, m, data, c.cfg)
		var fe *stringtheory.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !errors.Is(err, stringtheory.ErrInvalidArgument) {
			t.Errorf("%+v: err = %v, want a FieldError naming %s", c.cfg, err, c.field)
		}
		if !slices.Equal(m.Values(), before) {
			t.Errorf("%+v: the model changed", c.cfg)
		}
	}
}

func TestTrainDataErrors(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	good := chirpPart()
	short := good
	short.Target = good.Target[:good.N-1]
	missing := good
	missing.Inputs = map[string][]float64{"x": good.Inputs["x"]}
	nan := good
	nan.Target = slices.Clone(good.Target)
	nan.Target[3] = math.NaN()
	for _, c := range []struct {
		name  string
		typ   string
		cfg   stringtheory.Config
		data  stringtheory.Dataset
		field string
	}{
		{"short target", stringtheory.TypeWave1D, stringtheory.Config{}, short, "data.target"},
		{"NaN target", stringtheory.TypeWave1D, stringtheory.Config{}, nan, "data.target[3]"},
		{"missing t", stringtheory.TypeWave1D, stringtheory.Config{}, missing, "data.inputs.t"},
		{"wrong width", stringtheory.TypeStringNN, stringtheory.Config{}, good, "data.inputs.x"},
		{"no points", stringtheory.TypeWave1D, stringtheory.Config{}, stringtheory.Dataset{}, "data.n"},
		{"one row with batch norm", stringtheory.TypeStringNN, stringtheory.Config{Dimensions: 1, UseBatchNorm: true},
			stringtheory.Dataset{N: 1, Inputs: map[string][]float64{"x": {0.5}}, Target: []float64{1}}, "data.n"},
	} {
		m := newModel(t, c.typ, c.cfg)
		_, err := stringtheory.Train(context.Background(), dev, m, c.data, stringtheory.TrainConfig{Epochs: 2})
		var fe *stringtheory.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s: err = %v, want a FieldError naming %s", c.name, err, c.field)
		}
	}
}

func TestTrainDefaults(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	m := newModel(t, stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 2})
	before := m.Values()
	var seen []int
	res, err := stringtheory.Train(context.Background(), dev, m, chirpPart(), stringtheory.TrainConfig{
		OnEpoch: func(e int, loss float64) { seen = append(seen, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Epochs != stringtheory.DefaultEpochs || len(res.Losses) != res.Epochs || len(seen) != res.Epochs || seen[res.Epochs-1] != res.Epochs-1 {
		t.Errorf("epochs %d, %d losses, %d callbacks; want %d each", res.Epochs, len(res.Losses), len(seen), stringtheory.DefaultEpochs)
	}
	if len(res.Sampled) != stringtheory.DefaultSamples {
		t.Fatalf("%d sampled losses, want %d", len(res.Sampled), stringtheory.DefaultSamples)
	}
	for i, v := range res.Sampled {
		if v != res.Losses[i*10] {
			t.Errorf("Sampled[%d] = %v, want Losses[%d] = %v", i, v, i*10, res.Losses[i*10])
		}
	}
	if res.InitialLoss != res.Losses[0] || !(res.FinalLoss < res.InitialLoss) || res.FinalLoss > res.Losses[res.Epochs-1] {
		t.Errorf("initial %v, last %v, final %v: want a decreasing loss", res.InitialLoss, res.Losses[res.Epochs-1], res.FinalLoss)
	}
	if res.Device != "cpu" || res.Seconds <= 0 {
		t.Errorf("device %q, seconds %v", res.Device, res.Seconds)
	}
	if slices.Equal(m.Values(), before) {
		t.Error("training left the parameters unchanged")
	}
	// Training again continues from the trained parameters.
	res2, err := stringtheory.Train(context.Background(), dev, m, chirpPart(), stringtheory.TrainConfig{Epochs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res2.InitialLoss != res.FinalLoss {
		t.Errorf("second run starts at %v, want the first run's final loss %v", res2.InitialLoss, res.FinalLoss)
	}
}

func TestTrainSampledFewEpochs(t *testing.T) {
	m := newModel(t, stringtheory.TypeWave1D, stringtheory.Config{})
	res, err := stringtheory.Train(context.Background(), accel.NewCPU(accel.CPUConfig{}), m, chirpPart(), stringtheory.TrainConfig{Epochs: 3, Samples: 10})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Sampled, res.Losses) {
		t.Errorf("Sampled = %v, want all of %v", res.Sampled, res.Losses)
	}
}

func TestTrainCancel(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	m := newModel(t, stringtheory.TypeWave1D, stringtheory.Config{})
	before := m.Values()
	ctx, cancel := context.WithCancel(context.Background())
	_, err := stringtheory.Train(ctx, dev, m, chirpPart(), stringtheory.TrainConfig{
		Epochs: 1000,
		OnEpoch: func(e int, _ float64) {
			if e == 2 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if !slices.Equal(m.Values(), before) {
		t.Error("a cancelled run changed the model")
	}
	if _, err := stringtheory.Train(ctx, dev, m, chirpPart(), stringtheory.TrainConfig{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: err = %v", err)
	}
}

// nanDevice is a CPU whose wave gradient reports a NaN loss after a few calls.
type nanDevice struct {
	*accel.CPU
	calls int
}

func (d *nanDevice) WaveLossGrad(f accel.WaveFamily, params, inputs, target accel.Buffer, n int, grad accel.Buffer) (float64, error) {
	loss, err := d.CPU.WaveLossGrad(f, params, inputs, target, n, grad)
	if d.calls++; d.calls > 3 {
		loss = math.NaN()
	}
	return loss, err
}

func TestTrainDiverged(t *testing.T) {
	m := newModel(t, stringtheory.TypeWave1D, stringtheory.Config{})
	before := m.Values()
	_, err := stringtheory.Train(context.Background(), &nanDevice{CPU: accel.NewCPU(accel.CPUConfig{})}, m, chirpPart(), stringtheory.TrainConfig{Epochs: 10})
	if !errors.Is(err, stringtheory.ErrDiverged) || !errors.Is(err, stringtheory.ErrInvalidArgument) {
		t.Fatalf("err = %v, want ErrDiverged", err)
	}
	if !slices.Equal(m.Values(), before) {
		t.Error("a diverged run changed the model")
	}
}

// TestTrainFixedTensors checks that the RFF matrix stays fixed and that
// batch normalisation's running statistics follow the training batches.
func TestTrainFixedTensors(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	rff := newModel(t, stringtheory.TypeRFF, stringtheory.Config{NumFeatures: 8})
	b0, _ := rff.(*stringtheory.Network).Tensor("B")
	if _, err := stringtheory.Train(context.Background(), dev, rff, chirpPart(), stringtheory.TrainConfig{Epochs: 5}); err != nil {
		t.Fatal(err)
	}
	if b1, _ := rff.(*stringtheory.Network).Tensor("B"); !slices.Equal(b0, b1) {
		t.Error("training changed the RFF matrix B")
	}
	nn := newModel(t, stringtheory.TypeStringNN, stringtheory.Config{Dimensions: 3, HiddenSize: 4, UseBatchNorm: true})
	data := stringtheory.Synthetic(16, 3, 1)
	if _, err := stringtheory.Train(context.Background(), dev, nn, data, stringtheory.TrainConfig{Epochs: 2}); err != nil {
		t.Fatal(err)
	}
	rm, _ := nn.(*stringtheory.Network).Tensor("network.1.running_mean")
	rv, _ := nn.(*stringtheory.Network).Tensor("network.1.running_var")
	if slices.Equal(rm, make([]float64, len(rm))) || rv[0] == 1 {
		t.Errorf("running statistics not updated: mean %v, var %v", rm, rv)
	}
}

// TestTrainDeterministic checks that results do not depend on the number
// of workers of the CPU device, nor, for a network whose batch runs as two
// halves at once (SIREN on the chirp's 1,000 points), on whether the
// second half runs on a goroutine of its own (GOMAXPROCS > 1) or after the
// first.
func TestTrainDeterministic(t *testing.T) {
	for _, c := range []struct {
		typ    string
		cfg    stringtheory.Config
		data   stringtheory.Dataset
		epochs int
	}{
		{stringtheory.TypeEnsemble4D, stringtheory.Config{NWaves: 3}, stringtheory.Grid4D(10), 3}, // 1,000 points: several chunks
		{stringtheory.TypeSIREN, stringtheory.Config{}, stringtheory.GlitchyChirp(), 5},
	} {
		var ref []float64
		for _, procs := range []int{2, 1} {
			for _, workers := range []int{1, 2, 3} {
				old := runtime.GOMAXPROCS(procs)
				m := newModel(t, c.typ, c.cfg)
				res, err := stringtheory.Train(context.Background(), accel.NewCPU(accel.CPUConfig{Workers: workers}), m, c.data, stringtheory.TrainConfig{Epochs: c.epochs})
				runtime.GOMAXPROCS(old)
				if err != nil {
					t.Fatal(err)
				}
				got := append(res.Losses, m.Values()...)
				if ref == nil {
					ref = got
				} else if !slices.Equal(got, ref) {
					t.Errorf("%s, GOMAXPROCS=%d workers=%d: results differ from GOMAXPROCS=2 workers=1", c.typ, procs, workers)
				}
			}
		}
	}
}

// TestTrainEndsItsHelper: the goroutine that runs a split batch's second
// half ends with the training, also when the training fails.
func TestTrainEndsItsHelper(t *testing.T) {
	before := runtime.NumGoroutine()
	data := stringtheory.GlitchyChirp()
	m := newModel(t, stringtheory.TypeSIREN, stringtheory.Config{})
	if _, err := stringtheory.Train(context.Background(), accel.NewCPU(accel.CPUConfig{}), m, data, stringtheory.TrainConfig{Epochs: 3}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := stringtheory.Train(ctx, accel.NewCPU(accel.CPUConfig{}), m, data, stringtheory.TrainConfig{Epochs: 3}); err == nil {
		t.Fatal("a cancelled training succeeded")
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines after training, %d before", runtime.NumGoroutine(), before)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestDatasetFor(t *testing.T) {
	want := map[string]int{
		stringtheory.TypeWave1D: 1000, stringtheory.TypeEnsemble1D: 1000,
		stringtheory.TypeWave4D: 8000, stringtheory.TypeEnsemble4D: 8000,
		stringtheory.TypeWave6D: 32768, stringtheory.TypeEnsemble6D: 32768,
		stringtheory.TypeInterferenceBasis: 1000, stringtheory.TypeSIREN: 1000, stringtheory.TypeRFF: 1000,
		stringtheory.TypeStringNN: stringtheory.SyntheticRows,
	}
	dev := accel.NewCPU(accel.CPUConfig{})
	for _, typ := range stringtheory.ModelTypes {
		m := newModel(t, typ, stringtheory.Config{})
		d, err := stringtheory.DatasetFor(m)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if d.N != want[typ] {
			t.Errorf("%s: %d points, want %d", typ, d.N, want[typ])
		}
		if testing.Short() || d.N > 1000 {
			continue
		}
		if _, err := stringtheory.Train(context.Background(), dev, m, d, stringtheory.TrainConfig{Epochs: 1}); err != nil {
			t.Errorf("%s: Train on its data set: %v", typ, err)
		}
	}
	// Wider inputs fall back to the synthetic set.
	for _, c := range []struct {
		typ string
		cfg stringtheory.Config
	}{
		{stringtheory.TypeSIREN, stringtheory.Config{InputDim: 3}},
		{stringtheory.TypeInterferenceBasis, stringtheory.Config{Dim: 2, OutFeatures: 2}},
		{stringtheory.TypeInterferenceBasis, stringtheory.Config{Dim: 3}},
	} {
		m := newModel(t, c.typ, c.cfg)
		d, err := stringtheory.DatasetFor(m)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := stringtheory.Train(context.Background(), dev, m, d, stringtheory.TrainConfig{Epochs: 1}); err != nil {
			t.Errorf("%s %+v: %v", c.typ, c.cfg, err)
		}
	}
}

// TestTrainAllocations checks that an epoch allocates no buffers: the
// bytes allocated by a run grow by less than a few hundred per epoch (the
// CPU device's goroutine fan-out).
func TestTrainAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates for every goroutine")
	}
	dev := accel.NewCPU(accel.CPUConfig{Workers: 2})
	data := chirpPart()
	m := newModel(t, stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 4})
	alloc := func(epochs int) uint64 {
		var a, b runtime.MemStats
		runtime.ReadMemStats(&a)
		if _, err := stringtheory.Train(context.Background(), dev, m, data, stringtheory.TrainConfig{Epochs: epochs, Samples: 1}); err != nil {
			t.Fatal(err)
		}
		runtime.ReadMemStats(&b)
		return b.TotalAlloc - a.TotalAlloc
	}
	alloc(2) // warm the device's pools
	small, large := alloc(10), alloc(210)
	if per := (float64(large) - float64(small)) / 200; per > 512 {
		t.Errorf("%.0f bytes allocated per epoch, want no buffers", per)
	}
}
