package stringtheory

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/dredge-cli/dredge/accel"
)

// gradCase is a small model and data set for a finite-difference check.
type gradCase struct {
	typ string
	cfg Config
}

var gradCases = []gradCase{
	{TypeWave1D, Config{}},
	{TypeWave4D, Config{}},
	{TypeWave6D, Config{}},
	{TypeEnsemble1D, Config{NWaves: 3}},
	{TypeEnsemble4D, Config{NWaves: 2}},
	{TypeEnsemble6D, Config{NWaves: 2}},
	{TypeInterferenceBasis, Config{Dim: 1, NumFields: 3}},
	{TypeInterferenceBasis, Config{Dim: 2, NumFields: 2, OutFeatures: 2}},
	{TypeSIREN, Config{HiddenSize: 5}},
	{TypeSIREN, Config{InputDim: 2, HiddenSize: 4, NumLayers: 3}},
	{TypeRFF, Config{NumFeatures: 6}},
	{TypeStringNN, Config{Dimensions: 3, HiddenSize: 5}},
	{TypeStringNN, Config{Dimensions: 3, HiddenSize: 5, NumLayers: 3, UseBatchNorm: true}},
}

// randomData returns n points of random inputs for m, with t ≠ 0 so that
// every wave parameter (omega, v) has a gradient, and random targets.
func randomData(rng *rand.Rand, m Model, n int) Dataset {
	d := Dataset{Name: "random", N: n, Inputs: map[string][]float64{}}
	for _, f := range m.Inputs() {
		v := make([]float64, n*f.Width)
		for i := range v {
			v[i] = 2*rng.Float64() - 1
		}
		d.Inputs[f.Name] = v
	}
	d.Target = make([]float64, n*m.OutputWidth())
	normal(rng, d.Target, 0.5)
	return d
}

// TestGradientFiniteDifferences checks the exact gradients of every model
// type against central finite differences of the loss.
func TestGradientFiniteDifferences(t *testing.T) {
	dev := accel.NewCPU(accel.CPUConfig{})
	seen := map[string]bool{}
	for ci, c := range gradCases {
		seen[c.typ] = true
		rng := rand.New(rand.NewPCG(uint64(ci), 7))
		m, err := New(c.typ, c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		// Move every trainable value off its round initial value.
		vals := m.Values()
		for _, tn := range m.Tensors() {
			if !tn.Trainable {
				continue
			}
			for i := tn.Offset; i < tn.Offset+tn.Size(); i++ {
				vals[i] += 0.2 * (2*rng.Float64() - 1)
			}
		}
		if err := m.SetVector(vals); err != nil {
			t.Fatal(err)
		}
		data := randomData(rng, m, 12)
		s, err := newSession(dev, m, data)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if _, err := s.lossGrad(true); err != nil {
			t.Fatal(err)
		}
		grad := make([]float64, s.np)
		if err := dev.Download(grad, s.grad); err != nil {
			t.Fatal(err)
		}
		loss := func(p []float64) float64 {
			if err := dev.Upload(s.params, p); err != nil {
				t.Fatal(err)
			}
			l, err := s.lossGrad(false)
			if err != nil {
				t.Fatal(err)
			}
			return l
		}
		p := m.Values()
		for _, tn := range m.Tensors() {
			for i := tn.Offset; i < tn.Offset+tn.Size(); i++ {
				if !tn.Trainable {
					if grad[i] != 0 {
						t.Errorf("%s %s[%d]: gradient %v of a fixed tensor", c.typ, tn.Name, i-tn.Offset, grad[i])
					}
					continue
				}
				h := 1e-6 * math.Max(1, math.Abs(p[i]))
				orig := p[i]
				p[i] = orig + h
				lp := loss(p)
				p[i] = orig - h
				lm := loss(p)
				p[i] = orig
				fd := (lp - lm) / (2 * h)
				if d := math.Abs(grad[i] - fd); d > 1e-6*(math.Abs(fd)+math.Abs(grad[i]))+1e-8 {
					t.Errorf("%s %v %s[%d]: gradient %.12g, finite difference %.12g", c.typ, c.cfg, tn.Name, i-tn.Offset, grad[i], fd)
				}
			}
		}
		s.free()
	}
	for _, typ := range ModelTypes {
		if !seen[typ] {
			t.Errorf("model type %s has no gradient check", typ)
		}
	}
}
