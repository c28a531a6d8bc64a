package dredge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/internal/jsonx"
	"github.com/dredge-cli/dredge/modelstore"
	"github.com/dredge-cli/dredge/stringtheory"
)

// ---- load_model ----

// ModelConfig configures load_model and benchmark. Fields left out take the
// model type's defaults; fields a type does not use are ignored.
type ModelConfig struct {
	NWaves       *int     `json:"n_waves,omitempty" jsonschema:"ensemble size (1D default 16, 4D 8, 6D 6)"`
	Dimensions   *int     `json:"dimensions,omitempty" jsonschema:"string_theory input width (default 10)"`
	HiddenSize   *int     `json:"hidden_size,omitempty" jsonschema:"hidden width of string_theory and siren (default 64)"`
	NumLayers    *int     `json:"num_layers,omitempty" jsonschema:"hidden layers of string_theory, sine layers of siren: 1..10 (default 2)"`
	UseBatchNorm *bool    `json:"use_batch_norm,omitempty" jsonschema:"string_theory: batch normalisation before each tanh"`
	Dim          *int     `json:"dim,omitempty" jsonschema:"interference_basis spatial dimension (default 1)"`
	NumFields    *int     `json:"num_fields,omitempty" jsonschema:"interference_basis field count (default 8)"`
	OutFeatures  *int     `json:"out_features,omitempty" jsonschema:"interference_basis outputs per point (default 1)"`
	InputDim     *int     `json:"input_dim,omitempty" jsonschema:"siren and rff input width (default 1)"`
	NumFeatures  *int     `json:"num_features,omitempty" jsonschema:"rff frequency count (default 128)"`
	Sigma        *float64 `json:"sigma,omitempty" jsonschema:"rff frequency scale (default 5)"`
	W0           *float64 `json:"w0,omitempty" jsonschema:"siren frequency factor (default 30)"`
	Seed         *uint64  `json:"seed,omitempty" jsonschema:"seed of the initial parameters (default 0)"`
	// Parameters restores named tensors: name → number, (nested) array, or
	// {"value": …} as get_parameters returns them.
	Parameters map[string]ParamValue `json:"parameters,omitempty" jsonschema:"parameters to restore: name to value(s), as get_parameters returns them"`
	// Epochs and LearningRate are read by benchmark only.
	Epochs       *int     `json:"epochs,omitempty" jsonschema:"benchmark: training epochs (default 100)"`
	LearningRate *float64 `json:"learning_rate,omitempty" jsonschema:"benchmark: Adam learning rate (default 0.01)"`
}

// ParamValue is a tensor's values given as a number, a nested array, or an
// object with a "value" field; it decodes to the flattened values.
type ParamValue []float64

// UnmarshalJSON implements json.Unmarshaler. A value that is not a number
// is a *json.UnmarshalTypeError naming its element ("[2][1]", "value[0]").
func (p *ParamValue) UnmarshalJSON(b []byte) error {
	path := ""
	if s := (numScanner{b: b}); s.peek() == '{' {
		var obj struct {
			Value json.RawMessage `json:"value"`
		}
		if err := jsonx.Unmarshal(b, &obj); err != nil || obj.Value == nil {
			return invalid("config.parameters", "an object parameter needs a \"value\" field")
		}
		b, path = obj.Value, "value"
	}
	s := numScanner{b: b}
	v, bad := s.nested(make([]float64, 0, 8), 0)
	if bad == nil {
		bad = s.rest()
	}
	if bad != nil {
		bad.path = path + bad.path
		return bad.typeError(floatType)
	}
	*p = v
	return nil
}

// LoadModelParams are load_model's parameters.
type LoadModelParams struct {
	ModelType string      `json:"model_type" jsonschema:"one of the model types of list_capabilities"`
	Config    ModelConfig `json:"config,omitzero" jsonschema:"model configuration"`
}

// LoadModelResult is load_model's result.
type LoadModelResult struct {
	Success     bool           `json:"success"`
	ModelID     string         `json:"model_id"`
	ModelType   string         `json:"model_type"`
	NParameters int            `json:"n_parameters"`
	Config      map[string]any `json:"config"`
	// Dimensions, HiddenSize and NumLayers repeat a string_theory model's
	// config at the top level, where the original answered them; they are
	// left out for other model types.
	Dimensions int `json:"dimensions,omitempty"`
	HiddenSize int `json:"hidden_size,omitempty"`
	NumLayers  int `json:"num_layers,omitempty"`
	// Device is the kind of device the model runs on ("cpu", "cuda").
	Device string `json:"device"`
	// DeviceInfo is set for string_theory, as the original's answer had it.
	DeviceInfo *ModelDeviceInfo `json:"device_info,omitempty"`
}

// The parameters of a model's configuration (load_model and benchmark).
// Their defaults depend on the model type.
var (
	paramModelType   = Param{Path: "model_type", Enum: stringtheory.ModelTypes}
	paramNWaves      = intParam("config.n_waves", 1, stringtheory.MaxWaves, nil)
	paramDimensions  = intParam("config.dimensions", 1, stringtheory.MaxInputDim, nil)
	paramHiddenSize  = intParam("config.hidden_size", 1, stringtheory.MaxHidden, nil)
	paramNumLayers   = intParam("config.num_layers", 1, stringtheory.MaxLayers, nil)
	paramDim         = intParam("config.dim", 1, 16, nil)
	paramNumFields   = intParam("config.num_fields", 1, stringtheory.MaxFields, nil)
	paramOutFeatures = intParam("config.out_features", 1, stringtheory.MaxHidden, nil)
	paramInputDim    = intParam("config.input_dim", 1, stringtheory.MaxInputDim, nil)
	paramNumFeatures = intParam("config.num_features", 1, stringtheory.MaxFeatures, nil)
	paramSigma       = positiveParam("config.sigma", nil)
	paramW0          = positiveParam("config.w0", nil)

	modelFacts = []Param{paramModelType, paramNWaves, paramDimensions, paramHiddenSize, paramNumLayers,
		paramDim, paramNumFields, paramOutFeatures, paramInputDim, paramNumFeatures, paramSigma, paramW0}
)

// modelConfig validates c for typ and converts it.
func (e *Engine) modelConfig(typ string, c *ModelConfig) (stringtheory.Config, error) {
	var cfg stringtheory.Config
	var err error
	set := func(dst *int, p Param, v *int) {
		if err == nil {
			*dst, err = p.intOf(v)
		}
	}
	set(&cfg.NWaves, paramNWaves, c.NWaves)
	set(&cfg.Dimensions, paramDimensions, c.Dimensions)
	set(&cfg.HiddenSize, paramHiddenSize, c.HiddenSize)
	set(&cfg.NumLayers, paramNumLayers, c.NumLayers)
	set(&cfg.Dim, paramDim, c.Dim)
	set(&cfg.NumFields, paramNumFields, c.NumFields)
	set(&cfg.OutFeatures, paramOutFeatures, c.OutFeatures)
	set(&cfg.InputDim, paramInputDim, c.InputDim)
	set(&cfg.NumFeatures, paramNumFeatures, c.NumFeatures)
	if err != nil {
		return cfg, err
	}
	if cfg.Sigma, err = paramSigma.floatOf(c.Sigma); err != nil {
		return cfg, err
	}
	if cfg.W0, err = paramW0.floatOf(c.W0); err != nil {
		return cfg, err
	}
	if c.UseBatchNorm != nil {
		cfg.UseBatchNorm = *c.UseBatchNorm
	}
	if c.Seed != nil {
		cfg.Seed = *c.Seed
	}
	if typ == stringtheory.TypeStringNN {
		if cfg.NumLayers == 0 {
			cfg.NumLayers = e.stringNN.NumLayers
		}
		if cfg.HiddenSize == 0 {
			cfg.HiddenSize = e.stringNN.HiddenSize
		}
		if c.UseBatchNorm == nil {
			cfg.UseBatchNorm = e.stringNN.UseBatchNorm
		}
	}
	return cfg, nil
}

// planModel checks c for typ and plans the model from it alone, without
// allocating anything of the model's size.
func (e *Engine) planModel(typ string, c *ModelConfig) (stringtheory.Plan, error) {
	if !slices.Contains(paramModelType.Enum, typ) {
		return stringtheory.Plan{}, modelTypeError(typ)
	}
	cfg, err := e.modelConfig(typ, c)
	if err != nil {
		return stringtheory.Plan{}, err
	}
	return stringtheory.PlanFor(typ, cfg)
}

// buildModel builds a planned model and restores c.Parameters.
func buildModel(p stringtheory.Plan, c *ModelConfig) (stringtheory.Model, error) {
	m := p.Build()
	if len(c.Parameters) > 0 {
		vals := make(map[string][]float64, len(c.Parameters))
		for k, v := range c.Parameters {
			vals[k] = v
		}
		if err := m.SetValues(vals); err != nil {
			return nil, decodeError("config", err)
		}
	}
	return m, nil
}

// LoadModel builds a model, optionally restores its parameters, and
// registers it under a new id "<model_type>_<n>".
func (e *Engine) LoadModel(ctx context.Context, p *LoadModelParams) (*LoadModelResult, error) {
	return opLoadModel.run(ctx, e, p)
}

func (e *Engine) loadModel(ctx context.Context, p *LoadModelParams) (*LoadModelResult, error) {
	spanModelType(ctx, p.ModelType)
	plan, err := e.planModel(p.ModelType, &p.Config)
	if err != nil {
		return nil, err
	}
	charge := plan.Bytes()
	if err := e.reserveModel("config", fmt.Sprintf("a %s model of %d values", plan.Type, plan.Values), charge); err != nil {
		return nil, err
	}
	m, err := buildModel(plan, &p.Config)
	if err == nil && errors.Is(ctx.Err(), context.Canceled) {
		// The caller has gone: a model no one would know the id of would
		// hold budget until the process ends. (Past a deadline the caller
		// still waits for the answer, so the model is kept.)
		err = stopped("load_model", ctx.Err())
	}
	var ent *entry
	added := true
	if err == nil {
		if e.modelStore != nil {
			ent, added, err = e.storeNewModel(ctx, plan, m, charge)
		} else {
			ent, err = e.models.add(TenantOf(ctx), p.ModelType, plan.Config, m, charge)
		}
	}
	if err != nil {
		e.budget.release(charge)
		return nil, err
	}
	if added {
		e.modelLoaded()
	}
	res := &LoadModelResult{Success: true, ModelID: ent.id, ModelType: ent.typ, NParameters: m.NumParameters(), Config: m.Config(), Device: e.devInfo.Kind}
	if ent.typ == stringtheory.TypeStringNN {
		res.Dimensions, _ = res.Config["dimensions"].(int)
		res.HiddenSize, _ = res.Config["hidden_size"].(int)
		res.NumLayers, _ = res.Config["num_layers"].(int)
		bn, _ := res.Config["use_batch_norm"].(bool)
		res.DeviceInfo = &ModelDeviceInfo{Device: res.Device, CUDAAvailable: res.Device == accel.KindCUDA, NumLayers: res.NumLayers, UseBatchNorm: bn}
	}
	return res, nil
}

// ---- inference ----

// InferenceParams are inference's parameters.
type InferenceParams struct {
	ModelID string `json:"model_id" jsonschema:"id returned by load_model"`
	Inputs  Inputs `json:"inputs" jsonschema:"named inputs: x and t (1D); x y z t (4D); x1..x5 and t (6D); x rows (and t for interference_basis) otherwise"`
}

// InferenceResult is inference's result. Output is a flat array for
// single-output models and rows otherwise.
type InferenceResult struct {
	Success bool   `json:"success"`
	ModelID string `json:"model_id"`
	Output  Values `json:"output"`
	Cached  bool   `json:"cached"`

	ent *entry // the model, which remembers where its results are stored
}

// modelInputs checks the request's inputs against the model's and returns
// them flattened with the point count.
func modelInputs(m stringtheory.Model, in Inputs) (map[string][]float64, int, error) {
	if len(in) == 0 {
		return nil, 0, invalid("inputs", "is required")
	}
	fields := m.Inputs()
	out := make(map[string][]float64, len(fields))
	n := -1
	for _, f := range fields {
		v, ok := in[f.Name]
		if !ok {
			names := make([]string, len(fields))
			for i, f := range fields {
				names[i] = f.Name
			}
			return nil, 0, invalid("inputs."+f.Name, "is required (this model takes %v)", names)
		}
		var rows int
		switch {
		case v.Width == 0 && f.Width == 1:
			rows = len(v.Data)
		case v.Width == 0 && len(v.Data) == f.Width:
			rows = 1 // a single row given flat
		case v.Width == f.Width:
			rows = len(v.Data) / f.Width
		default:
			w := v.Width
			if w == 0 {
				w = 1
			}
			return nil, 0, invalid("inputs."+f.Name, "rows must have %d values, got %d", f.Width, w)
		}
		if n >= 0 && rows != n {
			return nil, 0, invalid("inputs."+f.Name, "has %d points, but inputs.%s has %d: inputs must have equal lengths", rows, fields[0].Name, n)
		}
		n = rows
		out[f.Name] = v.Data
	}
	for name := range in {
		if _, ok := out[name]; !ok {
			return nil, 0, invalid("inputs."+truncate(name, 32), "is not an input of this model")
		}
	}
	if n < 1 {
		return nil, 0, invalid("inputs", "needs at least one point")
	}
	if n > stringtheory.MaxPoints {
		return nil, 0, invalid("inputs", "at most %d points per request, got %d", stringtheory.MaxPoints, n)
	}
	return out, n, nil
}

// Inference evaluates a loaded model at the given points.
func (e *Engine) Inference(ctx context.Context, p *InferenceParams) (*InferenceResult, error) {
	return opInference.run(ctx, e, p)
}

func (e *Engine) inference(ctx context.Context, p *InferenceParams) (*InferenceResult, error) {
	ent, err := e.model(ctx, p.ModelID)
	if err != nil {
		return nil, err
	}
	spanModelType(ctx, ent.typ)
	// A model's inputs and sizes never change: no lock is needed to check
	// the request against them.
	in, n, err := modelInputs(ent.model, p.Inputs)
	if err != nil {
		return nil, err
	}
	work := float64(n) * float64(ent.model.NumParameters())
	if err := checkWork("inputs", work, "send fewer points per request"); err != nil {
		return nil, err
	}
	if work >= HeavyWork {
		// The turn comes before the model's lock, so that a call waiting
		// for a turn never holds up one that holds a turn.
		if err := e.heavy.take(ctx); err != nil {
			return nil, err
		}
		defer e.heavy.give()
	}
	ent.mu.RLock()
	defer ent.mu.RUnlock()
	out, err := ent.model.Forward(ctx, e.dev, in, n)
	if err != nil {
		return nil, stopped("inference", err)
	}
	w := ent.model.OutputWidth()
	if w == 1 {
		w = 0
	}
	return &InferenceResult{Success: true, ModelID: ent.id, Output: Values{Data: out, Width: w}, ent: ent}, nil
}

// inferenceKey names an inference answer by the model, the fingerprint of
// its parameters (a trained model's old answers are never served) and the
// inputs.
func inferenceKey(e *Engine, ctx context.Context, p *InferenceParams) (string, error) {
	ent, err := e.model(ctx, p.ModelID)
	if err != nil {
		return "", err
	}
	ent.mu.RLock()
	version := ent.fingerprint
	ent.mu.RUnlock()
	k := newKeyHash()
	k.str(ent.key)
	k.str(version)
	for _, name := range slices.Sorted(maps.Keys(p.Inputs)) {
		v := p.Inputs[name]
		k.str(name)
		k.int(v.Width)
		k.floats(v.Data)
	}
	return k.key("inference/v2/"), nil
}

func (r *InferenceResult) cachedCopy() any {
	c := *r
	c.Output.Data = slices.Clone(r.Output.Data)
	c.Cached = true
	return &c
}

// stored records that the result is stored under key, so that unloading
// the model deletes it.
func (r *InferenceResult) stored(key string) { r.ent.remember(key) }

// ---- get_parameters ----

// GetParametersParams are get_parameters' parameters.
type GetParametersParams struct {
	ModelID string `json:"model_id" jsonschema:"id returned by load_model"`
}

// Parameter is one named tensor of get_parameters.
type Parameter struct {
	Value        json.RawMessage `json:"value"`
	Shape        []int           `json:"shape"`
	RequiresGrad bool            `json:"requires_grad"`
}

// ParametersResult is get_parameters' result.
type ParametersResult struct {
	Success     bool                 `json:"success"`
	ModelID     string               `json:"model_id"`
	ModelType   string               `json:"model_type"`
	NParameters int                  `json:"n_parameters"`
	Parameters  map[string]Parameter `json:"parameters"`
}

// GetParameters returns a loaded model's named tensors, values nested by shape.
func (e *Engine) GetParameters(ctx context.Context, p *GetParametersParams) (*ParametersResult, error) {
	return opGetParameters.run(ctx, e, p)
}

func (e *Engine) getParameters(ctx context.Context, p *GetParametersParams) (*ParametersResult, error) {
	ent, err := e.model(ctx, p.ModelID)
	if err != nil {
		return nil, err
	}
	ent.mu.RLock()
	tensors, vals, np := ent.model.Tensors(), ent.model.Values(), ent.model.NumParameters()
	ent.mu.RUnlock()
	res := &ParametersResult{Success: true, ModelID: ent.id, ModelType: ent.typ, NParameters: np, Parameters: make(map[string]Parameter, len(tensors))}
	for _, t := range tensors {
		v, err := appendNested(nil, vals[t.Offset:t.Offset+t.Size()], t.Shape)
		if err != nil {
			return nil, err
		}
		res.Parameters[t.Name] = Parameter{Value: v, Shape: t.Shape, RequiresGrad: t.Trainable}
	}
	return res, nil
}

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

// ListModels lists the loaded models, sorted by id; with [WithModelStore],
// every stored model, not only this Engine's copies.
func (e *Engine) ListModels(ctx context.Context) (*ModelsResult, error) {
	return opListModels.run(ctx, e, &NoParams{})
}

func (e *Engine) listModels(ctx context.Context) (*ModelsResult, error) {
	if e.modelStore != nil {
		return e.listStoredModels(ctx)
	}
	ents := e.models.list(TenantOf(ctx))
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
// hold the model already finish with it. With [WithModelStore] it deletes
// the stored model, for every node.
func (e *Engine) UnloadModel(ctx context.Context, p *UnloadModelParams) (*UnloadModelResult, error) {
	return opUnloadModel.run(ctx, e, p)
}

func (e *Engine) unloadModel(ctx context.Context, p *UnloadModelParams) (*UnloadModelResult, error) {
	if e.modelStore != nil {
		return e.unloadStoredModel(ctx, p.ModelID)
	}
	key, err := modelKey(ctx, p.ModelID)
	if err != nil {
		return nil, err
	}
	ent := e.models.remove(key)
	if ent == nil {
		return nil, modelNotFound(p.ModelID)
	}
	n := e.dropped(ctx, ent)
	return &UnloadModelResult{Success: true, ModelID: ent.id, ModelType: ent.typ, FreedBytes: ent.charge, CachedResults: n}, nil
}

// dropped releases what ent, just removed from the registry, held: its
// budget, and its cached results, whose number it returns.
func (e *Engine) dropped(ctx context.Context, ent *entry) int {
	e.budget.release(ent.charge)
	e.mon.ModelLoaded(-1)
	keys := ent.forget()
	for _, k := range keys {
		// Without the caller's deadline: the model is gone whatever
		// happens, and its results should go with it.
		e.results.Delete(context.WithoutCancel(ctx), resultKey(k))
	}
	return len(keys)
}

// ---- the registry of loaded models ----

// entry is one loaded model. mu guards model's parameters and version:
// readers (inference, get_parameters) hold it shared, writers (restore,
// training, a refresh from the model store) exclusively.
type entry struct {
	id          string // as its tenant knows it: "<type>_<n>"
	key         string // in the registry and the model store: modelstore.TenantID(tenant, id)
	tenant      string
	typ         string
	cfg         stringtheory.Config
	mu          sync.RWMutex
	model       stringtheory.Model
	fingerprint string // paramsFingerprint of the parameters: their version
	version     uint64 // the model store's version of the parameters (0: no store)
	charge      int64  // bytes charged to the Engine's budget

	used atomic.Int64 // with a model store: the registry's tick of the last use, for eviction

	keysMu sync.Mutex
	keys   map[string]struct{} // result-cache keys of its inferences, for unload_model
}

// maxRememberedKeys bounds the inference keys a model remembers (about
// 100 bytes each). Results of inferences past it are not deleted when the
// model is unloaded; no request can reach them (ids are never reused) and
// they leave the cache with its TTL or its eviction.
const maxRememberedKeys = 1 << 14

// remember records a result-cache key of one of the model's inferences.
func (e *entry) remember(key string) {
	e.keysMu.Lock()
	defer e.keysMu.Unlock()
	if e.keys == nil {
		e.keys = make(map[string]struct{})
	}
	if len(e.keys) < maxRememberedKeys {
		e.keys[key] = struct{}{}
	}
}

// forget returns the remembered keys and forgets them.
func (e *entry) forget() []string {
	e.keysMu.Lock()
	defer e.keysMu.Unlock()
	keys := make([]string, 0, len(e.keys))
	for k := range e.keys {
		keys = append(keys, k)
	}
	e.keys = nil
	return keys
}

// changed records a change of the parameters; mu must be held for writing.
func (e *entry) changed() {
	e.fingerprint = paramsFingerprint(e.model.Values())
}

// registry holds the loaded models by key (entry.key: tenant and id):
// with a model store, the copies this Engine holds of stored models.
type registry struct {
	mu     sync.RWMutex
	byKey  map[string]*entry
	counts map[string]int // per tenant and type, for ids <type>_<n> (without a model store)
	max    int
	tick   atomic.Int64 // with a model store: uses, for entry.used

	// Each tenant's registered models, and how many a tenant may load
	// (0: no limit; enforced by add, without a model store).
	perTenant    map[string]int
	maxPerTenant int
}

// add registers m, which is charged charge bytes (already reserved),
// under a new id of the tenant. It is the registry of an Engine without a
// model store.
func (r *registry) add(tenant, typ string, cfg stringtheory.Config, m stringtheory.Model, charge int64) (*entry, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.counts == nil {
		r.counts = make(map[string]int)
	}
	if len(r.byKey) >= r.max {
		return nil, &Error{Code: CodeUnavailable, Field: "model_type", Message: fmt.Sprintf("model_type: too many models loaded (limit %d)", r.max), Err: ErrUnavailable}
	}
	if r.maxPerTenant > 0 && r.perTenant[tenant] >= r.maxPerTenant {
		return nil, modelsLimit(r.maxPerTenant)
	}
	counter := modelstore.TenantID(tenant, typ)
	n := r.counts[counter]
	r.counts[counter] = n + 1
	e := newEntry(tenant, modelstore.FormatID(typ, uint64(n)), typ, cfg, m, charge)
	r.link(e)
	return e, nil
}

// newEntry makes the entry of the tenant's model id.
func newEntry(tenant, id, typ string, cfg stringtheory.Config, m stringtheory.Model, charge int64) *entry {
	return &entry{id: id, key: modelstore.TenantID(tenant, id), tenant: tenant, typ: typ, cfg: cfg, model: m,
		fingerprint: paramsFingerprint(m.Values()), charge: charge}
}

// put registers e, a copy of a stored model whose charge is reserved. When
// another goroutine registered the id first, put returns that entry and
// added false (the caller releases e's charge). A full registry makes
// room by removing the least recently used copy, which put returns as
// evicted (the caller releases its charge).
func (r *registry) put(e *entry) (got *entry, added bool, evicted *entry) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.byKey[e.key]; ok {
		return old, false, nil
	}
	if len(r.byKey) >= r.max {
		evicted = r.lruLocked()
		r.unlink(evicted)
	}
	e.used.Store(r.tick.Add(1))
	r.link(e)
	return e, true, evicted
}

// evict removes the least recently used copy and returns it, or nil when
// the registry is empty.
func (r *registry) evict() *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.lruLocked()
	if e != nil {
		r.unlink(e)
	}
	return e
}

// link registers e; r.mu is held for writing.
func (r *registry) link(e *entry) {
	if r.byKey == nil {
		r.byKey = make(map[string]*entry)
	}
	if r.perTenant == nil {
		r.perTenant = make(map[string]int)
	}
	r.byKey[e.key] = e
	r.perTenant[e.tenant]++
}

// unlink unregisters e, which is registered; r.mu is held for writing.
func (r *registry) unlink(e *entry) {
	delete(r.byKey, e.key)
	if r.perTenant[e.tenant]--; r.perTenant[e.tenant] == 0 {
		delete(r.perTenant, e.tenant)
	}
}

func (r *registry) lruLocked() *entry {
	var lru *entry
	for _, e := range r.byKey {
		if lru == nil || e.used.Load() < lru.used.Load() {
			lru = e
		}
	}
	return lru
}

// charged returns the bytes charged to the registered entries.
func (r *registry) charged() int64 {
	r.mu.RLock()
	defer r.mu.RUnlock()
	var n int64
	for _, e := range r.byKey {
		n += e.charge
	}
	return n
}

// touch records a use of e, for eviction.
func (r *registry) touch(e *entry) { e.used.Store(r.tick.Add(1)) }

// get returns the entry of key, or nil.
func (r *registry) get(key string) *entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.byKey[key]
}

// modelNotFound is the error of an unknown model id.
func modelNotFound(id string) error {
	return notFound("model_id", "no model %q is loaded", truncate(id, 64))
}

// remove unregisters the model of key and returns it, or nil when none
// is registered.
func (r *registry) remove(key string) *entry {
	r.mu.Lock()
	defer r.mu.Unlock()
	e := r.byKey[key]
	if e != nil {
		r.unlink(e)
	}
	return e
}

// removeEntry unregisters e if it is still registered, and reports whether it was.
func (r *registry) removeEntry(e *entry) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byKey[e.key] != e {
		return false
	}
	r.unlink(e)
	return true
}

func (r *registry) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.byKey)
}

// list returns the tenant's entries, sorted by id.
func (r *registry) list(tenant string) []*entry {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*entry, 0)
	for _, e := range r.byKey {
		if e.tenant == tenant {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func modelTypeError(typ string) error {
	if typ == "" {
		return invalid("model_type", "is required (one of %s)", strings.Join(stringtheory.ModelTypes, ", "))
	}
	return notFound("model_type", "unknown model type %q (known: %s)", truncate(typ, 64), strings.Join(stringtheory.ModelTypes, ", "))
}
