package dredge_test

import (
	"context"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/cache"
)

// keyLog is a cache that records the keys stored and deleted.
type keyLog struct {
	cache.Cache
	mu         sync.Mutex
	sets, dels []string
}

func (c *keyLog) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	c.mu.Lock()
	c.sets = append(c.sets, key)
	c.mu.Unlock()
	return c.Cache.Set(ctx, key, v, ttl)
}

func (c *keyLog) Delete(ctx context.Context, key string) error {
	c.mu.Lock()
	c.dels = append(c.dels, key)
	c.mu.Unlock()
	return c.Cache.Delete(ctx, key)
}

// TestListAndUnloadModels loads two models, caches inferences of one and
// unloads it: its id stops answering, its memory returns to the budget,
// exactly its cached results are deleted, and the other model is untouched.
func TestListAndUnloadModels(t *testing.T) {
	ctx := context.Background()
	mem, err := cache.NewMemory(cache.MemoryConfig{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = mem.Close() })
	log := &keyLog{Cache: mem}
	e := newEngine(t, dredge.WithCache(log))
	memory := func() int64 {
		caps, err := e.Capabilities(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return caps.Resources.ModelMemoryBytes
	}
	before := memory()
	a := loadModel(t, e, `{"model_type":"quasimoto_1d"}`)
	afterA := memory()
	b := loadModel(t, e, `{"model_type":"siren","config":{"hidden_size":8}}`)
	afterB := memory()
	if m, _ := call(t, e, "list_models", ``); len(m["models"].([]any)) != 2 {
		t.Fatalf("list_models = %v", m)
	}
	for _, in := range []string{`{"x":[0.5],"t":[0]}`, `{"x":[0.25],"t":[1]}`} {
		for range 2 {
			if r, code := call(t, e, "inference", `{"model_id":"`+a+`","inputs":`+in+`}`); code != dredge.CodeOK {
				t.Fatal(r)
			}
		}
	}
	if r, code := call(t, e, "inference", `{"model_id":"`+b+`","inputs":{"x":[[0.5]]}}`); code != dredge.CodeOK {
		t.Fatal(r)
	}
	inferenceKeys := func(keys []string) []string {
		var out []string
		for _, k := range keys {
			if strings.HasPrefix(k, "inference/") {
				out = append(out, k)
			}
		}
		return out
	}
	log.mu.Lock()
	stored := inferenceKeys(log.sets)
	log.mu.Unlock()
	if len(stored) != 3 {
		t.Fatalf("%d inference results stored, want 3", len(stored))
	}

	r, code := call(t, e, "unload_model", `{"model_id":"`+a+`"}`)
	if code != dredge.CodeOK || r["model_id"] != a || r["model_type"] != "quasimoto_1d" || r["freed_bytes"].(float64) != float64(afterA-before) || r["cached_results"].(float64) != 2 {
		t.Fatalf("unload_model = %v (model charged %d bytes)", r, afterA-before)
	}
	log.mu.Lock()
	deleted := slices.Sorted(slices.Values(log.dels))
	log.mu.Unlock()
	if want := slices.Sorted(slices.Values(stored[:2])); !slices.Equal(deleted, want) {
		t.Errorf("deleted %v, want the unloaded model's %v", deleted, want)
	}
	if got, want := memory(), afterB-(afterA-before); got != want {
		t.Errorf("model memory %d after unloading, want %d", got, want)
	}
	if r, code := call(t, e, "inference", `{"model_id":"`+a+`","inputs":{"x":[0.5],"t":[0]}}`); code != dredge.CodeNotFound || r["field"] != "model_id" {
		t.Errorf("inference of an unloaded model: %v", r)
	}
	if r, code := call(t, e, "unload_model", `{"model_id":"`+a+`"}`); code != dredge.CodeNotFound {
		t.Errorf("second unload: %v", r)
	}
	if r, code := call(t, e, "unload_model", `{}`); code != dredge.CodeInvalidArgument || r["field"] != "model_id" {
		t.Errorf("unload without model_id: %v", r)
	}
	list, err := e.ListModels(ctx)
	if err != nil || len(list.Models) != 1 || list.Models[0].ModelID != b {
		t.Fatalf("list_models after unloading = %+v, %v", list, err)
	}
	if r, code := call(t, e, "inference", `{"model_id":"`+b+`","inputs":{"x":[[0.5]]}}`); code != dredge.CodeOK || r["cached"] != true {
		t.Errorf("the other model's cached inference: %v", r)
	}
	// Loading again gives a new id: an old id never names another model.
	if c := loadModel(t, e, `{"model_type":"quasimoto_1d"}`); c == a {
		t.Errorf("a new model reuses the unloaded id %s", a)
	}
}
