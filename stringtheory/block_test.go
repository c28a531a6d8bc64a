package stringtheory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/internal/golden"
)

// blockModels are models of every kind, batch normalisation included.
var blockModels = []struct {
	typ string
	cfg Config
}{
	{TypeWave1D, Config{}},
	{TypeEnsemble4D, Config{}},
	{TypeEnsemble6D, Config{}},
	{TypeInterferenceBasis, Config{Dim: 2, NumFields: 5, OutFeatures: 3}},
	{TypeSIREN, Config{InputDim: 2, HiddenSize: 16, NumLayers: 3}},
	{TypeRFF, Config{InputDim: 3, NumFeatures: 17}},
	{TypeStringNN, Config{Dimensions: 5, HiddenSize: 24, NumLayers: 3, UseBatchNorm: true}},
}

func blockInputs(m Model, n int) map[string][]float64 {
	in := map[string][]float64{}
	for j, f := range m.Inputs() {
		v := make([]float64, n*f.Width)
		for i := range v {
			v[i] = math.Sin(float64(i*7+j*13)) * 2
		}
		in[f.Name] = v
	}
	return in
}

// withBlockValues runs fn with blockValues set to v.
func withBlockValues(t testing.TB, v int, fn func()) {
	old := blockValues
	blockValues = v
	defer func() { blockValues = old }()
	fn()
}

// firstRows returns the first n rows of data.
func firstRows(data Dataset, n int) Dataset {
	out := Dataset{Name: data.Name, N: n, Inputs: map[string][]float64{}}
	for k, v := range data.Inputs {
		out.Inputs[k] = v[:n*len(v)/data.N]
	}
	out.Target = data.Target[:n*len(data.Target)/data.N]
	return out
}

// withSplitMACs runs fn with splitMACs set to v.
func withSplitMACs(t testing.TB, v int, fn func()) {
	old := splitMACs
	splitMACs = v
	defer func() { splitMACs = old }()
	fn()
}

func TestForwardBlocksBitIdentical(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	ctx := context.Background()
	const n = 1001 // no block size below divides it
	for _, c := range blockModels {
		m, err := New(c.typ, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		in := blockInputs(m, n)
		var whole []float64
		withBlockValues(t, math.MaxInt, func() { whole, err = m.Forward(ctx, dev, in, n) })
		if err != nil {
			t.Fatalf("%s whole: %v", c.typ, err)
		}
		for _, bv := range []int{1, 97, 4096} {
			var got []float64
			withBlockValues(t, bv, func() { got, err = m.Forward(ctx, dev, in, n) })
			if err != nil {
				t.Fatalf("%s blocks of %d values: %v", c.typ, bv, err)
			}
			if len(got) != len(whole) {
				t.Fatalf("%s blocks of %d values: %d outputs, want %d", c.typ, bv, len(got), len(whole))
			}
			for i := range got {
				if math.Float64bits(got[i]) != math.Float64bits(whole[i]) {
					t.Fatalf("%s blocks of %d values: output %d = %v, whole pass %v", c.typ, bv, i, got[i], whole[i])
				}
			}
		}
	}
}

// cancelAfter is a context whose Err turns to DeadlineExceeded after a
// number of calls: a deadline passing between two blocks.
type cancelAfter struct {
	context.Context
	calls, after int
}

func (c *cancelAfter) Err() error {
	c.calls++
	if c.calls > c.after {
		return context.DeadlineExceeded
	}
	return nil
}

func TestForwardStopsBetweenBlocks(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	for _, c := range blockModels {
		m, err := New(c.typ, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		in := blockInputs(m, 500)
		ctx := &cancelAfter{Context: context.Background(), after: 3}
		withBlockValues(t, 200, func() { _, err = m.Forward(ctx, dev, in, 500) })
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("%s: err = %v, want the deadline", c.typ, err)
		}
		if ctx.calls != 4 {
			t.Errorf("%s: ctx checked %d times, want 4 (three blocks ran, the fourth stopped)", c.typ, ctx.calls)
		}
	}
}

// BenchmarkForwardBlocks compares the blocked forward pass with one block
// of every point, in the same run.
func BenchmarkForwardBlocks(b *testing.B) {
	dev := accel.NewCPU(accel.CPUConfig{})
	ctx := context.Background()
	for _, c := range []struct {
		name string
		typ  string
		cfg  Config
		n    int
	}{
		{"ensemble1d", TypeEnsemble1D, Config{}, 100_000},
		{"string_theory_512x4", TypeStringNN, Config{HiddenSize: 512, NumLayers: 4}, 5000},
		{"siren", TypeSIREN, Config{}, 100_000},
	} {
		m, err := New(c.typ, c.cfg)
		if err != nil {
			b.Fatal(err)
		}
		in := blockInputs(m, c.n)
		for _, mode := range []struct {
			name string
			bv   int
		}{{"blocks", BlockValues}, {"whole", math.MaxInt}} {
			b.Run(fmt.Sprintf("%s/%s", c.name, mode.name), func(b *testing.B) {
				withBlockValues(b, mode.bv, func() {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := m.Forward(ctx, dev, in, c.n); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.ReportMetric(float64(c.n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
			})
		}
	}
}

// Network training in blocks, and in two halves at once, follows the
// whole-batch trajectory within the trajectory tests' tolerance
// (golden.TrainingRel): the blocks' gradients are summed weighted by
// their points; only rounding differs.
func TestTrainBlocksMatchWholeBatch(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	for _, c := range []struct {
		typ string
		cfg Config
	}{
		{TypeSIREN, Config{HiddenSize: 16}},
		{TypeRFF, Config{NumFeatures: 12}},
		{TypeStringNN, Config{Dimensions: 4, HiddenSize: 8, NumLayers: 3}},
		{TypeStringNN, Config{Dimensions: 4, HiddenSize: 8, UseBatchNorm: true}}, // one block: batch statistics
	} {
		train := func(bv int) (TrainResult, []float64) {
			m, err := New(c.typ, c.cfg)
			if err != nil {
				t.Fatal(err)
			}
			data, err := DatasetFor(m)
			if err != nil {
				t.Fatal(err)
			}
			data = firstRows(data, data.N-1+data.N%2) // odd: halves of unequal rows
			var res TrainResult
			withBlockValues(t, bv, func() {
				res, err = Train(context.Background(), dev, m, data, TrainConfig{Epochs: 25, LearningRate: 1e-2})
			})
			if err != nil {
				t.Fatalf("%s: %v", c.typ, err)
			}
			return res, m.Values()
		}
		var whole, blocked, split TrainResult
		var wp, bp, sp []float64
		withSplitMACs(t, math.MaxInt, func() {
			whole, wp = train(math.MaxInt)
			blocked, bp = train(997) // blocks of a few rows, the last one short
		})
		withSplitMACs(t, 1, func() { split, sp = train(math.MaxInt) }) // two halves at once
		for _, o := range []struct {
			name   string
			res    TrainResult
			values []float64
		}{{"blocked", blocked, bp}, {"split", split, sp}} {
			for i := range whole.Losses {
				if !golden.Close(o.res.Losses[i], whole.Losses[i], golden.TrainingRel, 0) {
					t.Errorf("%s: loss %d %s %v, whole %v", c.typ, i, o.name, o.res.Losses[i], whole.Losses[i])
					break
				}
			}
			for i := range wp {
				if !golden.Close(o.values[i], wp[i], golden.TrainingRel, golden.ForwardAbs) {
					t.Errorf("%s: parameter %d %s %v, whole %v", c.typ, i, o.name, o.values[i], wp[i])
					break
				}
			}
		}
	}
}

func TestTrainingBytes(t *testing.T) {
	m, err := New(TypeSIREN, Config{HiddenSize: 256, NumLayers: 3})
	if err != nil {
		t.Fatal(err)
	}
	const n = 1000 // the glitchy chirp
	params := 8 * int64(len(m.Values()))
	data := 8 * int64(n*2) // inputs x and target
	var whole int64
	withBlockValues(t, math.MaxInt, func() { whole = TrainingBytes(m, n) })
	// 1000 rows × (1 + 4 × 3 × 256 + 4) values in one block, in two
	// halves on the CPU: a second gradient on the device, and the two
	// halves' sum and one of them on the host.
	if want := 4*params + 8*int64(n*3077) + data + 3*params; whole != want {
		t.Errorf("TrainingBytes in one block = %d, want about %d", whole, want)
	}
	withSplitMACs(t, math.MaxInt, func() {
		withBlockValues(t, math.MaxInt, func() { whole = TrainingBytes(m, n) })
	})
	if want := 4*params + 8*int64(n*3077) + data; whole != want {
		t.Errorf("TrainingBytes in one block, not split = %d, want about %d", whole, want)
	}
	blocked := TrainingBytes(m, n)
	// A block of about BlockValues values, plus two host gradients.
	if want := 4*params + 8*BlockValues + 2*params + data; blocked > want || blocked < want-8*3077 {
		t.Errorf("TrainingBytes in blocks = %d, want about %d (whole: %d)", blocked, want, whole)
	}
}

// BenchmarkTrainBlocks compares network training in blocks with one block
// of every row, in the same run.
func BenchmarkTrainBlocks(b *testing.B) {
	dev := accel.NewCPU(accel.CPUConfig{})
	for _, c := range []struct {
		name string
		typ  string
		cfg  Config
	}{
		{"string_theory_512x4", TypeStringNN, Config{HiddenSize: 512, NumLayers: 4}},
		{"siren_256x3", TypeSIREN, Config{HiddenSize: 256, NumLayers: 3}},
	} {
		for _, mode := range []struct {
			name string
			bv   int
		}{{"blocks", BlockValues}, {"whole", math.MaxInt}} {
			b.Run(c.name+"/"+mode.name, func(b *testing.B) {
				m, err := New(c.typ, c.cfg)
				if err != nil {
					b.Fatal(err)
				}
				data, err := DatasetFor(m)
				if err != nil {
					b.Fatal(err)
				}
				const epochs = 5
				withBlockValues(b, mode.bv, func() {
					b.ReportAllocs()
					for b.Loop() {
						if _, err := Train(context.Background(), dev, m, data, TrainConfig{Epochs: epochs, LearningRate: 1e-4}); err != nil {
							b.Fatal(err)
						}
					}
				})
				b.ReportMetric(epochs*float64(b.N)/b.Elapsed().Seconds(), "epochs/s")
			})
		}
	}
}

// On the CPU device, inference reads the parameters where they are: a
// one-row inference of a 2.4-million-parameter model allocates nothing of
// the model's size (a copy per call was 19 MB of garbage).
func TestForwardDoesNotCopyParameters(t *testing.T) {
	if raceEnabled {
		// The race detector's sync.Pool drops items at random, and with
		// them vecmath.Gemm's packing buffers.
		t.Skip("the race detector changes allocation counts")
	}
	m, err := New(TypeStringNN, Config{HiddenSize: 512, NumLayers: 10})
	if err != nil {
		t.Fatal(err)
	}
	dev := accel.NewCPU(accel.CPUConfig{})
	in := blockInputs(m, 1)
	if _, err := m.Forward(context.Background(), dev, in, 1); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 10 {
		if _, err := m.Forward(context.Background(), dev, in, 1); err != nil {
			t.Fatal(err)
		}
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / 10; per > 1<<20 {
		t.Errorf("a one-row inference allocates %d bytes", per)
	}
}
