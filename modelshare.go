package dredge

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/stringtheory"
)

// The model registry on a model store: see WithModelStore.

// resolvedModel is the context key of the entry a call's model_id named,
// brought up to date once for the call (handler.model).
type resolvedModel struct{}

// model returns the entry of the model id of the call's tenant. Without
// a model store it is the registry's; with one, see syncModel.
func (e *Engine) model(ctx context.Context, id string) (*entry, error) {
	key, err := modelKey(ctx, id)
	if err != nil {
		return nil, err
	}
	if e.modelStore == nil {
		if ent := e.models.get(key); ent != nil {
			return ent, nil
		}
		return nil, modelNotFound(id)
	}
	if ent, ok := ctx.Value(resolvedModel{}).(*entry); ok && ent.key == key {
		return ent, nil
	}
	return e.syncModel(ctx, key)
}

// syncModelInto brings the copy of the model id of the call's tenant up
// to date and returns a context that carries it for the rest of the call.
func (e *Engine) syncModelInto(ctx context.Context, id string) (context.Context, error) {
	key, err := modelKey(ctx, id)
	if err != nil {
		return ctx, err
	}
	ent, err := e.syncModel(ctx, key)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, resolvedModel{}, ent), nil
}

// syncModel returns this Engine's copy of the stored model key (see
// modelKey), current as of the call: it reads the stored version (one
// small round trip) and, where the copy is older or missing, fetches the
// model. A model deleted from the store (unloaded on any node) drops the
// copy and is not_found.
func (e *Engine) syncModel(ctx context.Context, key string) (*entry, error) {
	ent := e.models.get(key)
	if ent == nil {
		return e.fetchModel(ctx, key)
	}
	e.models.touch(ent)
	v, err := e.modelStore.Version(ctx, key)
	if err != nil {
		return nil, e.storeError(ctx, ent, key, err)
	}
	ent.mu.RLock()
	current := ent.version >= v
	ent.mu.RUnlock()
	if current {
		return ent, nil
	}
	m, err := e.modelStore.Get(ctx, key)
	if err != nil {
		return nil, e.storeError(ctx, ent, key, err)
	}
	if err := ent.update(m.Values, m.Version); err != nil {
		return nil, storeUnavailable(key, err)
	}
	return ent, nil
}

// update sets the entry's parameters to values of the store's version v,
// unless the entry holds that version or a later one already.
func (ent *entry) update(values []float64, v uint64) error {
	ent.mu.Lock()
	defer ent.mu.Unlock()
	if v <= ent.version {
		return nil
	}
	if err := ent.model.SetVector(values); err != nil {
		return err
	}
	ent.version = v
	ent.changed()
	return nil
}

// fetchModel makes a copy of the stored model key, charging the budget as
// load_model does.
func (e *Engine) fetchModel(ctx context.Context, key string) (*entry, error) {
	m, err := e.modelStore.Get(ctx, key)
	if err != nil {
		return nil, e.storeError(ctx, nil, key, err)
	}
	tenant, id := modelstore.SplitID(key)
	plan, err := stringtheory.PlanFor(m.Type, m.Config)
	if err == nil && plan.Values != len(m.Values) {
		err = fmt.Errorf("%d values stored for a model of %d", len(m.Values), plan.Values)
	}
	if err != nil {
		return nil, storeUnavailable(key, fmt.Errorf("stored record does not make a model: %w", err))
	}
	charge := plan.Bytes()
	if err := e.reserveModel("model_id", fmt.Sprintf("a copy of the stored %s model %s of %d values", plan.Type, id, plan.Values), charge); err != nil {
		return nil, err
	}
	model := plan.Build()
	if err := model.SetVector(m.Values); err != nil {
		e.budget.release(charge)
		return nil, storeUnavailable(key, err)
	}
	ent := newEntry(tenant, id, m.Type, plan.Config, model, charge)
	ent.version = m.Version
	got, added, evicted := e.models.put(ent)
	if evicted != nil {
		e.evicted(evicted)
	}
	if !added {
		e.budget.release(charge)
		if err := got.update(m.Values, m.Version); err != nil {
			return nil, storeUnavailable(key, err)
		}
		return got, nil
	}
	e.modelLoaded()
	return ent, nil
}

// storeNewModel stores a model load_model built (charged charge bytes,
// reserved) under a new id of the call's tenant and registers this
// Engine's copy. A call that fetched the new id first registered a copy
// of its own: storeNewModel then releases charge and returns that copy
// with added false (not a model loaded here).
func (e *Engine) storeNewModel(ctx context.Context, plan stringtheory.Plan, m stringtheory.Model, charge int64) (ent *entry, added bool, err error) {
	if e.tenants.limits.Models > 0 {
		// Counted one load at a time, on this Engine.
		e.tenants.loading.Lock()
		defer e.tenants.loading.Unlock()
		if err := e.checkStoredModels(ctx); err != nil {
			return nil, false, err
		}
	}
	tenant := TenantOf(ctx)
	key, err := e.modelStore.NewID(ctx, modelstore.TenantID(tenant, plan.Type))
	if err != nil {
		return nil, false, storeUnavailable("", err)
	}
	v, err := e.modelStore.Create(ctx, &modelstore.Model{ID: key, Type: plan.Type, Config: plan.Config, Values: m.Values()})
	if err != nil {
		// The caller never saw the id: no field names it.
		return nil, false, storeUnavailable("", err)
	}
	_, id := modelstore.SplitID(key)
	ent = newEntry(tenant, id, plan.Type, plan.Config, m, charge)
	ent.version = v
	got, added, evicted := e.models.put(ent)
	if evicted != nil {
		e.evicted(evicted)
	}
	if !added {
		e.budget.release(charge)
	}
	return got, added, nil
}

// storeTrained stores the values training gave the model of ent (a new
// version) and then sets them on this Engine's copy.
func (e *Engine) storeTrained(ctx context.Context, ent *entry, values []float64) error {
	// A training that finished is stored even at its deadline: the store
	// bounds its own calls.
	v, err := e.modelStore.Update(context.WithoutCancel(ctx), ent.key, values)
	if err != nil {
		return e.storeError(ctx, ent, ent.key, err)
	}
	return ent.update(values, v)
}

// unloadStoredModel deletes the model id of the call's tenant from the
// store, for every node, and drops this Engine's copy. Other nodes drop
// theirs at their next use of the id; the cached results they remember go
// then, the others with the cache's TTL (ids are never reused, so none is
// served).
func (e *Engine) unloadStoredModel(ctx context.Context, id string) (*UnloadModelResult, error) {
	key, err := modelKey(ctx, id)
	if err != nil {
		return nil, err
	}
	ent := e.models.get(key)
	if err := e.modelStore.Delete(ctx, key); err != nil {
		return nil, e.storeError(ctx, ent, key, err)
	}
	res := &UnloadModelResult{Success: true, ModelID: id}
	res.ModelType, _, _ = modelstore.ParseID(key)
	if ent != nil && e.models.removeEntry(ent) {
		res.ModelType, res.FreedBytes = ent.typ, ent.charge
		res.CachedResults = e.dropped(ctx, ent)
	}
	return res, nil
}

// listStoredModels lists the store's models of the call's tenant.
func (e *Engine) listStoredModels(ctx context.Context) (*ModelsResult, error) {
	stored, err := e.modelStore.List(ctx, TenantOf(ctx))
	if err != nil {
		return nil, storeUnavailable("", err)
	}
	out := make([]ModelSummary, 0, len(stored))
	for _, m := range stored {
		s, err := e.summaries.of(m.Type, m.Config)
		if err != nil {
			return nil, storeUnavailable(m.ID, fmt.Errorf("stored record does not make a model: %w", err))
		}
		_, id := modelstore.SplitID(m.ID)
		out = append(out, ModelSummary{ModelID: id, ModelType: m.Type, NParameters: s.parameters, Config: s.config})
	}
	return &ModelsResult{Success: true, Models: out}, nil
}

// summaries remembers what list_models shows of a type and configuration,
// which it learns by building the model once.
type summaries struct {
	mu sync.Mutex
	m  map[summaryKey]summary
}

type summaryKey struct {
	typ string
	cfg stringtheory.Config
}

type summary struct {
	parameters int
	config     map[string]any
}

// maxSummaries bounds the summaries remembered; past it they are forgotten.
const maxSummaries = 1024

func (s *summaries) of(typ string, cfg stringtheory.Config) (summary, error) {
	k := summaryKey{typ, cfg}
	s.mu.Lock()
	sum, ok := s.m[k]
	s.mu.Unlock()
	if ok {
		return sum, nil
	}
	plan, err := stringtheory.PlanFor(typ, cfg)
	if err != nil {
		return summary{}, err
	}
	m := plan.Build()
	sum = summary{parameters: m.NumParameters(), config: m.Config()}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil || len(s.m) >= maxSummaries {
		s.m = make(map[summaryKey]summary)
	}
	s.m[k] = sum
	return sum, nil
}

// reserveModel charges a model (or a copy) to the budget, failing with an
// error that names field. With a model store, copies of stored models
// make room: the least recently used goes until the charge fits. None
// goes when the charge could not fit anyway: more than the limit, or more
// than the copies' charges could free (trainings hold the rest).
func (e *Engine) reserveModel(field, what string, charge int64) error {
	for {
		err := e.budget.reserve(field, what, charge)
		if err == nil || e.modelStore == nil || !errors.Is(err, ErrResourceExhausted) {
			return err
		}
		used, limit := e.budget.usage()
		if charge > limit || charge-(limit-used) > e.models.charged() {
			return err
		}
		ent := e.models.evict()
		if ent == nil {
			return err
		}
		e.evicted(ent)
	}
}

// evicted releases the budget of a copy removed to make room; the stored
// model stays, and its cached results stay valid.
func (e *Engine) evicted(ent *entry) {
	e.budget.release(ent.charge)
	e.mon.ModelLoaded(-1)
}

// storeError turns a store's error about the model key into the call's:
// not_found (dropping the stale copy ent, if any) or unavailable.
func (e *Engine) storeError(ctx context.Context, ent *entry, key string, err error) error {
	if !errors.Is(err, modelstore.ErrNotFound) {
		return storeUnavailable(key, err)
	}
	if ent != nil && e.models.removeEntry(ent) {
		e.dropped(ctx, ent)
	}
	_, id := modelstore.SplitID(key)
	return modelNotFound(id)
}

// storeUnavailable reports a model store that failed about the model key
// (or none: ""), naming the model as its tenant knows it.
func storeUnavailable(key string, err error) error {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return stopped("model store", err)
	}
	_, id := modelstore.SplitID(key)
	msg := "model store unavailable: " + err.Error()
	if id != "" {
		msg = "model_id: " + truncate(id, 64) + ": " + msg
	}
	return &Error{Code: CodeUnavailable, Field: fieldIf(id), Message: msg, Err: fmt.Errorf("%w: %w", ErrUnavailable, err)}
}

func fieldIf(id string) string {
	if id == "" {
		return ""
	}
	return "model_id"
}
