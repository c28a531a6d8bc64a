package dredge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/internal/jsonx"
	"github.com/dredge-cli/dredge/stringtheory"
)

// Limits on outside input that are not model sizes (see stringtheory for those).
const (
	// MaxInsightBytes bounds dredge_insight and insight_text.
	MaxInsightBytes = 1 << 20
)

// ---- list_capabilities ----

// Capabilities is the result of list_capabilities.
type Capabilities struct {
	Success      bool            `json:"success"`
	Name         string          `json:"name"`
	Version      string          `json:"version"`
	Protocol     string          `json:"protocol"`
	Capabilities CapabilityLists `json:"capabilities"`
	Features     Features        `json:"features"`
	Resources    Resources       `json:"resources"`
}

// CapabilityLists names the model types and operations.
type CapabilityLists struct {
	Models     []string `json:"models"`
	Operations []string `json:"operations"`
}

// Features reports optional subsystems and the device.
type Features struct {
	Caching    bool       `json:"caching"`
	Metrics    bool       `json:"metrics"`
	GPUSupport bool       `json:"gpu_support"`
	DeviceInfo DeviceInfo `json:"device_info"`
}

// Capabilities lists model types, operations and features.
func (e *Engine) Capabilities(ctx context.Context) (*Capabilities, error) {
	return opCapabilities.run(ctx, e, &NoParams{})
}

func (e *Engine) capabilities(ctx context.Context) (*Capabilities, error) {
	return &Capabilities{
		Success:  true,
		Name:     Name,
		Version:  Version,
		Protocol: "dredge-mcp/1",
		Capabilities: CapabilityLists{
			Models:     slices.Clone(stringtheory.ModelTypes),
			Operations: Operations(),
		},
		Features: Features{
			Caching:    e.cachingEnabled(),
			Metrics:    e.metricsEnabled(),
			GPUSupport: e.devInfo.Kind == accel.KindCUDA,
			DeviceInfo: deviceInfo(e.devInfo),
		},
		Resources: e.resources(),
	}, nil
}

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
	charge := BytesPerValue * int64(plan.Values)
	if err := e.budget.reserve("config", fmt.Sprintf("a %s model of %d values", plan.Type, plan.Values), charge); err != nil {
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
	if err == nil {
		ent, err = e.models.add(p.ModelType, plan.Config, m, charge)
	}
	if err != nil {
		e.budget.release(charge)
		return nil, err
	}
	e.modelLoaded()
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

// AppendJSON appends the result's JSON encoding to b, as json.Marshal
// would write it.
func (r *InferenceResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, `,"model_id":`...)
	b = appendString(b, r.ModelID)
	b = append(b, `,"output":`...)
	var err error
	if b, err = appendMatrix(b, r.Output.Data, r.Output.Width); err != nil {
		return nil, err
	}
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, r.Cached)
	return append(b, '}'), nil
}

// Inference evaluates a loaded model at the given points.
func (e *Engine) Inference(ctx context.Context, p *InferenceParams) (*InferenceResult, error) {
	return opInference.run(ctx, e, p)
}

func (e *Engine) inference(ctx context.Context, p *InferenceParams) (*InferenceResult, error) {
	ent, err := e.models.get(p.ModelID)
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
	return &InferenceResult{Success: true, ModelID: ent.id, Output: Values{Data: out, Width: w}}, nil
}

// inferenceKey names an inference answer by the model, the fingerprint of
// its parameters (a trained model's old answers are never served) and the
// inputs.
func inferenceKey(e *Engine, p *InferenceParams) (string, error) {
	ent, err := e.models.get(p.ModelID)
	if err != nil {
		return "", err
	}
	ent.mu.RLock()
	version := ent.fingerprint
	ent.mu.RUnlock()
	k := newKeyHash()
	k.str(ent.id)
	k.str(version)
	for _, name := range slices.Sorted(maps.Keys(p.Inputs)) {
		v := p.Inputs[name]
		k.str(name)
		k.int(v.Width)
		k.floats(v.Data)
	}
	key := k.key("inference/v2/")
	ent.remember(key)
	return key, nil
}

func (r *InferenceResult) cachedCopy() any {
	c := *r
	c.Output.Data = slices.Clone(r.Output.Data)
	c.Cached = true
	return &c
}

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
	ent, err := e.models.get(p.ModelID)
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

// appendNested encodes v as nested arrays of the given shape.
func appendNested(b []byte, v []float64, shape []int) ([]byte, error) {
	if len(shape) <= 1 {
		return appendFloats(b, v)
	}
	step := len(v) / shape[0]
	b = append(b, '[')
	for i := 0; i < shape[0]; i++ {
		if i > 0 {
			b = append(b, ',')
		}
		var err error
		if b, err = appendNested(b, v[i*step:(i+1)*step], shape[1:]); err != nil {
			return nil, err
		}
	}
	return append(b, ']'), nil
}

// ---- string_spectrum ----

// SpectrumParams are string_spectrum's parameters.
type SpectrumParams struct {
	MaxModes   *int `json:"max_modes,omitempty" jsonschema:"number of energy levels (default 10)"`
	Dimensions *int `json:"dimensions,omitempty" jsonschema:"spacetime dimensions (default 10)"`
}

// SpectrumResult is string_spectrum's result.
type SpectrumResult struct {
	Success        bool      `json:"success"`
	Dimensions     int       `json:"dimensions"`
	MaxModes       int       `json:"max_modes"`
	EnergySpectrum []float64 `json:"energy_spectrum"`
	Cached         bool      `json:"cached"`
}

// string_spectrum's parameters.
var (
	paramMaxModes     = intParam("max_modes", 1, stringtheory.MaxModes, 10)
	paramSpectrumDims = intParam("dimensions", 1, stringtheory.MaxModes, 10)
	spectrumFacts     = []Param{paramMaxModes, paramSpectrumDims}
)

func (p *SpectrumParams) resolve() (maxModes, dims int, err error) {
	if maxModes, err = paramMaxModes.intOf(p.MaxModes); err != nil {
		return 0, 0, err
	}
	dims, err = paramSpectrumDims.intOf(p.Dimensions)
	return maxModes, dims, err
}

// AppendJSON appends the result's JSON encoding to b, as json.Marshal
// would write it.
func (r *SpectrumResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, `,"dimensions":`...)
	b = strconv.AppendInt(b, int64(r.Dimensions), 10)
	b = append(b, `,"max_modes":`...)
	b = strconv.AppendInt(b, int64(r.MaxModes), 10)
	b = append(b, `,"energy_spectrum":`...)
	var err error
	if r.EnergySpectrum == nil {
		b = append(b, "null"...)
	} else if b, err = appendFloats(b, r.EnergySpectrum); err != nil {
		return nil, err
	}
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, r.Cached)
	return append(b, '}'), nil
}

// spectrumKey names a string_spectrum answer by its resolved parameters.
func spectrumKey(_ *Engine, p *SpectrumParams) (string, error) {
	maxModes, dims, err := p.resolve()
	if err != nil {
		return "", err
	}
	k := newKeyHash()
	k.int(maxModes)
	k.int(dims)
	return k.key("spectrum/v2/"), nil
}

func (r *SpectrumResult) cachedCopy() any {
	c := *r
	c.EnergySpectrum = slices.Clone(r.EnergySpectrum)
	c.Cached = true
	return &c
}

// StringSpectrum returns the energy levels E_1 … E_max_modes of a string.
func (e *Engine) StringSpectrum(ctx context.Context, p *SpectrumParams) (*SpectrumResult, error) {
	return opSpectrum.run(ctx, e, p)
}

func (e *Engine) stringSpectrum(ctx context.Context, p *SpectrumParams) (*SpectrumResult, error) {
	maxModes, dims, err := p.resolve()
	if err != nil {
		return nil, err
	}
	s := stringtheory.Vibration{Dimensions: dims, Length: 1}
	spec, err := s.Spectrum(maxModes)
	if err != nil {
		return nil, err
	}
	return &SpectrumResult{Success: true, Dimensions: dims, MaxModes: maxModes, EnergySpectrum: spec}, nil
}

// ---- string_parameters ----

// StringParametersParams are string_parameters' parameters.
type StringParametersParams struct {
	EnergyScale      *float64 `json:"energy_scale,omitempty" jsonschema:"energy scale (default 1.0)"`
	CouplingConstant *float64 `json:"coupling_constant,omitempty" jsonschema:"string coupling, > 0 (default 0.1)"`
}

// string_parameters' parameters.
var (
	paramEnergyScale      = positiveParam("energy_scale", 1.0)
	paramCoupling         = positiveParam("coupling_constant", 0.1)
	stringParametersFacts = []Param{paramEnergyScale, paramCoupling}
)

// StringParametersResult is string_parameters' result.
type StringParametersResult struct {
	Success    bool                    `json:"success"`
	Parameters stringtheory.Parameters `json:"parameters"`
}

// StringParameters returns a string's length, tension and constants.
func (e *Engine) StringParameters(ctx context.Context, p *StringParametersParams) (*StringParametersResult, error) {
	return opStringParameters.run(ctx, e, p)
}

func (e *Engine) stringParameters(ctx context.Context, p *StringParametersParams) (*StringParametersResult, error) {
	es, err := paramEnergyScale.floatOf(p.EnergyScale)
	if err != nil {
		return nil, err
	}
	g, err := paramCoupling.floatOf(p.CouplingConstant)
	if err != nil {
		return nil, err
	}
	params, err := stringtheory.StringParameters(es, g)
	if err != nil {
		return nil, err
	}
	return &StringParametersResult{Success: true, Parameters: params}, nil
}

// ---- unified_inference ----

// UnifiedParams are unified_inference's parameters.
type UnifiedParams struct {
	Insight string  `json:"dredge_insight" jsonschema:"free text insight (default empty)"`
	Coords  *Floats `json:"quasimoto_coords,omitempty" jsonschema:"Quasimoto coordinates (default [0.5])"`
	Modes   *Ints   `json:"string_modes,omitempty" jsonschema:"string mode numbers, each ≥ 1 (default [1, 2, 3])"`
}

// UnifiedResult is unified_inference's result.
type UnifiedResult struct {
	Success bool `json:"success"`
	// QuasimotoCoordinates is Coords (the same slice) under the name the
	// original answered them.
	QuasimotoCoordinates []float64 `json:"quasimoto_coordinates"`
	stringtheory.UnifiedResult
}

// unified_inference's parameters.
var (
	paramInsight   = Param{Path: "dredge_insight", Default: ""}
	paramCoords    = Param{Path: "quasimoto_coords", MaxItems: stringtheory.MaxCoords, Default: []float64{0.5}}
	paramModes     = Param{Path: "string_modes", MaxItems: stringtheory.MaxModes, Default: []int{1, 2, 3}}
	paramModeItems = intParam("string_modes[]", 1, stringtheory.MaxModes, nil)
	unifiedFacts   = []Param{paramInsight, paramCoords, paramModes, paramModeItems}
)

func (p *UnifiedParams) resolve() (string, []float64, []int, error) {
	coords, modes := paramCoords.Default.([]float64), paramModes.Default.([]int)
	if p.Coords != nil {
		coords = *p.Coords
	}
	if p.Modes != nil {
		modes = *p.Modes
	}
	if len(p.Insight) > MaxInsightBytes {
		return "", nil, nil, invalid("dredge_insight", "at most %d bytes, got %d", MaxInsightBytes, len(p.Insight))
	}
	if !utf8.ValidString(p.Insight) {
		return "", nil, nil, invalid("dredge_insight", "must be valid UTF-8")
	}
	if err := paramCoords.itemsOf(len(coords)); err != nil {
		return "", nil, nil, err
	}
	if err := paramModes.itemsOf(len(modes)); err != nil {
		return "", nil, nil, err
	}
	for i, c := range coords {
		if math.IsNaN(c) || math.IsInf(c, 0) {
			return "", nil, nil, invalid("quasimoto_coords["+strconv.Itoa(i)+"]", "must be a finite number, got %v", c)
		}
	}
	for i, m := range modes {
		if err := paramModeItems.itemOf(i, m); err != nil {
			return "", nil, nil, err
		}
	}
	return p.Insight, coords, modes, nil
}

// AppendJSON appends the result's JSON encoding to b, as json.Marshal
// would write it but without its reflection and validation costs.
func (r *UnifiedResult) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"success":`...)
	b = strconv.AppendBool(b, r.Success)
	b = append(b, `,"quasimoto_coordinates":`...)
	var err error
	if r.QuasimotoCoordinates == nil {
		b = append(b, "null"...)
	} else if b, err = appendFloats(b, r.QuasimotoCoordinates); err != nil {
		return nil, err
	}
	b = append(b, `,"dredge_insight":`...)
	b = appendString(b, r.Insight)
	b = append(b, `,"quasimoto_coords":`...)
	if b, err = appendFloats(b, r.Coords); err != nil {
		return nil, err
	}
	b = append(b, `,"string_modes":[`...)
	for i, m := range r.Modes {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(m), 10)
	}
	b = append(b, `],"coupled_amplitude":`...)
	if b, err = appendFloat(b, r.CoupledAmplitude); err != nil {
		return nil, err
	}
	b = append(b, `,"unified_field":`...)
	if b, err = r.UnifiedField.AppendJSON(b); err != nil {
		return nil, err
	}
	b = append(b, `,"device":`...)
	b = appendString(b, r.Device)
	b = append(b, `,"cached":`...)
	b = strconv.AppendBool(b, r.Cached)
	return append(b, '}'), nil
}

// maxCachedUnified bounds the coordinates and modes of a cached
// unified_inference: a longer request is computed each time.
const maxCachedUnified = 4096

// unifiedKey names a unified_inference answer by its resolved parameters
// and the device the answer reports: with a shared cache, a CUDA node must
// not hand out an answer that says "device": "cpu".
func unifiedKey(e *Engine, p *UnifiedParams) (string, error) {
	insight, coords, modes, err := p.resolve()
	if err != nil || len(coords) > maxCachedUnified || len(modes) > maxCachedUnified {
		return "", err
	}
	k := newKeyHash()
	k.str(e.devInfo.Kind)
	k.str(insight)
	k.floats(coords)
	k.ints(modes)
	return k.key("unified/v2/"), nil
}

func (r *UnifiedResult) cachedCopy() any {
	c := *r
	c.Coords = slices.Clone(r.Coords)
	c.QuasimotoCoordinates = c.Coords
	c.Modes = slices.Clone(r.Modes)
	f := &c.UnifiedField
	f.X, f.Amplitudes = slices.Clone(f.X), slices.Clone(f.Amplitudes)
	c.Cached = true
	return &c
}

// UnifiedInference couples an insight with Quasimoto coordinates and
// string modes.
func (e *Engine) UnifiedInference(ctx context.Context, p *UnifiedParams) (*UnifiedResult, error) {
	return opUnified.run(ctx, e, p)
}

func (e *Engine) unifiedInference(ctx context.Context, p *UnifiedParams) (*UnifiedResult, error) {
	insight, coords, modes, err := p.resolve()
	if err != nil {
		return nil, err
	}
	r, err := e.vib.UnifiedInference(insight, slices.Clone(coords), slices.Clone(modes))
	if err != nil {
		return nil, err
	}
	r.Device = e.devInfo.Kind
	return &UnifiedResult{Success: true, QuasimotoCoordinates: r.Coords, UnifiedResult: r}, nil
}

// ---- lift ----

// LiftParams are lift's parameters.
type LiftParams struct {
	InsightText *string `json:"insight_text" jsonschema:"the insight to lift"`
}

// LiftResult is lift's result: id is the SHA-256 hex of the text.
type LiftResult struct {
	Success bool   `json:"success"`
	ID      string `json:"id"`
	Text    string `json:"text"`
	Lifted  bool   `json:"lifted"`
	Message string `json:"message"`
}

// Lift accepts an insight and returns its content id.
func (e *Engine) Lift(ctx context.Context, p *LiftParams) (*LiftResult, error) {
	return opLift.run(ctx, e, p)
}

func (e *Engine) lift(ctx context.Context, p *LiftParams) (*LiftResult, error) {
	if p.InsightText == nil {
		return nil, invalid("insight_text", "is required")
	}
	t := *p.InsightText
	if len(t) > MaxInsightBytes {
		return nil, invalid("insight_text", "at most %d bytes, got %d", MaxInsightBytes, len(t))
	}
	if !utf8.ValidString(t) {
		return nil, invalid("insight_text", "must be valid UTF-8")
	}
	sum := sha256.Sum256([]byte(t))
	return &LiftResult{Success: true, ID: hex.EncodeToString(sum[:]), Text: t, Lifted: true, Message: "Insight lifted"}, nil
}
