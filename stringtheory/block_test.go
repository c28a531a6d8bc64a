package stringtheory

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/dredge-cli/dredge/accel"
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
