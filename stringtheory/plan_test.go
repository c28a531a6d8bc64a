package stringtheory

import (
	"errors"
	"runtime"
	"testing"
)

func TestPlanCountsWhatNewBuilds(t *testing.T) {
	cases := []struct {
		typ string
		cfg Config
	}{
		{TypeWave1D, Config{}},
		{TypeWave4D, Config{}},
		{TypeWave6D, Config{}},
		{TypeEnsemble1D, Config{}},
		{TypeEnsemble1D, Config{NWaves: 3}},
		{TypeEnsemble4D, Config{}},
		{TypeEnsemble6D, Config{NWaves: 11}},
		{TypeInterferenceBasis, Config{}},
		{TypeInterferenceBasis, Config{Dim: 3, NumFields: 5, OutFeatures: 4}},
		{TypeSIREN, Config{}},
		{TypeSIREN, Config{InputDim: 3, HiddenSize: 7, NumLayers: 1}},
		{TypeSIREN, Config{HiddenSize: 5, NumLayers: 4, W0: 2}},
		{TypeRFF, Config{}},
		{TypeRFF, Config{InputDim: 6, NumFeatures: 9}},
		{TypeStringNN, Config{}},
		{TypeStringNN, Config{Dimensions: 3, HiddenSize: 5, NumLayers: 1}},
		{TypeStringNN, Config{Dimensions: 4, HiddenSize: 6, NumLayers: 3, UseBatchNorm: true}},
	}
	for _, c := range cases {
		p, err := PlanFor(c.typ, c.cfg)
		if err != nil {
			t.Fatalf("PlanFor(%s, %+v): %v", c.typ, c.cfg, err)
		}
		m, err := New(c.typ, c.cfg)
		if err != nil {
			t.Fatalf("New(%s, %+v): %v", c.typ, c.cfg, err)
		}
		if got, want := p.Values, len(m.Values()); got != want {
			t.Errorf("%s %+v: plan has %d values, the model %d", c.typ, c.cfg, got, want)
		}
		if got, want := p.Parameters, m.NumParameters(); got != want {
			t.Errorf("%s %+v: plan has %d parameters, the model %d", c.typ, c.cfg, got, want)
		}
		if p.Bytes() != 8*int64(p.Values) {
			t.Errorf("%s: Bytes %d for %d values", c.typ, p.Bytes(), p.Values)
		}
	}
}

func TestPlanRefusesBeforeAllocating(t *testing.T) {
	cases := []struct {
		name string
		typ  string
		cfg  Config
	}{
		// 4096² per hidden layer: 151 million values, 1.2 GB.
		{"wide deep MLP", TypeStringNN, Config{HiddenSize: 4096, NumLayers: 10}},
		// The RFF matrix is a buffer, not a parameter, but it is memory all the same: 2 GiB.
		{"huge RFF matrix", TypeRFF, Config{InputDim: MaxInputDim, NumFeatures: MaxFeatures}},
		{"wide SIREN", TypeSIREN, Config{HiddenSize: 4096, NumLayers: 3}},
	}
	for _, c := range cases {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := New(c.typ, c.cfg)
		runtime.ReadMemStats(&after)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != "config" || !errors.Is(err, ErrInvalidArgument) {
			t.Errorf("%s: err = %v, want a FieldError naming config", c.name, err)
		}
		// Loosely: nothing of the model's size (hundreds of MB) was allocated.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Errorf("%s: %d bytes allocated before refusing", c.name, grew)
		}
	}
}
