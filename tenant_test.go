package dredge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/modelstore"
)

func TestTenant(t *testing.T) {
	ctx := context.Background()
	if got := dredge.TenantOf(ctx); got != "" {
		t.Errorf("TenantOf(Background) = %q, want the default tenant", got)
	}
	ctx = dredge.WithTenant(ctx, "acme")
	if got := dredge.TenantOf(ctx); got != "acme" {
		t.Errorf("TenantOf = %q, want acme", got)
	}
	if got := dredge.TenantOf(dredge.WithTenant(ctx, "")); got != "" {
		t.Errorf("TenantOf after WithTenant(ctx, \"\") = %q", got)
	}
}

// TestTenantCache: cached results never cross tenants; each tenant's
// repeat of a call is a hit.
func TestTenantCache(t *testing.T) {
	e := newEngine(t)
	coords := dredge.Floats{0.25}
	p := &dredge.UnifiedParams{Insight: "shared question", Coords: &coords}
	call := func(tenant string) bool {
		t.Helper()
		r, err := e.UnifiedInference(dredge.WithTenant(context.Background(), tenant), p)
		if err != nil {
			t.Fatal(err)
		}
		return r.Cached
	}
	for _, c := range []struct {
		tenant string
		cached bool
	}{{"acme", false}, {"acme", true}, {"globex", false}, {"", false}, {"globex", true}, {"", true}, {"acme", true}} {
		if got := call(c.tenant); got != c.cached {
			t.Errorf("tenant %q: cached %v, want %v", c.tenant, got, c.cached)
		}
	}
}

// TestTenantModels: each tenant's models are its own, with ids counted
// per tenant, on every registry (in memory, on a model store in memory
// and in a directory): another tenant's id answers exactly as an id that
// never existed, in every operation that takes one.
func TestTenantModels(t *testing.T) {
	for _, c := range []struct {
		name string
		opts func(t *testing.T) []dredge.Option
	}{
		{"registry", func(*testing.T) []dredge.Option { return nil }},
		{"memory-store", func(*testing.T) []dredge.Option {
			return []dredge.Option{dredge.WithModelStore(modelstore.NewMemory())}
		}},
		{"dir-store", func(t *testing.T) []dredge.Option {
			s, err := modelstore.NewDir(t.TempDir())
			if err != nil {
				t.Fatal(err)
			}
			return []dredge.Option{dredge.WithModelStore(s)}
		}},
	} {
		t.Run(c.name, func(t *testing.T) { testTenantModels(t, newEngine(t, c.opts(t)...)) })
	}
}

func testTenantModels(t *testing.T, e *dredge.Engine) {
	as := func(tenant string) context.Context { return dredge.WithTenant(context.Background(), tenant) }
	call := func(tenant, op, params string) (string, dredge.Code) {
		t.Helper()
		b, code := e.CallJSON(as(tenant), op, []byte(params))
		return string(b), code
	}
	load := func(tenant string) string {
		t.Helper()
		b, code := call(tenant, "load_model", `{"model_type":"quasimoto_1d","config":{"n_waves":2}}`)
		var r struct {
			ModelID string `json:"model_id"`
		}
		if code != dredge.CodeOK || json.Unmarshal([]byte(b), &r) != nil {
			t.Fatalf("load_model as %q: %s %s", tenant, code, b)
		}
		return r.ModelID
	}
	// Ids are counted per tenant: each tenant's first model is _0.
	a0, a1, g0, d0 := load("acme"), load("acme"), load("globex"), load("")
	if a0 != "quasimoto_1d_0" || a1 != "quasimoto_1d_1" || g0 != a0 || d0 != a0 {
		t.Fatalf("ids %s %s (acme), %s (globex), %s (default): want each tenant's counted from 0", a0, a1, g0, d0)
	}
	for tenant, want := range map[string][]string{"acme": {a0, a1}, "globex": {g0}, "": {d0}, "initech": nil} {
		b, code := call(tenant, "list_models", `{}`)
		var r struct {
			Models []struct {
				ModelID string `json:"model_id"`
			} `json:"models"`
		}
		if code != dredge.CodeOK || json.Unmarshal([]byte(b), &r) != nil {
			t.Fatalf("list_models as %q: %s %s", tenant, code, b)
		}
		var got []string
		for _, m := range r.Models {
			got = append(got, m.ModelID)
		}
		if !slices.Equal(got, want) {
			t.Errorf("list_models as %q = %v, want %v", tenant, got, want)
		}
	}
	// acme's quasimoto_1d_1 is no one else's: every operation answers
	// globex, initech and the default tenant as for an id that never
	// existed. So does an id that tries to name a tenant.
	const never = "quasimoto_1d_9"
	ops := map[string]string{
		"inference":      `{"model_id":%q,"inputs":{"x":[0.5],"t":[0]}}`,
		"get_parameters": `{"model_id":%q}`,
		"benchmark":      `{"model_id":%q,"config":{"epochs":1}}`,
		"unload_model":   `{"model_id":%q}`,
	}
	for op, params := range ops {
		for _, tenant := range []string{"globex", "initech", ""} {
			want, wantCode := call(tenant, op, fmt.Sprintf(params, never))
			if wantCode != dredge.CodeNotFound {
				t.Fatalf("%s of %s as %q: %s %s, want not_found", op, never, tenant, wantCode, want)
			}
			for _, id := range []string{a1, "acme/" + a1, "../acme/" + a1} {
				got, code := call(tenant, op, fmt.Sprintf(params, id))
				if code != wantCode || got != strings.ReplaceAll(want, never, id) {
					t.Errorf("%s of acme's %s as %q:\n got %s %s\nwant %s %s (as for an id that never existed)", op, id, tenant, code, got, wantCode, strings.ReplaceAll(want, never, id))
				}
			}
		}
	}
	// acme's model is untouched by all that, and works for acme.
	if b, code := call("acme", "inference", fmt.Sprintf(ops["inference"], a1)); code != dredge.CodeOK {
		t.Fatalf("acme's inference after the others' attempts: %s %s", code, b)
	}
	if b, code := call("acme", "unload_model", fmt.Sprintf(ops["unload_model"], a1)); code != dredge.CodeOK {
		t.Fatalf("acme's unload: %s %s", code, b)
	}
	// globex's model of the same id as acme's first stays globex's.
	if b, code := call("globex", "get_parameters", fmt.Sprintf(ops["get_parameters"], g0)); code != dredge.CodeOK {
		t.Fatalf("globex's get_parameters: %s %s", code, b)
	}
	// A tenant name no keys file could hold is refused, naming the field.
	if b, code := call("../acme", "list_models", `{}`); code != dredge.CodeInvalidArgument || !strings.Contains(b, "tenant") {
		t.Errorf("a malformed tenant: %s %s, want invalid_argument naming tenant", code, b)
	}
}

// TestTenantLimits: each tenant's loaded models and running trainings are
// bounded apart, and a call past a limit names it.
func TestTenantLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		opts []dredge.Option
	}{
		{"registry", nil},
		{"memory-store", []dredge.Option{dredge.WithModelStore(modelstore.NewMemory())}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := newEngine(t, append(c.opts, dredge.WithTenantLimits(dredge.TenantLimits{Models: 2, Trainings: 1}))...)
			as := func(tenant string) context.Context { return dredge.WithTenant(context.Background(), tenant) }
			load := func(tenant string) (string, dredge.Code) {
				b, code := e.CallJSON(as(tenant), "load_model", []byte(`{"model_type":"siren","config":{"hidden_size":4}}`))
				return string(b), code
			}
			for range 2 {
				if b, code := load("acme"); code != dredge.CodeOK {
					t.Fatalf("acme's load within its limit: %s %s", code, b)
				}
			}
			b, code := load("acme")
			if code != dredge.CodeResourceExhausted || !strings.Contains(b, "TENANT_MAX_MODELS=2 loaded models") {
				t.Fatalf("acme's third load: %s %s, want resource_exhausted naming TENANT_MAX_MODELS", code, b)
			}
			if b, code := load("globex"); code != dredge.CodeOK {
				t.Fatalf("globex's load while acme is at its limit: %s %s", code, b)
			}
			if b, code := e.CallJSON(as("acme"), "unload_model", []byte(`{"model_id":"siren_0"}`)); code != dredge.CodeOK {
				t.Fatalf("unload: %s %s", code, b)
			}
			if b, code := load("acme"); code != dredge.CodeOK {
				t.Fatalf("acme's load after an unload: %s %s", code, b)
			}

			// One training at a time for acme: a long one runs while
			// acme's next is refused and globex's runs.
			ctx, cancel := context.WithCancel(as("acme"))
			started := make(chan struct{})
			var once sync.Once
			ctx = dredge.WithProgress(ctx, func(dredge.Progress) { once.Do(func() { close(started) }) })
			running := make(chan []byte, 1)
			go func() {
				b, _ := e.CallJSON(ctx, "benchmark", []byte(`{"model_type":"siren","config":{"epochs":100000,"hidden_size":4}}`))
				running <- b
			}()
			select {
			case <-started:
			case b := <-running:
				t.Fatalf("acme's long training ended at once: %s", b)
			}
			short := []byte(`{"model_type":"siren","config":{"epochs":1,"hidden_size":4}}`)
			// Not from the cache: a cached answer runs no training.
			tb, code := e.CallJSON(dredge.WithoutCache(as("acme")), "benchmark", short)
			if code != dredge.CodeResourceExhausted || !strings.Contains(string(tb), "TENANT_MAX_TRAININGS=1 trainings at once") {
				t.Fatalf("acme's second training while one runs: %s %s, want resource_exhausted naming TENANT_MAX_TRAININGS", code, tb)
			}
			if b, code := e.CallJSON(dredge.WithoutCache(as("globex")), "benchmark", short); code != dredge.CodeOK {
				t.Fatalf("globex's training while acme's runs: %s %s", code, b)
			}
			cancel()
			if b := <-running; !strings.Contains(string(b), "stopped") {
				t.Fatalf("acme's long training: %s, want it stopped by the test", b)
			}
			if b, code := e.CallJSON(dredge.WithoutCache(as("acme")), "benchmark", short); code != dredge.CodeOK {
				t.Fatalf("acme's training after its first ended: %s %s", code, b)
			}
		})
	}
	if _, err := dredge.New(dredge.WithTenantLimits(dredge.TenantLimits{Models: -1})); err == nil || !strings.Contains(err.Error(), "TENANT_MAX_MODELS") {
		t.Errorf("a negative limit: %v, want an error naming TENANT_MAX_MODELS", err)
	}
}
