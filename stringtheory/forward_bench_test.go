package stringtheory_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/stringtheory"
)

func benchForward(b *testing.B, typ string, cfg stringtheory.Config, n int) {
	m := newModel(b, typ, cfg)
	in := map[string][]float64{}
	for _, f := range m.Inputs() {
		v := make([]float64, n*f.Width)
		for i := range v {
			v[i] = float64(i%97)/97 - 0.5
		}
		in[f.Name] = v
	}
	dev := accel.NewCPU(accel.CPUConfig{})
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Forward(context.Background(), dev, in, n); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "points/s")
}

func BenchmarkWave1D(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) { benchForward(b, stringtheory.TypeWave1D, stringtheory.Config{}, n) })
	}
}

func BenchmarkEnsemble1D(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchForward(b, stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 16}, n)
		})
	}
}

func BenchmarkStringNN(b *testing.B) {
	for _, n := range []int{256, 16384} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			benchForward(b, stringtheory.TypeStringNN, stringtheory.Config{}, n)
		})
	}
}
