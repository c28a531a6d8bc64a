package stringtheory_test

import (
	"context"
	"fmt"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/stringtheory"
)

func ExampleVibration_Spectrum() {
	s := stringtheory.DefaultVibration
	spec, _ := s.Spectrum(5)
	fmt.Println(spec)
	_, err := s.Mode(0, 0.5)
	fmt.Println(err)
	// Output:
	// [0.5 1 1.5 2 2.5]
	// n: mode number must be ≥ 1, got 0
}

func ExampleNew() {
	m, _ := stringtheory.New(stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 8})
	fmt.Println(m.Type(), m.NumParameters(), len(m.Tensors()))

	w, _ := stringtheory.New(stringtheory.TypeWave1D, stringtheory.Config{})
	_ = w.SetValues(map[string][]float64{"A": {3}, "phi": {1.5707963267948966}, "epsilon": {0}})
	out, _ := w.Forward(context.Background(), accel.NewCPU(accel.CPUConfig{}), map[string][]float64{"x": {0}, "t": {0}}, 1)
	fmt.Println(out)
	// Output:
	// quasimoto_ensemble 73 66
	// [3]
}

func ExampleTrain() {
	dev := accel.NewCPU(accel.CPUConfig{})
	m, _ := stringtheory.New(stringtheory.TypeEnsemble1D, stringtheory.Config{NWaves: 4, Seed: 1})
	data, _ := stringtheory.DatasetFor(m) // the glitchy chirp
	res, err := stringtheory.Train(context.Background(), dev, m, data, stringtheory.TrainConfig{Epochs: 50, LearningRate: 1e-2, Samples: 5})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(data.Name, data.N, "points on", res.Device)
	fmt.Println(res.Epochs, "epochs,", len(res.Sampled), "sampled losses")
	fmt.Println("loss decreased:", res.FinalLoss < res.InitialLoss)

	_, err = stringtheory.Train(context.Background(), dev, m, data, stringtheory.TrainConfig{Epochs: -1})
	fmt.Println(err)
	// Output:
	// glitchy_chirp 1000 points on cpu
	// 50 epochs, 5 sampled losses
	// loss decreased: true
	// config.epochs: must be between 1 and 100000, got -1
}
