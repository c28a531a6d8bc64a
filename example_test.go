package dredge_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/modelstore"
)

func Example() {
	eng, err := dredge.New(dredge.WithDeviceKind("cpu"))
	if err != nil {
		panic(err)
	}
	defer eng.Close()

	maxModes := 4
	spec, _ := eng.StringSpectrum(context.Background(), &dredge.SpectrumParams{MaxModes: &maxModes})
	fmt.Println(spec.EnergySpectrum)
	// Output: [0.5 1 1.5 2]
}

func ExampleEngine_CallJSON() {
	eng, _ := dredge.New(dredge.WithDeviceKind("cpu"))
	defer eng.Close()
	ctx := context.Background()

	body, code := eng.CallJSON(ctx, "string_parameters", json.RawMessage(`{"coupling_constant": 0.5}`))
	fmt.Println(code == dredge.CodeOK, string(body))

	body, code = eng.CallJSON(ctx, "string_spectrum", json.RawMessage(`{"max_modes": -1}`))
	fmt.Println(code, string(body))
	// Output:
	// true {"success":true,"parameters":{"string_length":1.1426845583974608e-35,"string_tension":0.3183098861837907,"coupling_constant":0.5,"energy_scale":1,"planck_length":1.616e-35}}
	// invalid_argument {"success":false,"error":"max_modes: must be between 1 and 100000, got -1","code":"invalid_argument","field":"max_modes"}
}

func ExampleEngine_Inference() {
	eng, _ := dredge.New(dredge.WithDeviceKind("cpu"))
	defer eng.Close()
	ctx := context.Background()

	// A single 1D wave restored from known parameters: at x = t = 0 it is
	// A·sin(φ + ε) = 2·sin(π/2) = 2.
	m, err := eng.LoadModel(ctx, &dredge.LoadModelParams{
		ModelType: "quasimoto_1d",
		Config: dredge.ModelConfig{Parameters: map[string]dredge.ParamValue{
			"A": {2}, "phi": {1.5707963267948966}, "epsilon": {0},
		}},
	})
	if err != nil {
		panic(err)
	}
	out, err := eng.Inference(ctx, &dredge.InferenceParams{
		ModelID: m.ModelID,
		Inputs:  dredge.Inputs{"x": dredge.Column(0), "t": dredge.Column(0)},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.ModelID, out.Output.Data)
	// Output: quasimoto_1d_0 [2]
}

// Two Engines (two nodes) share their models through a store: a model
// loaded and trained on one answers on the other. modelstore.NewRedis
// shares them across processes, modelstore.NewDir keeps them across
// restarts.
func ExampleWithModelStore() {
	store := modelstore.NewMemory()
	nodeA, _ := dredge.New(dredge.WithDeviceKind("cpu"), dredge.WithModelStore(store))
	defer nodeA.Close()
	nodeB, _ := dredge.New(dredge.WithDeviceKind("cpu"), dredge.WithModelStore(store))
	defer nodeB.Close()
	ctx := context.Background()

	m, _ := nodeA.LoadModel(ctx, &dredge.LoadModelParams{
		ModelType: "quasimoto_1d",
		Config:    dredge.ModelConfig{Parameters: map[string]dredge.ParamValue{"A": {2}, "phi": {1.5707963267948966}, "epsilon": {0}}},
	})
	in := dredge.Inputs{"x": dredge.Column(0), "t": dredge.Column(0)}
	out, err := nodeB.Inference(ctx, &dredge.InferenceParams{ModelID: m.ModelID, Inputs: in})
	if err != nil {
		panic(err)
	}
	fmt.Println(m.ModelID, "on node B:", out.Output.Data)

	epochs := 5
	_, _ = nodeA.Benchmark(ctx, &dredge.BenchmarkParams{ModelID: m.ModelID, Config: dredge.ModelConfig{Epochs: &epochs}})
	a, _ := nodeA.Inference(ctx, &dredge.InferenceParams{ModelID: m.ModelID, Inputs: in})
	b, _ := nodeB.Inference(ctx, &dredge.InferenceParams{ModelID: m.ModelID, Inputs: in})
	fmt.Println("trained on A, same answer on B:", a.Output.Data[0] == b.Output.Data[0], b.Output.Data[0] != 2)

	_, _ = nodeB.UnloadModel(ctx, &dredge.UnloadModelParams{ModelID: m.ModelID})
	_, err = nodeA.Inference(ctx, &dredge.InferenceParams{ModelID: m.ModelID, Inputs: in})
	fmt.Println("unloaded on B, on A:", dredge.CodeOf(err))
	// Output:
	// quasimoto_1d_0 on node B: [2]
	// trained on A, same answer on B: true true
	// unloaded on B, on A: not_found
}
