package dredge_test

import (
	"context"
	"testing"

	"github.com/dredge-cli/dredge"
)

// The original answered a string_theory load_model with dimensions (and
// the model's shape) at the top level, beside config; other model types
// carry no such fields.
func TestLoadModelTopLevelShape(t *testing.T) {
	e := newEngine(t, dredge.WithStringNNDefaults(dredge.StringNNDefaults{NumLayers: 3}))
	m, code := call(t, e, "load_model", `{"model_type":"string_theory","config":{"hidden_size":8,"use_batch_norm":true}}`)
	if code != dredge.CodeOK {
		t.Fatalf("load_model: %v", m)
	}
	for k, want := range map[string]any{"dimensions": 10.0, "hidden_size": 8.0, "num_layers": 3.0, "device": "cpu"} {
		if m[k] != want {
			t.Errorf("%s = %v (%T), want %v", k, m[k], m[k], want)
		}
	}
	di, _ := m["device_info"].(map[string]any)
	for k, want := range map[string]any{"device": "cpu", "cuda_available": false, "mps_available": false, "num_layers": 3.0, "use_batch_norm": true} {
		if di[k] != want {
			t.Errorf("device_info.%s = %v, want %v", k, di[k], want)
		}
	}
	if c := m["config"].(map[string]any); c["dimensions"] != 10.0 || c["hidden_size"] != 8.0 {
		t.Errorf("config %v", c)
	}

	m, code = call(t, e, "load_model", `{"model_type":"quasimoto_1d"}`)
	if code != dredge.CodeOK || m["device"] != "cpu" {
		t.Fatalf("load_model quasimoto_1d: %v", m)
	}
	for _, k := range []string{"dimensions", "hidden_size", "num_layers", "device_info"} {
		if v, ok := m[k]; ok {
			t.Errorf("quasimoto_1d answers %s = %v; only string_theory does", k, v)
		}
	}

	dims := 4
	r, err := e.LoadModel(context.Background(), &dredge.LoadModelParams{ModelType: "string_theory", Config: dredge.ModelConfig{Dimensions: &dims}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Dimensions != 4 || r.HiddenSize != 64 || r.NumLayers != 3 || r.Device != "cpu" {
		t.Errorf("typed LoadModel: %+v", r)
	}
}
