package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"

	"github.com/dredge-cli/dredge"
)

func main() {
	eng, err := dredge.New(dredge.FromEnv())
	if err != nil {
		log.Fatal(err)
	}
	defer eng.Close()
	ctx := context.Background()

	maxModes := 5
	spec, err := eng.StringSpectrum(ctx, &dredge.SpectrumParams{MaxModes: &maxModes})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("energy spectrum (%d modes, %d dimensions): %v\n", spec.MaxModes, spec.Dimensions, spec.EnergySpectrum)

	n := 8
	m, err := eng.LoadModel(ctx, &dredge.LoadModelParams{ModelType: "quasimoto_ensemble", Config: dredge.ModelConfig{NWaves: &n}})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("loaded %s: %s with %d parameters\n", m.ModelID, m.ModelType, m.NParameters)

	inf, err := eng.Inference(ctx, &dredge.InferenceParams{
		ModelID: m.ModelID,
		Inputs: dredge.Inputs{
			"x": dredge.Column(-1, -0.5, 0, 0.5, 1),
			"t": dredge.Column(0, 0, 0, 0, 0),
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("inference at x = -1 … 1: %.6f\n", inf.Output.Data)

	// The same operations through the operation table, as every adapter calls them.
	body, code := eng.CallJSON(ctx, "unified_inference", json.RawMessage(`{"dredge_insight": "strings vibrate", "quasimoto_coords": [0.25, 0.75]}`))
	var u struct {
		CoupledAmplitude float64 `json:"coupled_amplitude"`
		Device           string  `json:"device"`
	}
	if err := json.Unmarshal(body, &u); err != nil || code != dredge.CodeOK {
		fmt.Fprintf(os.Stderr, "unified_inference failed: %s\n", body)
		os.Exit(1)
	}
	fmt.Printf("unified inference: coupled amplitude %.4f on %s\n", u.CoupledAmplitude, u.Device)

	caps, _ := eng.Capabilities(ctx)
	fmt.Printf("device: %s (%s)\n", caps.Features.DeviceInfo.Name, caps.Features.DeviceInfo.Reason)
}
