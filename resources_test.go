package dredge_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
)

// rowsJSON returns inference params of n rows of width w for model id.
func rowsJSON(id string, n, w int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"model_id":%q,"inputs":{"x":[`, id)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j := range w {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, "%.3f", float64((i*7+j*3)%19)/19-0.5)
		}
		b.WriteByte(']')
	}
	b.WriteString(`]}}`)
	return b.String()
}

func callCtx(ctx context.Context, t *testing.T, e *dredge.Engine, op, params string) (map[string]any, dredge.Code) {
	t.Helper()
	body, code := e.CallJSON(ctx, op, json.RawMessage(params))
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Errorf("%s: invalid JSON response %q: %v", op, body, err)
	}
	return m, code
}

// Finding 1: an oversize config is refused from the config alone.
func TestOversizeModelRefusedBeforeBuilding(t *testing.T) {
	e := newEngine(t)
	for _, cfg := range []string{
		`{"hidden_size":4096,"num_layers":10}`,
		`{"hidden_size":4096,"num_layers":3}`,
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		m, code := call(t, e, "load_model", `{"model_type":"string_theory","config":`+cfg+`}`)
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		if code != dredge.CodeInvalidArgument || m["field"] != "config" || !strings.Contains(m["error"].(string), "more than the limit") {
			t.Errorf("%s: %v %v, want invalid_argument naming config", cfg, code, m)
		}
		// Loosely: no model of hundreds of MB was built, no seconds spent.
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 4<<20 {
			t.Errorf("%s: %d bytes allocated before the refusal", cfg, grew)
		}
		if took > 2*time.Second {
			t.Errorf("%s: refused after %v", cfg, took)
		}
	}
}

// Finding 2: loads past the memory budget fail; what is loaded stays.
func TestModelMemoryBudget(t *testing.T) {
	const limit = 4 << 20
	e := newEngine(t, dredge.WithModelMemoryLimit(limit))
	const params = `{"model_type":"string_theory","config":{"hidden_size":128,"num_layers":3}}`
	var ids []string
	var last map[string]any
	for range 100 {
		m, code := call(t, e, "load_model", params)
		if code != dredge.CodeOK {
			if code != dredge.CodeResourceExhausted {
				t.Fatalf("load_model: %v %v, want resource_exhausted", code, m)
			}
			last = m
			break
		}
		ids = append(ids, m["model_id"].(string))
	}
	if last == nil || len(ids) == 0 {
		t.Fatalf("%d loads, none refused", len(ids))
	}
	msg := last["error"].(string)
	if !strings.Contains(msg, "4.0 MiB") || !strings.Contains(msg, "in use") || last["field"] != "config" {
		t.Errorf("refusal %v: want the limit (4.0 MiB) and the use named", last)
	}
	// 34,561 values of 8 bytes each: 15 fit in 4 MiB.
	if len(ids) != 15 {
		t.Errorf("%d models loaded in 4 MiB, want 15", len(ids))
	}
	for _, id := range ids {
		if m, code := call(t, e, "inference", rowsJSON(id, 3, 10)); code != dredge.CodeOK {
			t.Errorf("inference on %s after the refusal: %v", id, m)
		}
	}
	caps, err := e.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := caps.Resources
	if r.ModelMemoryLimitBytes != limit || r.ModelMemoryBytes != int64(len(ids))*34561*8 || r.ModelsLoaded != len(ids) {
		t.Errorf("resources = %+v", r)
	}
	// A benchmark is charged for its optimiser state while it runs: with
	// the budget full, it is refused too.
	if m, code := call(t, e, "benchmark", `{"model_id":"`+ids[0]+`","config":{"epochs":1}}`); code != dredge.CodeResourceExhausted {
		t.Errorf("benchmark with a full budget: %v %v", code, m)
	}
}

// Finding 3: concurrent large inferences answer 200 or 503, in bounded memory.
func TestConcurrentLargeInferences(t *testing.T) {
	e := newEngine(t, dredge.WithMaxConcurrentHeavy(2))
	id := loadModel(t, e, `{"model_type":"string_theory","config":{"hidden_size":512,"num_layers":4}}`)
	body := rowsJSON(id, 20_000, 10) // whole: 20,000 rows × 2,070 values × 8 B = 331 MB each

	var peak atomic.Uint64
	stop := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapAlloc > peak.Load() {
				peak.Store(ms.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
		}
	}()
	var base runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&base)

	var wg sync.WaitGroup
	codes := make([]dredge.Code, 6)
	for i := range codes {
		wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
			defer cancel()
			_, codes[i] = e.CallJSON(ctx, "inference", json.RawMessage(body))
		})
	}
	// Light calls do not wait for heavy ones.
	start := time.Now()
	for range 20 {
		if m, code := call(t, e, "unified_inference", `{"dredge_insight":"light"}`); code != dredge.CodeOK {
			t.Errorf("unified_inference under load: %v", m)
		}
	}
	if took := time.Since(start); took > time.Second {
		t.Errorf("20 light calls took %v under heavy load", took)
	}
	wg.Wait()
	close(stop)
	<-sampled
	for i, c := range codes {
		if c != dredge.CodeOK && c != dredge.CodeUnavailable {
			t.Errorf("call %d: code %v, want ok or unavailable", i, c)
		}
	}
	// Six whole passes would be 2 GB; blocked, the heap stays near the
	// inputs (6 × 1.6 MB) and two blocks of 8 MB.
	if grew := int64(peak.Load()) - int64(base.HeapAlloc); grew > 200<<20 {
		t.Errorf("heap grew by %d MB during the calls", grew>>20)
	}
}

// Finding 4: an inference past its deadline stops within one block.
func TestInferenceDeadline(t *testing.T) {
	e := newEngine(t)
	id := loadModel(t, e, `{"model_type":"string_theory","config":{"hidden_size":1024,"num_layers":4}}`)
	rows := func(n int) *dredge.InferenceParams {
		x := make([]float64, n*10)
		for i := range x {
			x[i] = float64(i%19)/19 - 0.5
		}
		return &dredge.InferenceParams{ModelID: id, Inputs: dredge.Inputs{"x": {Data: x, Width: 10}}}
	}
	// One block is 254 rows of this model (1<<20 values / 4,118 per row).
	start := time.Now()
	if _, err := e.Inference(context.Background(), rows(254)); err != nil {
		t.Fatal(err)
	}
	block := time.Since(start)

	const deadline = 300 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	start = time.Now()
	_, err := e.Inference(ctx, rows(20_000)) // about 80 blocks
	took := time.Since(start)
	if dredge.CodeOf(err) != dredge.CodeUnavailable || !strings.Contains(fmt.Sprint(err), "deadline") {
		t.Errorf("inference past its deadline: %v", err)
	}
	// Within one block of the deadline, loosely: a noisy machine may
	// slow the running block down.
	if limit := deadline + 3*block + 500*time.Millisecond; took > limit {
		t.Errorf("answered %v after a %v deadline; one block takes %v", took, deadline, block)
	}
}

// A training past its deadline stores nothing; heavy calls take turns.
func TestTrainingDeadlineAndTurns(t *testing.T) {
	e := newEngine(t, dredge.WithMaxConcurrentHeavy(1))
	id := loadModel(t, e, `{"model_type":"siren"}`)
	before, _ := call(t, e, "get_parameters", `{"model_id":"`+id+`"}`)

	long := `{"model_id":"` + id + `","config":{"epochs":50000}}`
	held := make(chan dredge.Code, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, code := e.CallJSON(ctx, "benchmark", json.RawMessage(long))
		held <- code
	}()
	// Wait until the long training holds the only turn.
	for deadline := time.Now().Add(5 * time.Second); ; {
		caps, err := e.Capabilities(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if caps.Resources.HeavyCalls == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the training never took its turn")
		}
		time.Sleep(10 * time.Millisecond)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	m, code := callCtx(ctx, t, e, "benchmark", `{"model_type":"quasimoto_1d","config":{"epochs":5}}`)
	cancel()
	if code != dredge.CodeUnavailable || !strings.Contains(m["error"].(string), "MAX_CONCURRENT_HEAVY") {
		t.Errorf("second heavy call while the turn is held: %v %v", code, m)
	}
	if m, code := call(t, e, "string_spectrum", `{"max_modes":5}`); code != dredge.CodeOK {
		t.Errorf("light call while the turn is held: %v", m)
	}
	if code := <-held; code != dredge.CodeUnavailable {
		t.Errorf("training past its deadline: %v, want unavailable", code)
	}
	after, _ := call(t, e, "get_parameters", `{"model_id":"`+id+`"}`)
	a, _ := json.Marshal(after["parameters"])
	b, _ := json.Marshal(before["parameters"])
	if string(a) != string(b) {
		t.Error("a training stopped at its deadline changed the model's parameters")
	}
	caps, _ := e.Capabilities(context.Background())
	if r := caps.Resources; r.HeavyCalls != 0 || r.ModelMemoryBytes != 8*int64(r.ModelMemoryBytes/8) || r.ModelMemoryBytes == 0 {
		t.Errorf("after the calls: %+v", r)
	}
}

func TestWorkLimit(t *testing.T) {
	e := newEngine(t)
	// 100,000 epochs × 32,768 points × 121 parameters: 4e11 multiply-adds.
	m, code := call(t, e, "benchmark", `{"model_type":"quasimoto_ensemble_6d","config":{"epochs":100000}}`)
	if code != dredge.CodeInvalidArgument || m["field"] != "config.epochs" {
		t.Errorf("benchmark over the work limit: %v %v", code, m)
	}
}

func TestResourceOptionsAndEnv(t *testing.T) {
	if _, err := dredge.New(dredge.WithModelMemoryLimit(-1)); !errors.Is(err, dredge.ErrInvalidArgument) {
		t.Errorf("WithModelMemoryLimit(-1): %v", err)
	}
	if _, err := dredge.New(dredge.WithMaxConcurrentHeavy(-1)); !errors.Is(err, dredge.ErrInvalidArgument) {
		t.Errorf("WithMaxConcurrentHeavy(-1): %v", err)
	}
	for _, c := range []struct {
		limit, heavy string
		wantLimit    int64
		wantHeavy    int
		field        string
	}{
		{"512MiB", "3", 512 << 20, 3, ""},
		{"2GB", "", 2e9, runtime.GOMAXPROCS(0), ""},
		{"1048576", "1", 1 << 20, 1, ""},
		{"lots", "", 0, 0, "MODEL_MEMORY_LIMIT"},
		{"0", "", 0, 0, "MODEL_MEMORY_LIMIT"},
		{"", "0", 0, 0, "MAX_CONCURRENT_HEAVY"},
		{"", "two", 0, 0, "MAX_CONCURRENT_HEAVY"},
	} {
		t.Setenv("MODEL_MEMORY_LIMIT", c.limit)
		t.Setenv("MAX_CONCURRENT_HEAVY", c.heavy)
		e, err := dredge.New(dredge.FromEnv(), dredge.WithDeviceKind("cpu"))
		if c.field != "" {
			var fe *dredge.FieldError
			if !errors.As(err, &fe) || fe.Field != c.field {
				t.Errorf("%q %q: err = %v, want one naming %s", c.limit, c.heavy, err, c.field)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q %q: %v", c.limit, c.heavy, err)
		}
		caps, _ := e.Capabilities(context.Background())
		if r := caps.Resources; r.ModelMemoryLimitBytes != c.wantLimit || r.MaxConcurrentHeavy != c.wantHeavy {
			t.Errorf("%q %q: resources %+v", c.limit, c.heavy, r)
		}
		_ = e.Close()
	}
}

func TestSoftMemoryLimit(t *testing.T) {
	e := newEngine(t, dredge.WithModelMemoryLimit(1<<30))
	got := e.SoftMemoryLimit()
	// 1 GiB is half of 2 GiB, 90% of which is 1.8 GiB, unless the machine
	// has less than 2 GiB.
	if want := int64(9 * (2 << 30) / 10); got > want {
		t.Errorf("SoftMemoryLimit = %d, want %d or less", got, want)
	}
	if got <= 1<<30 {
		t.Errorf("SoftMemoryLimit = %d: at or below the model budget itself", got)
	}
}

func TestLoadModelCancelledLoadsNothing(t *testing.T) {
	e := newEngine(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	m, code := callCtx(ctx, t, e, "load_model", `{"model_type":"string_theory"}`)
	if code != dredge.CodeUnavailable {
		t.Errorf("load_model with its caller gone: %v %v", code, m)
	}
	caps, _ := e.Capabilities(context.Background())
	if r := caps.Resources; r.ModelsLoaded != 0 || r.ModelMemoryBytes != 0 {
		t.Errorf("after a cancelled load: %+v", r)
	}
}
