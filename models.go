package dredge

import "context"

// ---- list_models ----

// ModelSummary describes one loaded model.
type ModelSummary struct {
	ModelID     string         `json:"model_id"`
	ModelType   string         `json:"model_type"`
	NParameters int            `json:"n_parameters"`
	Config      map[string]any `json:"config"`
}

// ModelsResult is list_models' result.
type ModelsResult struct {
	Success bool           `json:"success"`
	Models  []ModelSummary `json:"models"`
}

// ListModels lists the loaded models, sorted by id.
func (e *Engine) ListModels(ctx context.Context) (*ModelsResult, error) {
	return opListModels.run(ctx, e, &NoParams{})
}

func (e *Engine) listModels(context.Context) (*ModelsResult, error) {
	ents := e.models.list()
	out := make([]ModelSummary, len(ents))
	for i, ent := range ents {
		ent.mu.RLock()
		out[i] = ModelSummary{ModelID: ent.id, ModelType: ent.typ, NParameters: ent.model.NumParameters(), Config: ent.model.Config()}
		ent.mu.RUnlock()
	}
	return &ModelsResult{Success: true, Models: out}, nil
}

// ---- unload_model ----

// UnloadModelParams are unload_model's parameters.
type UnloadModelParams struct {
	ModelID string `json:"model_id" jsonschema:"id returned by load_model"`
}

// UnloadModelResult is unload_model's result.
type UnloadModelResult struct {
	Success   bool   `json:"success"`
	ModelID   string `json:"model_id"`
	ModelType string `json:"model_type"`
	// FreedBytes is the model memory returned to the budget
	// (MODEL_MEMORY_LIMIT).
	FreedBytes int64 `json:"freed_bytes"`
	// CachedResults counts the model's cached inference results deleted.
	CachedResults int `json:"cached_results"`
}

// UnloadModel unloads a model: its id stops answering, its memory returns
// to the budget, and its cached inference results are deleted. Calls that
// hold the model already finish with it.
func (e *Engine) UnloadModel(ctx context.Context, p *UnloadModelParams) (*UnloadModelResult, error) {
	return opUnloadModel.run(ctx, e, p)
}

func (e *Engine) unloadModel(ctx context.Context, p *UnloadModelParams) (*UnloadModelResult, error) {
	ent, err := e.models.remove(p.ModelID)
	if err != nil {
		return nil, err
	}
	e.budget.release(ent.charge)
	e.mon.ModelLoaded(-1)
	keys := ent.forget()
	for _, k := range keys {
		// Without the caller's deadline: the model is gone whatever
		// happens, and its results should go with it.
		e.results.Delete(context.WithoutCancel(ctx), resultKey(k))
	}
	return &UnloadModelResult{Success: true, ModelID: ent.id, ModelType: ent.typ, FreedBytes: ent.charge, CachedResults: len(keys)}, nil
}
