package dredge_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/cache"
	"github.com/dredge-cli/dredge/internal/testredis"
	"github.com/dredge-cli/dredge/modelstore"
)

// storeNodes returns, per store kind, a function making the stores of two
// nodes that share their models. Redis is there when REDIS_URL is set.
func storeNodes(t *testing.T) map[string]func(t *testing.T) (a, b modelstore.Store) {
	kinds := map[string]func(t *testing.T) (a, b modelstore.Store){
		"memory": func(*testing.T) (a, b modelstore.Store) {
			s := modelstore.NewMemory()
			return s, s // shared by pointer
		},
		"dir": func(t *testing.T) (a, b modelstore.Store) {
			dir := t.TempDir()
			da, err := modelstore.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			db, err := modelstore.NewDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			return da, db
		},
	}
	if url := os.Getenv("REDIS_URL"); url != "" {
		kinds["redis"] = func(t *testing.T) (a, b modelstore.Store) {
			prefix := uniqueModelPrefix()
			t.Cleanup(func() { deleteRedisKeys(t, url, prefix) })
			open := func() modelstore.Store {
				r, err := modelstore.NewRedis(modelstore.RedisConfig{URL: url, Prefix: prefix})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { _ = r.Close() })
				return r
			}
			return open(), open()
		}
	} else {
		t.Log("REDIS_URL not set: the Redis model store is not tested (start redis-server and set REDIS_URL=redis://127.0.0.1:6399/0)")
	}
	return kinds
}

var modelPrefixSeq atomic.Int64

func uniqueModelPrefix() string {
	return fmt.Sprintf("dredge-test:models:%d:%d:%d:", os.Getpid(), time.Now().UnixNano(), modelPrefixSeq.Add(1))
}

// deleteRedisKeys removes the model store's keys of prefix.
func deleteRedisKeys(t *testing.T, url, prefix string) {
	testredis.DeleteKeysAt(t, url, "{"+prefix+"}*")
}

// infer runs an inference and returns its output and whether it was cached.
func infer(t *testing.T, e *dredge.Engine, id string) ([]float64, bool) {
	t.Helper()
	res, err := e.Inference(context.Background(), &dredge.InferenceParams{
		ModelID: id,
		Inputs:  dredge.Inputs{"x": dredge.Column(-1, 0, 0.5, 2), "t": dredge.Column(0, 0.1, 0.2, 0.3)},
	})
	if err != nil {
		t.Fatalf("inference(%s): %v", id, err)
	}
	return res.Output.Data, res.Cached
}

func train(t *testing.T, e *dredge.Engine, id string) {
	t.Helper()
	epochs := 3
	if _, err := e.Benchmark(context.Background(), &dredge.BenchmarkParams{ModelID: id, Config: dredge.ModelConfig{Epochs: &epochs}}); err != nil {
		t.Fatalf("benchmark(%s): %v", id, err)
	}
}

func parameters(t *testing.T, e *dredge.Engine, id string) string {
	t.Helper()
	res, err := e.GetParameters(context.Background(), &dredge.GetParametersParams{ModelID: id})
	if err != nil {
		t.Fatalf("get_parameters(%s): %v", id, err)
	}
	b, _ := json.Marshal(res.Parameters)
	return string(b)
}

func listIDs(t *testing.T, e *dredge.Engine) []string {
	t.Helper()
	res, err := e.ListModels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, m := range res.Models {
		ids = append(ids, m.ModelID)
		if m.NParameters == 0 || m.Config == nil {
			t.Errorf("list_models: %s without its summary: %+v", m.ModelID, m)
		}
	}
	return ids
}

func wantCode(t *testing.T, err error, code dredge.Code, field string) {
	t.Helper()
	if dredge.CodeOf(err) != code || dredge.FieldOf(err) != field {
		t.Fatalf("err = %v (code %q, field %q), want code %q naming %q", err, dredge.CodeOf(err), dredge.FieldOf(err), code, field)
	}
}

// TestModelStoreNodes runs two Engines (two nodes) on one store and one
// shared result cache: a model loaded on one answers inference,
// get_parameters, benchmark and unload_model on the other; ids are unique
// across them; training on either is seen by the other, and no cached
// answer of the old parameters is served.
func TestModelStoreNodes(t *testing.T) {
	for kind, nodes := range storeNodes(t) {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			sa, sb := nodes(t)
			shared, err := cache.NewMemory(cache.MemoryConfig{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = shared.Close() })
			a := newEngine(t, dredge.WithModelStore(sa), dredge.WithCache(shared))
			b := newEngine(t, dredge.WithModelStore(sb), dredge.WithCache(shared))

			id := loadModel(t, a, `{"model_type":"quasimoto_ensemble","config":{"n_waves":3,"seed":7}}`)
			if id != "quasimoto_ensemble_0" {
				t.Fatalf("first id = %s, want quasimoto_ensemble_0", id)
			}
			if other := loadModel(t, b, `{"model_type":"quasimoto_ensemble","config":{"n_waves":2}}`); other != "quasimoto_ensemble_1" {
				t.Fatalf("an id made on node B = %s, want quasimoto_ensemble_1 (unique across nodes)", other)
			}

			outA, _ := infer(t, a, id)
			outB, cached := infer(t, b, id)
			if !slices.Equal(outA, outB) || !cached {
				t.Fatalf("node B: %v (cached %v), want node A's %v from the shared cache", outB, cached, outA)
			}
			if pa, pb := parameters(t, a, id), parameters(t, b, id); pa != pb {
				t.Fatalf("get_parameters differ between nodes:\n%s\n%s", pa, pb)
			}

			// Trained on A: B uses the new parameters, not the cached answer.
			train(t, a, id)
			trainedA, cached := infer(t, a, id)
			if cached || slices.Equal(trainedA, outA) {
				t.Fatalf("after training on A, A answers %v (cached %v), the old answer was %v", trainedA, cached, outA)
			}
			trainedB, _ := infer(t, b, id)
			if !slices.Equal(trainedB, trainedA) {
				t.Fatalf("after training on A, B answers %v, want %v", trainedB, trainedA)
			}
			if pa, pb := parameters(t, a, id), parameters(t, b, id); pa != pb {
				t.Fatal("get_parameters differ between nodes after training")
			}

			// Trained on B (which fetched a copy): A sees it.
			train(t, b, id)
			againB, _ := infer(t, b, id)
			againA, _ := infer(t, a, id)
			if slices.Equal(againB, trainedA) || !slices.Equal(againA, againB) {
				t.Fatalf("after training on B: B %v, A %v, before %v", againB, againA, trainedA)
			}

			if got := listIDs(t, a); !slices.Equal(got, []string{"quasimoto_ensemble_0", "quasimoto_ensemble_1"}) {
				t.Fatalf("list_models on A = %v", got)
			}
			if got, want := listIDs(t, b), listIDs(t, a); !slices.Equal(got, want) {
				t.Fatalf("list_models on B = %v, on A %v", got, want)
			}

			// Unloaded on B: gone on A too.
			res, err := b.UnloadModel(ctx, &dredge.UnloadModelParams{ModelID: id})
			if err != nil || res.ModelType != "quasimoto_ensemble" {
				t.Fatalf("unload_model on B = %+v, %v", res, err)
			}
			_, err = a.Inference(ctx, &dredge.InferenceParams{ModelID: id, Inputs: dredge.Inputs{"x": dredge.Column(0), "t": dredge.Column(0)}})
			wantCode(t, err, dredge.CodeNotFound, "model_id")
			_, err = a.GetParameters(ctx, &dredge.GetParametersParams{ModelID: id})
			wantCode(t, err, dredge.CodeNotFound, "model_id")
			_, err = a.UnloadModel(ctx, &dredge.UnloadModelParams{ModelID: id})
			wantCode(t, err, dredge.CodeNotFound, "model_id")
			if got := listIDs(t, a); !slices.Equal(got, []string{"quasimoto_ensemble_1"}) {
				t.Fatalf("list_models after unload = %v", got)
			}

			// Bad ids, as without a store.
			for _, bad := range []string{"quasimoto_ensemble_99", "../../etc/passwd", "x{y}"} {
				_, err = b.GetParameters(ctx, &dredge.GetParametersParams{ModelID: bad})
				wantCode(t, err, dredge.CodeNotFound, "model_id")
				_, err = b.Benchmark(ctx, &dredge.BenchmarkParams{ModelID: bad})
				wantCode(t, err, dredge.CodeNotFound, "model_id")
			}
			_, err = b.GetParameters(ctx, &dredge.GetParametersParams{})
			wantCode(t, err, dredge.CodeInvalidArgument, "model_id")
		})
	}
}

// TestModelStoreBoundedCopies checks that a node keeps at most
// WithMaxModels copies of stored models and still answers for all of them.
func TestModelStoreBoundedCopies(t *testing.T) {
	store := modelstore.NewMemory()
	a := newEngine(t, dredge.WithModelStore(store))
	b := newEngine(t, dredge.WithModelStore(store), dredge.WithMaxModels(2))
	var ids []string
	for i := range 4 {
		ids = append(ids, loadModel(t, a, fmt.Sprintf(`{"model_type":"quasimoto_1d","config":{"seed":%d}}`, i)))
	}
	for range 2 {
		for _, id := range ids {
			outA, _ := infer(t, a, id)
			outB, _ := infer(t, b, id)
			if !slices.Equal(outA, outB) {
				t.Fatalf("%s: B %v, A %v", id, outB, outA)
			}
		}
	}
	caps, err := b.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r := caps.Resources; r.ModelsLoaded != 2 || r.ModelMemoryBytes != 2*8*8 {
		t.Fatalf("node B holds %d copies in %d bytes, want 2 in %d", r.ModelsLoaded, r.ModelMemoryBytes, 2*8*8)
	}
}

// TestModelStoreDirRestart configures an Engine from MODEL_STORE_DIR,
// trains a model, closes it, and checks that a new Engine on the same
// directory (a restarted node) answers the same inference and gives new
// ids past the old ones.
func TestModelStoreDirRestart(t *testing.T) {
	t.Setenv("MODEL_STORE_DIR", t.TempDir())
	t.Setenv("MODEL_STORE", "")
	open := func() *dredge.Engine {
		e, err := dredge.New(dredge.FromEnv(), dredge.WithDeviceKind("cpu"), dredge.WithCache(nil))
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	e := open()
	id := loadModel(t, e, `{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":4}}`)
	train(t, e, id)
	ctx := context.Background()
	in := dredge.Inputs{"x": dredge.Rows([]float64{0.1, 0.2, 0.3}, []float64{-1, 0, 1})}
	before, err := e.Inference(ctx, &dredge.InferenceParams{ModelID: id, Inputs: in})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = open()
	defer e.Close()
	after, err := e.Inference(ctx, &dredge.InferenceParams{ModelID: id, Inputs: in})
	if err != nil {
		t.Fatalf("after the restart: %v", err)
	}
	if !slices.Equal(after.Output.Data, before.Output.Data) {
		t.Fatalf("after the restart %v, before %v", after.Output.Data, before.Output.Data)
	}
	if next := loadModel(t, e, `{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":4}}`); next != "string_theory_1" {
		t.Fatalf("the first id after the restart = %s, want string_theory_1", next)
	}
}

// TestModelStoreUnavailable checks that a store that cannot be reached
// fails model calls with CodeUnavailable, never a panic or internal, and
// that the Engine starts while it is down.
func TestModelStoreUnavailable(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"redis down": {"MODEL_STORE": "redis", "REDIS_URL": "redis://127.0.0.1:1/0"},
	} {
		t.Run(name, func(t *testing.T) {
			for k, v := range env {
				t.Setenv(k, v)
			}
			e, err := dredge.New(dredge.FromEnv(), dredge.WithDeviceKind("cpu"), dredge.WithCacheConfig(cache.Config{}))
			if err != nil {
				t.Fatalf("New with the store down: %v", err)
			}
			defer e.Close()
			for _, c := range []struct{ op, params string }{
				{"load_model", `{"model_type":"quasimoto_1d"}`},
				{"inference", `{"model_id":"quasimoto_1d_0","inputs":{"x":[0],"t":[0]}}`},
				{"get_parameters", `{"model_id":"quasimoto_1d_0"}`},
				{"benchmark", `{"model_id":"quasimoto_1d_0"}`},
				{"unload_model", `{"model_id":"quasimoto_1d_0"}`},
				{"list_models", `{}`},
			} {
				m, code := call(t, e, c.op, c.params)
				if code != dredge.CodeUnavailable {
					t.Errorf("%s with the store down: %v, want unavailable", c.op, m)
				}
			}
		})
	}
	t.Run("bad config", func(t *testing.T) {
		t.Setenv("MODEL_STORE", "dir")
		t.Setenv("MODEL_STORE_DIR", "")
		_, err := dredge.New(dredge.FromEnv(), dredge.WithDeviceKind("cpu"))
		wantCode(t, err, dredge.CodeInvalidArgument, "MODEL_STORE_DIR")
		t.Setenv("MODEL_STORE", "postgres")
		_, err = dredge.New(dredge.FromEnv(), dredge.WithDeviceKind("cpu"))
		wantCode(t, err, dredge.CodeInvalidArgument, "MODEL_STORE")
	})
}
