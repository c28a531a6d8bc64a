package dredge_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/dredge-cli/dredge"
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
