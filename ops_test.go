package dredge_test

import (
	"context"
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/internal/testengine"
)

var newEngine = testengine.New

type response struct {
	Success bool   `json:"success"`
	Error   string `json:"error"`
	Code    string `json:"code"`
	Field   string `json:"field"`
}

func call(t *testing.T, e *dredge.Engine, op, params string) (map[string]any, dredge.Code) {
	t.Helper()
	body, code := e.CallJSON(context.Background(), op, json.RawMessage(params))
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("%s(%s): invalid JSON response %q: %v", op, params, body, err)
	}
	return m, code
}

func loadModel(t *testing.T, e *dredge.Engine, params string) string {
	t.Helper()
	m, code := call(t, e, "load_model", params)
	if code != dredge.CodeOK {
		t.Fatalf("load_model(%s): %v", params, m)
	}
	return m["model_id"].(string)
}

func TestMalformedRequests(t *testing.T) {
	e := newEngine(t)
	ens := loadModel(t, e, `{"model_type":"quasimoto_ensemble","config":{"n_waves":4}}`)
	w4 := loadModel(t, e, `{"model_type":"quasimoto_4d"}`)
	nn := loadModel(t, e, `{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":4}}`)
	ib := loadModel(t, e, `{"model_type":"interference_basis","config":{"dim":2}}`)
	cases := []struct {
		name, op, params string
		code             dredge.Code
		field            string // substring the error's field and message must contain
	}{
		{"unknown operation", "frobnicate", `{}`, dredge.CodeNotFound, "operation"},
		{"empty operation", "", `{}`, dredge.CodeInvalidArgument, "operation"},
		{"params not an object", "string_spectrum", `[1,2]`, dredge.CodeInvalidArgument, "params"},
		{"params a string", "string_spectrum", `"x"`, dredge.CodeInvalidArgument, "params"},
		{"truncated JSON", "string_spectrum", `{"max_modes": 3`, dredge.CodeInvalidArgument, "params"},
		{"max_modes string", "string_spectrum", `{"max_modes":"ten"}`, dredge.CodeInvalidArgument, "max_modes"},
		{"max_modes float", "string_spectrum", `{"max_modes":2.5}`, dredge.CodeInvalidArgument, "max_modes"},
		{"max_modes zero", "string_spectrum", `{"max_modes":0}`, dredge.CodeInvalidArgument, "max_modes"},
		{"max_modes negative", "string_spectrum", `{"max_modes":-4}`, dredge.CodeInvalidArgument, "max_modes"},
		{"max_modes absurd", "string_spectrum", `{"max_modes":1000000000}`, dredge.CodeInvalidArgument, "max_modes"},
		{"max_modes overflow", "string_spectrum", `{"max_modes":1e400}`, dredge.CodeInvalidArgument, "max_modes"},
		{"dimensions bool", "string_spectrum", `{"dimensions":true}`, dredge.CodeInvalidArgument, "dimensions"},
		{"coupling zero", "string_parameters", `{"coupling_constant":0}`, dredge.CodeInvalidArgument, "coupling_constant"},
		{"coupling negative", "string_parameters", `{"coupling_constant":-1}`, dredge.CodeInvalidArgument, "coupling_constant"},
		{"energy_scale string", "string_parameters", `{"energy_scale":"NaN"}`, dredge.CodeInvalidArgument, "energy_scale"},
		{"energy_scale negative", "string_parameters", `{"energy_scale":-1}`, dredge.CodeInvalidArgument, "energy_scale"},
		{"energy_scale zero", "string_parameters", `{"energy_scale":0}`, dredge.CodeInvalidArgument, "energy_scale"},
		{"coords overflowing the amplitude", "unified_inference", `{"quasimoto_coords":[1e308]}`, dredge.CodeInvalidArgument, "quasimoto_coords"},
		{"energy_scale Infinity literal", "string_parameters", `{"energy_scale":Infinity}`, dredge.CodeInvalidArgument, "params"},
		{"energy_scale NaN literal", "string_parameters", `{"energy_scale":NaN}`, dredge.CodeInvalidArgument, "params"},
		{"mode zero", "unified_inference", `{"string_modes":[1,0,3]}`, dredge.CodeInvalidArgument, "string_modes[1]"},
		{"mode negative", "unified_inference", `{"string_modes":[-2]}`, dredge.CodeInvalidArgument, "string_modes[0]"},
		{"mode huge", "unified_inference", `{"string_modes":[100000000]}`, dredge.CodeInvalidArgument, "string_modes[0]"},
		{"modes not array", "unified_inference", `{"string_modes":3}`, dredge.CodeInvalidArgument, "string_modes"},
		{"coords strings", "unified_inference", `{"quasimoto_coords":["a"]}`, dredge.CodeInvalidArgument, "quasimoto_coords"},
		{"coords overflow", "unified_inference", `{"quasimoto_coords":[1e999]}`, dredge.CodeInvalidArgument, "quasimoto_coords"},
		{"insight number", "unified_inference", `{"dredge_insight":5}`, dredge.CodeInvalidArgument, "dredge_insight"},
		{"unknown model type", "load_model", `{"model_type":"transformer"}`, dredge.CodeNotFound, "model_type"},
		{"missing model type", "load_model", `{}`, dredge.CodeInvalidArgument, "model_type"},
		{"n_waves zero", "load_model", `{"model_type":"quasimoto_ensemble","config":{"n_waves":0}}`, dredge.CodeInvalidArgument, "config.n_waves"},
		{"n_waves absurd", "load_model", `{"model_type":"quasimoto_ensemble","config":{"n_waves":100000}}`, dredge.CodeInvalidArgument, "config.n_waves"},
		{"num_layers 0", "load_model", `{"model_type":"string_theory","config":{"num_layers":0}}`, dredge.CodeInvalidArgument, "config.num_layers"},
		{"num_layers 11", "load_model", `{"model_type":"string_theory","config":{"num_layers":11}}`, dredge.CodeInvalidArgument, "config.num_layers"},
		{"hidden_size absurd", "load_model", `{"model_type":"string_theory","config":{"hidden_size":99999999}}`, dredge.CodeInvalidArgument, "config.hidden_size"},
		{"hidden_size string", "load_model", `{"model_type":"string_theory","config":{"hidden_size":"64"}}`, dredge.CodeInvalidArgument, "config.hidden_size"},
		{"config not object", "load_model", `{"model_type":"siren","config":[1]}`, dredge.CodeInvalidArgument, "config"},
		{"restore unknown parameter", "load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"B":[1]}}}`, dredge.CodeInvalidArgument, "parameters.B"},
		{"restore wrong size", "load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"A":[1,2]}}}`, dredge.CodeInvalidArgument, "parameters.A"},
		{"restore strings", "load_model", `{"model_type":"quasimoto_1d","config":{"parameters":{"A":["x"]}}}`, dredge.CodeInvalidArgument, "parameters"},
		{"sigma negative", "load_model", `{"model_type":"rff","config":{"sigma":-1}}`, dredge.CodeInvalidArgument, "config.sigma"},
		{"unknown model id", "inference", `{"model_id":"nope_7","inputs":{"x":[1],"t":[0]}}`, dredge.CodeNotFound, "model_id"},
		{"missing model id", "inference", `{"inputs":{"x":[1]}}`, dredge.CodeInvalidArgument, "model_id"},
		{"missing inputs", "inference", `{"model_id":"` + ens + `"}`, dredge.CodeInvalidArgument, "inputs"},
		{"missing t", "inference", `{"model_id":"` + ens + `","inputs":{"x":[1,2]}}`, dredge.CodeInvalidArgument, "inputs.t"},
		{"mismatched lengths", "inference", `{"model_id":"` + ens + `","inputs":{"x":[1,2,3],"t":[0,0]}}`, dredge.CodeInvalidArgument, "inputs.t"},
		{"4d mismatched", "inference", `{"model_id":"` + w4 + `","inputs":{"x":[1],"y":[1,2],"z":[1],"t":[0]}}`, dredge.CodeInvalidArgument, "inputs.y"},
		{"input string element", "inference", `{"model_id":"` + ens + `","inputs":{"x":[1,"a"],"t":[0,0]}}`, dredge.CodeInvalidArgument, "inputs.x[1]"},
		{"input null element", "inference", `{"model_id":"` + ens + `","inputs":{"x":[null],"t":[0]}}`, dredge.CodeInvalidArgument, "inputs.x[0]"},
		{"input overflow", "inference", `{"model_id":"` + ens + `","inputs":{"x":[1e999],"t":[0]}}`, dredge.CodeInvalidArgument, "inputs.x[0]"},
		{"unknown input", "inference", `{"model_id":"` + ens + `","inputs":{"x":[1],"t":[0],"q":[1]}}`, dredge.CodeInvalidArgument, "inputs.q"},
		{"empty inputs", "inference", `{"model_id":"` + ens + `","inputs":{"x":[],"t":[]}}`, dredge.CodeInvalidArgument, "inputs"},
		{"mlp wrong width", "inference", `{"model_id":"` + nn + `","inputs":{"x":[[1,2],[3,4]]}}`, dredge.CodeInvalidArgument, "inputs.x"},
		{"mlp ragged rows", "inference", `{"model_id":"` + nn + `","inputs":{"x":[[1,2,3],[3,4]]}}`, dredge.CodeInvalidArgument, "inputs.x[1]"},
		{"interference wrong width", "inference", `{"model_id":"` + ib + `","inputs":{"x":[[1,2,3]],"t":[0]}}`, dredge.CodeInvalidArgument, "inputs.x"},
		{"inputs a number", "inference", `{"model_id":"` + ens + `","inputs":5}`, dredge.CodeInvalidArgument, "inputs"},
		{"get_parameters unknown", "get_parameters", `{"model_id":"siren_99"}`, dredge.CodeNotFound, "model_id"},
		{"get_parameters id number", "get_parameters", `{"model_id":3}`, dredge.CodeInvalidArgument, "model_id"},
		{"lift missing text", "lift", `{}`, dredge.CodeInvalidArgument, "insight_text"},
		{"lift text number", "lift", `{"insight_text":42}`, dredge.CodeInvalidArgument, "insight_text"},
		{"lift null text", "lift", `{"insight_text":null}`, dredge.CodeInvalidArgument, "insight_text"},
		{"benchmark unknown type", "benchmark", `{"model_type":"gpt"}`, dredge.CodeNotFound, "model_type"},
		{"benchmark epochs zero", "benchmark", `{"model_type":"quasimoto_1d","config":{"epochs":0}}`, dredge.CodeInvalidArgument, "config.epochs"},
		{"benchmark lr NaN-ish", "benchmark", `{"model_type":"quasimoto_1d","config":{"learning_rate":-0.1}}`, dredge.CodeInvalidArgument, "config.learning_rate"},
	}
	if len(cases) < 30 {
		t.Fatalf("only %d cases", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body, code := e.CallJSON(context.Background(), c.op, json.RawMessage(c.params))
			var r response
			if err := json.Unmarshal(body, &r); err != nil {
				t.Fatalf("invalid JSON %q", body)
			}
			if code != c.code || r.Code != string(c.code) || r.Success {
				t.Fatalf("got code %q (body %s), want %q", code, body, c.code)
			}
			if !strings.Contains(r.Field, c.field) && !strings.Contains(r.Error, c.field) {
				t.Errorf("error %q (field %q) does not name %q", r.Error, r.Field, c.field)
			}
			if !strings.Contains(r.Error, r.Field) {
				t.Errorf("message %q does not name its field %q", r.Error, r.Field)
			}
		})
	}
	// State is intact: the models still answer.
	if _, code := call(t, e, "inference", `{"model_id":"`+ens+`","inputs":{"x":[1,2],"t":[0,0]}}`); code != dredge.CodeOK {
		t.Fatal("model broken after malformed requests")
	}
}

func TestOperationsRoundTrip(t *testing.T) {
	e := newEngine(t)
	caps, code := call(t, e, "list_capabilities", ``)
	if code != "" || caps["name"] != "DREDGE Quasimoto String Theory MCP Server" {
		t.Fatalf("list_capabilities: %v", caps)
	}
	ops := caps["capabilities"].(map[string]any)["operations"].([]any)
	if len(ops) != 13 {
		t.Errorf("%d operations listed, want 13: %v", len(ops), ops)
	}
	dev := caps["features"].(map[string]any)["device_info"].(map[string]any)
	if dev["kind"] != "cpu" || dev["reason"] == "" {
		t.Errorf("device_info %v", dev)
	}

	spec, _ := call(t, e, "string_spectrum", `{"max_modes":3}`)
	if got := spec["energy_spectrum"].([]any); len(got) != 3 || got[2].(float64) != 1.5 {
		t.Errorf("spectrum %v", spec)
	}
	sp, _ := call(t, e, "string_parameters", `{}`)
	if sp["parameters"].(map[string]any)["coupling_constant"].(float64) != 0.1 {
		t.Errorf("string_parameters %v", sp)
	}
	u, _ := call(t, e, "unified_inference", `{"dredge_insight":"hi"}`)
	if u["coupled_amplitude"].(float64) != 1.5 || u["dredge_insight"] != "hi" || u["device"] != "cpu" {
		t.Errorf("unified_inference %v", u)
	}
	f := u["unified_field"].(map[string]any)
	if len(f["field_amplitudes"].([]any)) != 100 || f["dimensions"].(float64) != 10 {
		t.Errorf("unified field %v", f)
	}
	lift, _ := call(t, e, "lift", `{"insight_text":"abc"}`)
	if lift["id"] != "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" {
		t.Errorf("lift id %v", lift["id"])
	}

	// Every model type loads, runs, and round-trips its parameters.
	inputs := map[string]string{
		"quasimoto_1d": `{"x":[0.1,0.2],"t":[0,1]}`, "quasimoto_ensemble": `{"x":[0.1,0.2],"t":[0,1]}`,
		"quasimoto_4d": `{"x":[0.1,0.2],"y":[0,1],"z":[1,1],"t":[0,1]}`, "quasimoto_ensemble_4d": `{"x":[0.1,0.2],"y":[0,1],"z":[1,1],"t":[0,1]}`,
		"quasimoto_6d": `{"x1":[1,2],"x2":[1,2],"x3":[1,2],"x4":[1,2],"x5":[1,2],"t":[0,0]}`, "quasimoto_ensemble_6d": `{"x1":[1,2],"x2":[1,2],"x3":[1,2],"x4":[1,2],"x5":[1,2],"t":[0,0]}`,
		"interference_basis": `{"x":[0.1,0.2],"t":[0,1]}`, "siren": `{"x":[[0.1],[0.2]]}`, "rff": `{"x":[0.1,0.2]}`,
		"string_theory": `[[1,2,3,4,5,6,7,8,9,10],[0,0,0,0,0,0,0,0,0,1]]`,
	}
	for typ, in := range inputs {
		id := loadModel(t, e, `{"model_type":"`+typ+`"}`)
		out, code := call(t, e, "inference", `{"model_id":"`+id+`","inputs":`+in+`}`)
		if code != "" || len(out["output"].([]any)) != 2 {
			t.Errorf("%s inference: %v", typ, out)
			continue
		}
		params, _ := call(t, e, "get_parameters", `{"model_id":"`+id+`"}`)
		pb, _ := json.Marshal(params["parameters"])
		id2 := loadModel(t, e, `{"model_type":"`+typ+`","config":{"seed":99,"parameters":`+string(pb)+`}}`)
		out2, _ := call(t, e, "inference", `{"model_id":"`+id2+`","inputs":`+in+`}`)
		a, _ := json.Marshal(out["output"])
		b, _ := json.Marshal(out2["output"])
		if string(a) != string(b) {
			t.Errorf("%s: restored model answers %s, original %s", typ, b, a)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	e := newEngine(t)
	id := loadModel(t, e, `{"model_type":"quasimoto_ensemble"}`)
	ctx := context.Background()
	calls := []struct{ op, params string }{
		{"inference", `{"model_id":"` + id + `","inputs":{"x":[1,2,3],"t":[0,0,0]}}`},
		{"load_model", `{"model_type":"quasimoto_1d"}`},
		{"get_parameters", `{"model_id":"` + id + `"}`},
		{"unified_inference", ``},
	}
	// The answers of one goroutine, except what differs between calls
	// (cached, a new model's id).
	want := make([]map[string]any, len(calls))
	for i, c := range calls {
		want[i], _ = call(t, e, c.op, c.params)
		delete(want[i], "cached")
		delete(want[i], "model_id")
	}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				c := calls[i%len(calls)]
				body, code := e.CallJSON(ctx, c.op, json.RawMessage(c.params))
				var got map[string]any
				if err := json.Unmarshal(body, &got); err != nil || code != dredge.CodeOK {
					t.Errorf("%s: %s (%v)", c.op, body, err)
					return
				}
				delete(got, "cached")
				delete(got, "model_id")
				if !reflect.DeepEqual(got, want[i%len(calls)]) {
					t.Errorf("%s answered %v, alone %v", c.op, got, want[i%len(calls)])
					return
				}
			}
		}()
	}
	wg.Wait()
	// Two models before, and 13 load_model calls (i = 1, 5, …, 49) by each
	// goroutine.
	ms, err := e.ListModels(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ms.Models) != 2+8*13 {
		t.Errorf("%d models loaded, want %d", len(ms.Models), 2+8*13)
	}
}

func TestClose(t *testing.T) {
	e, err := dredge.New()
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	if _, code := e.CallJSON(context.Background(), "string_spectrum", nil); code != dredge.CodeUnavailable {
		t.Errorf("after Close: code %q", code)
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv("DEVICE", "cuda")
	t.Setenv("STRING_NN_LAYERS", "3")
	t.Setenv("STRING_NN_HIDDEN", "7")
	t.Setenv("STRING_NN_BATCH_NORM", "true")
	e, err := dredge.New(dredge.FromEnv())
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	info := e.Device().Info()
	if info.Kind != "cpu" || !strings.Contains(info.Reason, "cuda") {
		t.Errorf("DEVICE=cuda without CUDA: %+v", info)
	}
	r, err := e.LoadModel(context.Background(), &dredge.LoadModelParams{ModelType: "string_theory"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Config["num_layers"] != 3 || r.Config["hidden_size"] != 7 || r.Config["use_batch_norm"] != true {
		t.Errorf("config %v", r.Config)
	}
	for _, bad := range []struct{ k, v string }{{"DEVICE", "tpu"}, {"STRING_NN_LAYERS", "11"}, {"STRING_NN_LAYERS", "x"}, {"STRING_NN_HIDDEN", "0"}, {"STRING_NN_BATCH_NORM", "maybe"}} {
		t.Run(bad.k+"="+bad.v, func(t *testing.T) {
			t.Setenv(bad.k, bad.v)
			_, err := dredge.New(dredge.FromEnv())
			if err == nil || !strings.Contains(err.Error(), bad.k) {
				t.Errorf("err = %v, want one naming %s", err, bad.k)
			}
		})
	}
}

func FuzzCall(f *testing.F) {
	e, err := dredge.New(dredge.WithDeviceKind("cpu"), dredge.WithMaxModels(64))
	if err != nil {
		f.Fatal(err)
	}
	defer e.Close()
	e.CallJSON(context.Background(), "load_model", json.RawMessage(`{"model_type":"quasimoto_ensemble","config":{"n_waves":2}}`))
	e.CallJSON(context.Background(), "load_model", json.RawMessage(`{"model_type":"string_theory","config":{"dimensions":2,"hidden_size":2,"num_layers":1}}`))
	seeds := []struct{ op, params string }{
		{"string_spectrum", `{"max_modes":5}`},
		{"unified_inference", `{"dredge_insight":"x","quasimoto_coords":[0.1],"string_modes":[1,2]}`},
		{"inference", `{"model_id":"quasimoto_ensemble_0","inputs":{"x":[1,2],"t":[0,1]}}`},
		{"inference", `{"model_id":"string_theory_0","inputs":[[1,2],[3,4]]}`},
		{"load_model", `{"model_type":"rff","config":{"num_features":3,"parameters":{"linear.bias":[1]}}}`},
		{"get_parameters", `{"model_id":"quasimoto_ensemble_0"}`},
		{"string_parameters", `{"energy_scale":2,"coupling_constant":0.5}`},
		{"lift", `{"insight_text":"abc"}`},
		{"list_capabilities", ``},
	}
	for _, s := range seeds {
		f.Add(s.op, []byte(s.params))
	}
	f.Fuzz(func(t *testing.T, op string, params []byte) {
		if op == "benchmark" {
			return // training is slow; its validation is covered by the table test
		}
		body, code := e.CallJSON(context.Background(), op, params)
		var r response
		if err := json.Unmarshal(body, &r); err != nil {
			t.Fatalf("invalid JSON response %q", body)
		}
		switch code {
		case dredge.CodeOK:
			if !r.Success {
				t.Fatalf("code OK without success: %s", body)
			}
		case dredge.CodeInvalidArgument, dredge.CodeNotFound, dredge.CodeUnavailable:
			if r.Success || r.Error == "" {
				t.Fatalf("failure without error: %s", body)
			}
		default:
			t.Fatalf("%s(%q): unexpected code %q: %s", op, params, code, body)
		}
	})
}

func TestCaching(t *testing.T) {
	e := newEngine(t)
	params := `{"dredge_insight":"cache me","quasimoto_coords":[0.25]}`
	first, _ := call(t, e, "unified_inference", params)
	second, _ := call(t, e, "unified_inference", params)
	// The same request written differently hits the canonical key.
	third, _ := call(t, e, "unified_inference", `{ "quasimoto_coords": [0.25], "dredge_insight": "cache me", "string_modes": [1,2,3] }`)
	if first["cached"] != false || second["cached"] != true || third["cached"] != true {
		t.Fatalf("cached flags %v %v %v", first["cached"], second["cached"], third["cached"])
	}
	if first["coupled_amplitude"] != second["coupled_amplitude"] {
		t.Error("cached result differs")
	}
	if r, _ := call(t, e, "unified_inference", `{"dredge_insight":"other"}`); r["cached"] != false {
		t.Error("a different insight hit the cache")
	}
	spec1, _ := call(t, e, "string_spectrum", `{"max_modes":4}`)
	spec2, _ := call(t, e, "string_spectrum", `{"max_modes":4,"dimensions":10}`)
	if spec1["cached"] != false || spec2["cached"] != true {
		t.Errorf("spectrum cached flags %v %v", spec1["cached"], spec2["cached"])
	}

	id := loadModel(t, e, `{"model_type":"quasimoto_1d"}`)
	in := `{"model_id":"` + id + `","inputs":{"x":[0.5,1],"t":[0,0]}}`
	a, _ := call(t, e, "inference", in)
	b, _ := call(t, e, "inference", in)
	if a["cached"] != false || b["cached"] != true {
		t.Fatalf("inference cached flags %v %v", a["cached"], b["cached"])
	}
	// Training changes the parameters: the cached inference is not served.
	if r, code := call(t, e, "benchmark", `{"model_id":"`+id+`","config":{"epochs":3}}`); code != "" {
		t.Fatalf("benchmark: %v", r)
	}
	c, _ := call(t, e, "inference", in)
	if c["cached"] != false {
		t.Fatal("stale inference served from the cache after training")
	}
	ao, _ := json.Marshal(a["output"])
	co, _ := json.Marshal(c["output"])
	if string(ao) == string(co) {
		t.Error("training did not change the model's output")
	}

	stats, _ := call(t, e, "get_cache_stats", ``)
	cs := stats["cache_stats"].(map[string]any)
	if cs["backend_type"] != "memory" || cs["hits"].(float64) != 4 || cs["misses"].(float64) != 5 {
		t.Errorf("cache stats %v", cs)
	}

	// Without a cache nothing is cached.
	nc := newEngine(t, dredge.WithCache(nil))
	call(t, nc, "unified_inference", params)
	if r, _ := call(t, nc, "unified_inference", params); r["cached"] != false {
		t.Error("cached without a cache")
	}
	if r, _ := call(t, nc, "get_cache_stats", ``); r["cache_stats"].(map[string]any)["backend_type"] != "none" {
		t.Errorf("stats without cache: %v", r)
	}
}

func TestMetricsCountOperations(t *testing.T) {
	e := newEngine(t)
	for i := 0; i < 3; i++ {
		call(t, e, "string_spectrum", `{"max_modes":3}`)
	}
	call(t, e, "string_spectrum", `{"max_modes":0}`)
	call(t, e, "unified_inference", `{}`)
	call(t, e, "unified_inference", `{"string_modes":[0]}`)
	call(t, e, "load_model", `{"model_type":"siren"}`)
	m, _ := call(t, e, "get_metrics", ``)
	counters := m["metrics"].(map[string]any)["counters"].(map[string]any)
	want := map[string]float64{
		"dredge_operations_total{operation=string_spectrum,outcome=success}":            3,
		"dredge_operations_total{operation=string_spectrum,outcome=invalid_argument}":   1,
		"dredge_operations_total{operation=unified_inference,outcome=success}":          1,
		"dredge_operations_total{operation=unified_inference,outcome=invalid_argument}": 1,
		"dredge_operations_total{operation=load_model,outcome=success}":                 1,
		"dredge_cache_hits_total{backend=memory}":                                       2,
		"dredge_cache_misses_total{backend=memory}":                                     2,
	}
	for k, v := range want {
		if got, ok := counters[k].(float64); !ok || got != v {
			t.Errorf("%s = %v, want %v", k, counters[k], v)
		}
	}
	gauges := m["metrics"].(map[string]any)["gauges"].(map[string]any)
	if gauges["dredge_models_loaded"] != 1.0 {
		t.Errorf("models loaded gauge %v", gauges["dredge_models_loaded"])
	}
	timers := m["metrics"].(map[string]any)["timers"].(map[string]any)
	tm, ok := timers["dredge_operation_duration_seconds{operation=string_spectrum}"].(map[string]any)
	if !ok || tm["count"].(float64) != 4 {
		t.Errorf("string_spectrum timer %v (timers %v)", tm, timers)
	}
}
