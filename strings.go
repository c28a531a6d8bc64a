package dredge

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"github.com/dredge-cli/dredge/stringtheory"
)

// Limits on outside input that are not model sizes (see stringtheory for those).
const (
	// MaxInsightBytes bounds dredge_insight and insight_text.
	MaxInsightBytes = 1 << 20
)

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

// spectrumKey names a string_spectrum answer by its resolved parameters.
func spectrumKey(_ *Engine, _ context.Context, p *SpectrumParams) (string, error) {
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
	if err := checkText("dredge_insight", p.Insight); err != nil {
		return "", nil, nil, err
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

// maxCachedUnified bounds the coordinates and modes of a cached
// unified_inference: a longer request is computed each time.
const maxCachedUnified = 4096

// unifiedKey names a unified_inference answer by its resolved parameters
// and the device the answer reports: with a shared cache, a CUDA node must
// not hand out an answer that says "device": "cpu".
func unifiedKey(e *Engine, _ context.Context, p *UnifiedParams) (string, error) {
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
	// The field's slices are shared and read-only (see
	// stringtheory.Vibration.UnifiedInference): they need no copy.
	c.Cached = true
	return &c
}

// UnifiedInference couples an insight with Quasimoto coordinates and
// string modes. The unified field's slices are shared by every result:
// read them, do not modify them.
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

// checkText checks an insight's text: valid UTF-8 of at most
// MaxInsightBytes.
func checkText(field, s string) error {
	if len(s) > MaxInsightBytes {
		return invalid(field, "at most %d bytes, got %d", MaxInsightBytes, len(s))
	}
	if !utf8.ValidString(s) {
		return invalid(field, "must be valid UTF-8")
	}
	return nil
}

func (e *Engine) lift(ctx context.Context, p *LiftParams) (*LiftResult, error) {
	if p.InsightText == nil {
		return nil, invalid("insight_text", "is required")
	}
	t := *p.InsightText
	if err := checkText("insight_text", t); err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(t))
	return &LiftResult{Success: true, ID: hex.EncodeToString(sum[:]), Text: t, Lifted: true, Message: "Insight lifted"}, nil
}
