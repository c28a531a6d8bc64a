package dredge_test

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/cache"
)

// decoded decodes a JSON answer (or a typed result, encoded first) into a
// generic map, for comparing answers field by field.
func decoded(t *testing.T, v any) map[string]any {
	t.Helper()
	b, ok := v.([]byte)
	if !ok {
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return m
}

// TestTypedAndJSONAgree checks that a typed method and CallJSON of the same
// request give the same answer, cached or not, and share the cache: the
// typed methods are the operations, CallJSON only decodes and encodes.
func TestTypedAndJSONAgree(t *testing.T) {
	ctx := context.Background()
	for _, cached := range []bool{true, false} {
		var opts []dredge.Option
		if !cached {
			opts = append(opts, dredge.WithCache(nil))
		}
		e := newEngine(t, opts...)
		id := loadModel(t, e, `{"model_type":"quasimoto_1d"}`)
		coords, modes := dredge.Floats{0.25, 0.75}, dredge.Ints{2, 3}
		cases := []struct {
			op, params string
			typed      func() (any, error)
		}{
			{"unified_inference", `{"dredge_insight":"agree","quasimoto_coords":[0.25,0.75],"string_modes":[2,3]}`, func() (any, error) {
				return e.UnifiedInference(ctx, &dredge.UnifiedParams{Insight: "agree", Coords: &coords, Modes: &modes})
			}},
			{"string_spectrum", `{"max_modes":5}`, func() (any, error) {
				n := 5
				return e.StringSpectrum(ctx, &dredge.SpectrumParams{MaxModes: &n})
			}},
			{"inference", `{"model_id":"` + id + `","inputs":{"x":[0.5,1],"t":[0,0.5]}}`, func() (any, error) {
				return e.Inference(ctx, &dredge.InferenceParams{ModelID: id, Inputs: dredge.Inputs{"x": dredge.Column(0.5, 1), "t": dredge.Column(0, 0.5)}})
			}},
		}
		for _, c := range cases {
			// Typed first (a miss), JSON second (a hit when cached), typed
			// again (a hit when cached, decoded from the stored answer).
			r1, err := c.typed()
			if err != nil {
				t.Fatalf("%s typed: %v", c.op, err)
			}
			body, code := e.CallJSON(ctx, c.op, json.RawMessage(c.params))
			if code != dredge.CodeOK {
				t.Fatalf("%s JSON: %s", c.op, body)
			}
			r3, err := c.typed()
			if err != nil {
				t.Fatal(err)
			}
			a, b, d := decoded(t, r1), decoded(t, body), decoded(t, r3)
			if a["cached"] != false || b["cached"] != cached || d["cached"] != cached {
				t.Errorf("%s (cache %v): cached flags %v, %v, %v", c.op, cached, a["cached"], b["cached"], d["cached"])
			}
			delete(a, "cached")
			delete(b, "cached")
			delete(d, "cached")
			if !reflect.DeepEqual(a, b) || !reflect.DeepEqual(a, d) {
				t.Errorf("%s (cache %v): typed %v\nJSON %v\ntyped again %v", c.op, cached, a, b, d)
			}
		}
		// Call returns the typed result, cached or not.
		res, err := e.Call(ctx, "string_spectrum", json.RawMessage(`{"max_modes":5}`))
		if r, ok := res.(*dredge.SpectrumResult); err != nil || !ok || r.Cached != cached || len(r.EnergySpectrum) != 5 {
			t.Errorf("Call (cache %v) = %#v, %v", cached, res, err)
		}
	}
}

// kindDevice is the CPU device reporting another kind, as a CUDA node
// would.
type kindDevice struct {
	accel.Device
	kind string
}

func (d kindDevice) Info() accel.Info {
	i := d.Device.Info()
	i.Kind = d.kind
	return i
}

// TestUnifiedKeyIncludesDevice shares one cache between a CPU Engine and
// one that reports "cuda": neither answers with the other's device.
func TestUnifiedKeyIncludesDevice(t *testing.T) {
	ctx := context.Background()
	shared, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shared.Close() })
	cpu, _, err := accel.Open(accel.KindCPU)
	if err != nil {
		t.Fatal(err)
	}
	a := newEngine(t, dredge.WithCache(shared))
	b := newEngine(t, dredge.WithCache(shared), dredge.WithDevice(kindDevice{cpu, "cuda"}))
	params := json.RawMessage(`{"dredge_insight":"which device"}`)
	for _, c := range []struct {
		e      *dredge.Engine
		device string
		cached bool
	}{{a, "cpu", false}, {b, "cuda", false}, {a, "cpu", true}, {b, "cuda", true}} {
		m := decoded(t, c.e.Answer(ctx, "unified_inference", params).Body)
		if m["device"] != c.device || m["cached"] != c.cached {
			t.Errorf("device %v cached %v, want %s %v", m["device"], m["cached"], c.device, c.cached)
		}
	}
}

// TestAnswer checks what Answer adds to CallJSON: the failure and whether
// the cache served the answer.
func TestAnswer(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	params := json.RawMessage(`{"max_modes":3}`)
	if a := e.Answer(ctx, "string_spectrum", params); a.Code != dredge.CodeOK || a.Err != nil || a.Cached {
		t.Errorf("first answer %+v", a)
	}
	if a := e.Answer(ctx, "string_spectrum", params); a.Code != dredge.CodeOK || !a.Cached {
		t.Errorf("second answer %+v", a)
	}
	a := e.Answer(ctx, "string_spectrum", json.RawMessage(`{"max_modes":0}`))
	if a.Code != dredge.CodeInvalidArgument || dredge.FieldOf(a.Err) != "max_modes" || string(a.Body) != string(dredge.ErrorJSON(a.Err)) {
		t.Errorf("failed answer %+v", a)
	}
}

// TestWithoutCache computes afresh under WithoutCache and stores the fresh
// answer for later calls.
func TestWithoutCache(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	n := 4
	p := &dredge.SpectrumParams{MaxModes: &n}
	for i, c := range []struct {
		ctx    context.Context
		cached bool
	}{{ctx, false}, {dredge.WithoutCache(ctx), false}, {ctx, true}, {dredge.WithoutCache(ctx), false}} {
		r, err := e.StringSpectrum(c.ctx, p)
		if err != nil || r.Cached != c.cached {
			t.Errorf("call %d: cached %v (%v), want %v", i, r.Cached, err, c.cached)
		}
	}
	if a := e.Answer(dredge.WithoutCache(ctx), "string_spectrum", json.RawMessage(`{"max_modes":4}`)); a.Cached {
		t.Error("Answer under WithoutCache came from the cache")
	}
	s, err := e.CacheStats(ctx)
	if err != nil || s.CacheStats.Hits != 1 || s.CacheStats.Misses != 1 {
		t.Errorf("cache stats %+v (%v): want the one hit and the one miss of the calls that looked", s, err)
	}
}

// TestAnswerParams answers typed params as Answer answers their JSON,
// sharing the cache, and refuses params of another operation.
func TestAnswerParams(t *testing.T) {
	ctx := context.Background()
	e := newEngine(t)
	coords := dredge.Floats{0.125}
	typed := e.AnswerParams(ctx, "unified_inference", &dredge.UnifiedParams{Insight: "typed", Coords: &coords})
	fromJSON := e.Answer(ctx, "unified_inference", json.RawMessage(`{"dredge_insight":"typed","quasimoto_coords":[0.125]}`))
	if typed.Err != nil || typed.Cached || !fromJSON.Cached {
		t.Fatalf("typed %+v, then JSON cached %v", typed.Err, fromJSON.Cached)
	}
	a, b := decoded(t, typed.Body), decoded(t, fromJSON.Body)
	delete(a, "cached")
	delete(b, "cached")
	if !reflect.DeepEqual(a, b) {
		t.Errorf("AnswerParams %v\nAnswer %v", a, b)
	}
	n := 3
	if bad := e.AnswerParams(ctx, "unified_inference", &dredge.SpectrumParams{MaxModes: &n}); bad.Code != dredge.CodeInvalidArgument || dredge.FieldOf(bad.Err) != "params" {
		t.Errorf("params of another operation: %+v", bad)
	}
	if bad := e.AnswerParams(ctx, "nope", nil); bad.Code != dredge.CodeNotFound {
		t.Errorf("unknown operation: %+v", bad)
	}
}
