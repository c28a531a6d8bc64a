package dredge_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dredge-cli/dredge"
	"github.com/dredge-cli/dredge/modelstore"
)

// createHookStore is a memory store whose Create fails with createErr,
// when set, and otherwise runs onCreate after it succeeds, before it
// returns.
type createHookStore struct {
	*modelstore.Memory
	createErr error
	onCreate  func(id string)
}

func (s *createHookStore) Create(ctx context.Context, m *modelstore.Model) (uint64, error) {
	if s.createErr != nil {
		return 0, s.createErr
	}
	v, err := s.Memory.Create(ctx, m)
	if err == nil && s.onCreate != nil {
		s.onCreate(m.ID)
	}
	return v, err
}

func resources(t *testing.T, e *dredge.Engine) dredge.Resources {
	t.Helper()
	caps, err := e.Capabilities(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return caps.Resources
}

// TestModelStoreLoadRacesFetch has a call on the same node fetch the id
// load_model is storing before load_model registers its model: the copy
// fetched is the one registered, and the model is charged and counted once.
func TestModelStoreLoadRacesFetch(t *testing.T) {
	store := &createHookStore{Memory: modelstore.NewMemory()}
	e := newEngine(t, dredge.WithModelStore(store))
	var fetched string
	store.onCreate = func(id string) {
		fetched = id
		if _, err := e.GetParameters(context.Background(), &dredge.GetParametersParams{ModelID: id}); err != nil {
			t.Errorf("get_parameters(%s) while it is stored: %v", id, err)
		}
	}
	id := loadModel(t, e, `{"model_type":"quasimoto_1d"}`)
	if id != fetched {
		t.Fatalf("load_model gave %s, the store created %s", id, fetched)
	}
	if r := resources(t, e); r.ModelsLoaded != 1 || r.ModelMemoryBytes != 8*8 {
		t.Fatalf("%d models in %d bytes, want 1 in %d", r.ModelsLoaded, r.ModelMemoryBytes, 8*8)
	}
	m, err := e.Metrics(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if n := m.Metrics.Gauges["dredge_models_loaded"]; n != 1 {
		t.Fatalf("dredge_models_loaded = %v, want 1", n)
	}
	if _, code := call(t, e, "unload_model", `{"model_id":"`+id+`"}`); code != dredge.CodeOK {
		t.Fatalf("unload_model: %v", code)
	}
	if r := resources(t, e); r.ModelsLoaded != 0 || r.ModelMemoryBytes != 0 {
		t.Fatalf("after unload_model: %d models in %d bytes, want none", r.ModelsLoaded, r.ModelMemoryBytes)
	}
}

// TestModelStoreCopyNeverFits checks that a copy that cannot fit in the
// budget fails at once, naming model_id, without evicting the copies held:
// one larger than the limit, and one the copies could not make room for
// because a training holds the rest of the budget.
func TestModelStoreCopyNeverFits(t *testing.T) {
	const small = 8 * 8 // a quasimoto_1d model
	store := modelstore.NewMemory()
	a := newEngine(t, dredge.WithModelStore(store))
	smallID := loadModel(t, a, `{"model_type":"quasimoto_1d"}`)
	bigID := loadModel(t, a, `{"model_type":"string_theory","config":{"dimensions":3,"hidden_size":16}}`)
	big := resources(t, a).ModelMemoryBytes - small

	fetch := func(e *dredge.Engine, id string) error {
		_, err := e.GetParameters(context.Background(), &dredge.GetParametersParams{ModelID: id})
		return err
	}
	wantKept := func(t *testing.T, e *dredge.Engine, err error) {
		t.Helper()
		wantCode(t, err, dredge.CodeResourceExhausted, "model_id")
		if n := resources(t, e).ModelsLoaded; n != 1 {
			t.Fatalf("%d copies held after the refusal, want 1 (none evicted)", n)
		}
	}

	t.Run("over the limit", func(t *testing.T) {
		b := newEngine(t, dredge.WithModelStore(store), dredge.WithModelMemoryLimit(big-1))
		if err := fetch(b, smallID); err != nil {
			t.Fatal(err)
		}
		wantKept(t, b, fetch(b, bigID))
	})

	t.Run("training holds the budget", func(t *testing.T) {
		// A training of a quasimoto_1d model, held at its first epoch.
		hold := func(e *dredge.Engine) (charged int64, done func()) {
			reported, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			ctx := dredge.WithProgress(context.Background(), func(dredge.Progress) {
				once.Do(func() { close(reported); <-release })
			})
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				_, _ = e.Benchmark(ctx, &dredge.BenchmarkParams{ModelType: "quasimoto_1d"})
			}()
			<-reported
			return resources(t, e).ModelMemoryBytes, func() { close(release); <-finished }
		}
		probe := newEngine(t)
		training, done := hold(probe)
		done()

		// Room for the training and one copy, not for the big one.
		limit := max(big, training+small)
		b := newEngine(t, dredge.WithModelStore(store), dredge.WithModelMemoryLimit(limit))
		if err := fetch(b, smallID); err != nil {
			t.Fatal(err)
		}
		if got, done := hold(b); got != training+small {
			done()
			t.Fatalf("training and copy hold %d bytes, want %d", got, training+small)
		} else {
			defer done()
		}
		wantKept(t, b, fetch(b, bigID))
	})
}

// TestModelStoreCreateFails checks that a load_model whose Create fails
// names no field: the caller never saw the id it was given.
func TestModelStoreCreateFails(t *testing.T) {
	store := &createHookStore{Memory: modelstore.NewMemory(), createErr: fmt.Errorf("%w: disk full", modelstore.ErrUnavailable)}
	e := newEngine(t, dredge.WithModelStore(store))
	_, err := e.LoadModel(context.Background(), &dredge.LoadModelParams{ModelType: "quasimoto_1d"})
	wantCode(t, err, dredge.CodeUnavailable, "")
	if r := resources(t, e); r.ModelsLoaded != 0 || r.ModelMemoryBytes != 0 {
		t.Fatalf("%d models in %d bytes, want none", r.ModelsLoaded, r.ModelMemoryBytes)
	}
}
