package httpapi

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge"
)

// The legacy answers pin what clients of the Python original read: the
// fields and JSON types its two servers answered (src/dredge/server.py and
// mcp_server.py of the reference), over GET /, /health, /lift and every
// operation through POST /mcp. Our own fields may come beside them.

// jsonKind names the JSON type of a decoded value.
func jsonKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

// lookup follows a path of object keys separated by dots.
func lookup(v any, path string) (any, bool) {
	for _, k := range strings.Split(path, ".") {
		o, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = o[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// legacyAnswer is one request and the answer's shape: fields maps a dotted
// path to its JSON type ("number|array": either), values pins values.
type legacyAnswer struct {
	name, method, target, body string
	status                     int
	fields                     map[string]string
	values                     map[string]any
}

func (a legacyAnswer) check(t *testing.T, h http.Handler) map[string]any {
	t.Helper()
	var body io.Reader
	if a.body != "" {
		body = strings.NewReader(a.body)
	}
	w := do(t, h, a.method, a.target, body, "Content-Type", "application/json")
	if w.Code != a.status {
		t.Fatalf("%s: status %d, want %d: %s", a.name, w.Code, a.status, w.Body)
	}
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q", a.name, ct)
	}
	var got map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("%s: %v: %s", a.name, err, w.Body)
	}
	for path, kinds := range a.fields {
		v, ok := lookup(got, path)
		if !ok {
			t.Errorf("%s: no field %s in %s", a.name, path, truncate(w.Body.String(), 600))
			continue
		}
		if k := jsonKind(v); !slices.Contains(strings.Split(kinds, "|"), k) {
			t.Errorf("%s: %s is a JSON %s (%v), want %s", a.name, path, k, v, kinds)
		}
	}
	for path, want := range a.values {
		if v, _ := lookup(got, path); v != want {
			t.Errorf("%s: %s = %v, want %v", a.name, path, v, want)
		}
	}
	return got
}

// mcpCall is a legacy envelope: the original answered each with HTTP 200.
func mcpCall(name, operation, params string, fields map[string]string, values map[string]any) legacyAnswer {
	body := `{"operation":"` + operation + `"}`
	if params != "" {
		body = `{"operation":"` + operation + `","params":` + params + `}`
	}
	return legacyAnswer{name: name, method: "POST", target: "/mcp", body: body, status: 200, fields: fields, values: values}
}

// failed is the shape of every failure the original answered.
var failed = map[string]string{"success": "boolean", "error": "string"}

func TestLegacyIndexHealthLift(t *testing.T) {
	h := newTestHandler(t, Config{})
	idx := legacyAnswer{name: "GET /", method: "GET", target: "/", status: 200,
		fields: map[string]string{
			// The DREDGE x Dolly server's index.
			"name": "string", "version": "string", "description": "string", "endpoints": "object",
			"endpoints./": "string", "endpoints./health": "string", "endpoints./lift": "string",
			// The MCP server's index: its capabilities.
			"protocol": "string", "capabilities.models": "array", "capabilities.operations": "array",
			"features.caching": "boolean", "features.metrics": "boolean", "features.gpu_support": "boolean",
			"features.device_info": "object", "features.device_info.optimal_device": "string",
			"features.device_info.cpu_available": "boolean", "features.device_info.cuda_available": "boolean",
			"features.device_info.mps_available": "boolean",
			// Ours.
			"routes": "array", "operations": "array",
		},
		values: map[string]any{"name": "DREDGE x Dolly", "version": dredge.Version, "success": true},
	}.check(t, h)
	ops, _ := lookup(idx, "capabilities.operations")
	for _, op := range []string{"load_model", "inference", "string_spectrum", "unified_inference"} {
		if !slices.Contains(ops.([]any), any(op)) {
			t.Errorf("GET /: capabilities.operations %v without %s", ops, op)
		}
	}

	legacyAnswer{name: "GET /health", method: "GET", target: "/health", status: 200,
		fields: map[string]string{"status": "string", "version": "string"},
		values: map[string]any{"status": "healthy", "version": dredge.Version},
	}.check(t, h)

	text := "Digital memory must be human-reachable."
	legacyAnswer{name: "POST /lift", method: "POST", target: "/lift", body: `{"insight_text":"` + text + `"}`, status: 200,
		fields: map[string]string{"id": "string", "text": "string", "lifted": "boolean", "message": "string"},
		values: map[string]any{"text": text, "lifted": true,
			"id": fmt.Sprintf("%x", sha256.Sum256([]byte(text)))},
	}.check(t, h)
	legacyAnswer{name: "POST /lift without insight_text", method: "POST", target: "/lift", body: `{}`, status: 400,
		fields: map[string]string{"error": "string"}}.check(t, h)
}

func TestLegacyMCPAnswers(t *testing.T) {
	h := newTestHandler(t, Config{})
	num, str, arr, obj, boolean := "number", "string", "array", "object", "boolean"

	caps := mcpCall("list_capabilities", "list_capabilities", "", map[string]string{
		"name": str, "version": str, "protocol": str, "capabilities.models": arr, "capabilities.operations": arr,
		"features.caching": boolean, "features.metrics": boolean, "features.gpu_support": boolean, "features.device_info": obj,
		"features.device_info.optimal_device": str, "features.device_info.cpu_available": boolean,
		"features.device_info.cuda_available": boolean, "features.device_info.mps_available": boolean,
	}, map[string]any{"name": "DREDGE Quasimoto String Theory MCP Server", "success": true,
		"features.device_info.optimal_device": "cpu", "features.device_info.cuda_available": false}).check(t, h)
	models, _ := lookup(caps, "capabilities.models")
	ops, _ := lookup(caps, "capabilities.operations")
	for _, m := range []string{"quasimoto_1d", "quasimoto_4d", "quasimoto_6d", "quasimoto_ensemble", "string_theory"} {
		if !slices.Contains(models.([]any), any(m)) {
			t.Errorf("capabilities.models %v without %s", models, m)
		}
	}
	// The original's operations, less its Dependabot helpers (not DREDGE's).
	for _, op := range []string{"load_model", "inference", "get_parameters", "benchmark", "string_spectrum",
		"string_parameters", "unified_inference", "get_metrics", "get_cache_stats"} {
		if !slices.Contains(ops.([]any), any(op)) {
			t.Errorf("capabilities.operations %v without %s", ops, op)
		}
	}

	loaded := map[string]string{"success": boolean, "model_id": str, "model_type": str, "n_parameters": num, "config": obj}
	m1 := mcpCall("load_model quasimoto_1d", "load_model", `{"model_type":"quasimoto_1d"}`, loaded,
		map[string]any{"success": true, "model_type": "quasimoto_1d", "n_parameters": 8.0}).check(t, h)
	id := m1["model_id"].(string)
	mcpCall("load_model quasimoto_ensemble", "load_model", `{"model_type":"quasimoto_ensemble","config":{"n_waves":8}}`, loaded,
		map[string]any{"model_type": "quasimoto_ensemble", "config.n_waves": 8.0}).check(t, h)
	mcpCall("load_model string_theory", "load_model", `{"model_type":"string_theory","config":{"dimensions":10,"hidden_size":64}}`,
		map[string]string{"success": boolean, "model_id": str, "dimensions": num, "hidden_size": num, "num_layers": num,
			"n_parameters": num, "device": str, "config": obj, "device_info.device": str, "device_info.cuda_available": boolean,
			"device_info.mps_available": boolean, "device_info.num_layers": num, "device_info.use_batch_norm": boolean},
		map[string]any{"success": true, "dimensions": 10.0, "hidden_size": 64.0, "num_layers": 2.0, "device": "cpu"}).check(t, h)

	mcpCall("inference", "inference", `{"model_id":"`+id+`","inputs":{"x":[0.5],"t":[0.0]}}`,
		map[string]string{"success": boolean, "model_id": str, "output": arr}, map[string]any{"success": true, "model_id": id}).check(t, h)
	mcpCall("get_parameters", "get_parameters", `{"model_id":"`+id+`"}`,
		map[string]string{"success": boolean, "model_id": str, "model_type": str, "n_parameters": num, "parameters": obj,
			// The original sent one-element tensors' values as numbers.
			"parameters.A.value": "number|array", "parameters.A.shape": arr, "parameters.A.requires_grad": boolean},
		map[string]any{"success": true, "model_id": id, "model_type": "quasimoto_1d", "n_parameters": 8.0}).check(t, h)
	b := mcpCall("benchmark", "benchmark", `{"model_type":"quasimoto_1d","config":{"epochs":10}}`,
		map[string]string{"success": boolean, "model_type": str, "epochs": num, "final_loss": num, "initial_loss": num,
			"losses": arr, "device": str},
		map[string]any{"success": true, "model_type": "quasimoto_1d", "epochs": 10.0, "device": "cpu"}).check(t, h)
	if !(b["final_loss"].(float64) < b["initial_loss"].(float64)) {
		t.Errorf("benchmark: final_loss %v not below initial_loss %v", b["final_loss"], b["initial_loss"])
	}
	mcpCall("string_spectrum", "string_spectrum", `{"max_modes":10,"dimensions":10}`,
		map[string]string{"success": boolean, "dimensions": num, "max_modes": num, "energy_spectrum": arr, "cached": boolean},
		map[string]any{"success": true, "dimensions": 10.0, "max_modes": 10.0}).check(t, h)
	mcpCall("string_parameters", "string_parameters", `{"energy_scale":1.0,"coupling_constant":0.1}`,
		map[string]string{"success": boolean, "parameters.string_length": num, "parameters.string_tension": num,
			"parameters.coupling_constant": num, "parameters.energy_scale": num, "parameters.planck_length": num},
		map[string]any{"success": true, "parameters.coupling_constant": 0.1}).check(t, h)
	unified := mcpCall("unified_inference", "unified_inference", `{"dredge_insight":"Test insight","quasimoto_coords":[0.5,0.5],"string_modes":[1,2,3]}`,
		map[string]string{"success": boolean, "dredge_insight": str, "quasimoto_coordinates": arr, "string_modes": arr,
			"coupled_amplitude": num, "unified_field.x_coordinates": arr, "unified_field.field_amplitudes": arr,
			"unified_field.dimensions": num, "device": str, "cached": boolean},
		map[string]any{"success": true, "dredge_insight": "Test insight", "cached": false})
	for _, cached := range []bool{false, true} { // computed, then from the cache
		unified.values["cached"] = cached
		u := unified.check(t, h)
		if c := u["quasimoto_coordinates"].([]any); len(c) != 2 || c[0] != 0.5 || c[1] != 0.5 {
			t.Errorf("unified_inference: quasimoto_coordinates %v, want [0.5 0.5]", c)
		}
	}
	mcpCall("get_metrics", "get_metrics", "",
		map[string]string{"success": boolean, "metrics.counters": obj, "metrics.gauges": obj, "metrics.histograms": obj, "metrics.timers": obj},
		map[string]any{"success": true}).check(t, h)
	cs := mcpCall("get_cache_stats", "get_cache_stats", "",
		map[string]string{"success": boolean, "cache_stats": obj, "cache_stats.backend_type": str, "cache_stats.default_ttl": num,
			"cache_stats.total_entries": num},
		map[string]any{"success": true}).check(t, h)
	if total, _ := lookup(cs, "cache_stats.total_entries"); total.(float64) < 1 || total != cs["cache_stats"].(map[string]any)["entries"] {
		t.Errorf("get_cache_stats: total_entries %v, want entries, at least 1: %v", total, cs["cache_stats"])
	}

	// Failures: HTTP 200, success false and an error message.
	for _, f := range []struct{ name, op, params string }{
		{"unknown operation", "no_such_operation", `{}`},
		{"load_model unknown type", "load_model", `{"model_type":"invalid_model"}`},
		{"inference unknown model", "inference", `{"model_id":"nonexistent","inputs":{"x":[0.0],"t":[0.0]}}`},
		{"get_parameters unknown model", "get_parameters", `{"model_id":"nonexistent"}`},
		{"benchmark unknown type", "benchmark", `{"model_type":"invalid_model"}`},
		{"string_spectrum bad max_modes", "string_spectrum", `{"max_modes":-1}`},
		{"string_parameters bad coupling", "string_parameters", `{"coupling_constant":-1}`},
		{"unified_inference bad modes", "unified_inference", `{"string_modes":[0]}`},
	} {
		mcpCall(f.name, f.op, f.params, failed, map[string]any{"success": false}).check(t, h)
	}
}
