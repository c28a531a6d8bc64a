package dredge_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
)

// TestEngineDeadlines checks that the Engine itself gives calls their
// deadlines, with no deadline from the caller: REQUEST_TIMEOUT for an
// ordinary operation, LONG_REQUEST_TIMEOUT for training, which stops within
// an epoch or so of it.
func TestEngineDeadlines(t *testing.T) {
	const d = 300 * time.Millisecond
	e := newEngine(t, dredge.WithTimeouts(d, 2*d))
	id := loadModel(t, e, `{"model_type":"string_theory","config":{"hidden_size":1024,"num_layers":4}}`)
	x := make([]float64, 20_000*10) // about 15 s of work
	for i := range x {
		x[i] = float64(i%19)/19 - 0.5
	}
	params, _ := json.Marshal(dredge.InferenceParams{ModelID: id, Inputs: dredge.Inputs{"x": {Data: x, Width: 10}}})
	start := time.Now()
	body, code := e.CallJSON(context.Background(), "inference", params)
	if took := time.Since(start); code != dredge.CodeUnavailable || !strings.Contains(string(body), "deadline") || took > d+2*time.Second {
		t.Errorf("inference with the Engine's %v deadline: %s %s after %v", d, code, body, took)
	}

	siren := loadModel(t, e, `{"model_type":"siren"}`)
	start = time.Now()
	body, code = e.CallJSON(context.Background(), "benchmark", json.RawMessage(`{"model_id":"`+siren+`","config":{"epochs":50000}}`))
	if took := time.Since(start); code != dredge.CodeUnavailable || took < 2*d || took > 2*d+2*time.Second {
		t.Errorf("training with the Engine's long deadline %v: %s %s after %v", 2*d, code, body, took)
	}

	// Of the caller's deadline and the Engine's, the earlier holds.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start = time.Now()
	if _, code := e.CallJSON(ctx, "inference", params); code != dredge.CodeUnavailable || time.Since(start) > d+2*time.Second {
		t.Errorf("a caller's later deadline: %s after %v", code, time.Since(start))
	}
	// Without deadlines nothing stops.
	free := newEngine(t, dredge.WithTimeouts(-1, -1))
	small := loadModel(t, free, `{"model_type":"quasimoto_1d"}`)
	if _, code := free.CallJSON(context.Background(), "benchmark", json.RawMessage(`{"model_id":"`+small+`","config":{"epochs":3}}`)); code != dredge.CodeOK {
		t.Errorf("training without deadlines: %s", code)
	}
}

func TestTimeoutsFromEnv(t *testing.T) {
	for _, c := range []struct{ name, value, field string }{
		{"REQUEST_TIMEOUT", "soon", "REQUEST_TIMEOUT"},
		{"LONG_REQUEST_TIMEOUT", "-1", "LONG_REQUEST_TIMEOUT"},
		{"REQUEST_TIMEOUT", "1e300", "REQUEST_TIMEOUT"},
		{"REQUEST_TIMEOUT", "0", ""},
		{"LONG_REQUEST_TIMEOUT", "1.5", ""},
	} {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			t.Setenv(c.name, c.value)
			e, err := dredge.New(dredge.WithDeviceKind("cpu"), dredge.FromEnv())
			if c.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				_ = e.Close()
				return
			}
			if err == nil {
				_ = e.Close()
				t.Fatalf("%s=%s accepted", c.name, c.value)
			}
			if dredge.FieldOf(err) != c.field {
				t.Errorf("%s=%s: %v, want an error naming %s", c.name, c.value, err, c.field)
			}
		})
	}
}
