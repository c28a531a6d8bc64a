package stringtheory

import (
	"cmp"
	"math"
	"math/rand/v2"

	"github.com/dredge-cli/dredge/accel"
)

// Plan is the model [New] would build for a type and configuration,
// resolved and checked from the configuration alone: a service sizes a
// request with it before it allocates anything of the model's size.
type Plan struct {
	// Type is the model type.
	Type string
	// Config is the configuration with every default filled in.
	Config Config
	// Values is the length of the model's flat vector: trainable
	// parameters and buffers (the RFF matrix, batch-norm statistics).
	Values int
	// Parameters is the number of trainable values ([Model.NumParameters]).
	Parameters int
}

// Bytes reports the memory of the model's flat vector.
func (p Plan) Bytes() int64 { return 8 * int64(p.Values) }

// PlanFor resolves cfg for modelType (defaults filled in), checks it, and
// counts what the model would hold, without building it. It returns the
// same *[FieldError] that [New] would, including one naming "config" for a
// model of more than [MaxParameters] values.
func PlanFor(modelType string, cfg Config) (Plan, error) {
	p := Plan{Type: modelType, Config: cfg}
	c := &p.Config
	switch modelType {
	case TypeWave1D, TypeWave4D, TypeWave6D, TypeEnsemble1D, TypeEnsemble4D, TypeEnsemble6D:
		f := waveFamily(modelType, c.NWaves)
		if f.Waves < 1 || f.Waves > MaxWaves {
			return p, fieldErr("config.n_waves", "must be between 1 and %d, got %d", MaxWaves, f.Waves)
		}
		if f.Head {
			c.NWaves = f.Waves
		}
		p.Values, p.Parameters = f.NumParams(), f.NumParams()
	case TypeInterferenceBasis:
		c.Dim, c.NumFields, c.OutFeatures = cmp.Or(c.Dim, 1), cmp.Or(c.NumFields, 8), cmp.Or(c.OutFeatures, 1)
		if c.Dim < 1 || c.Dim > 16 {
			return p, fieldErr("config.dim", "must be between 1 and 16, got %d", c.Dim)
		}
		if c.NumFields < 1 || c.NumFields > MaxFields {
			return p, fieldErr("config.num_fields", "must be between 1 and %d, got %d", MaxFields, c.NumFields)
		}
		if c.OutFeatures < 1 || c.OutFeatures > MaxHidden {
			return p, fieldErr("config.out_features", "must be between 1 and %d, got %d", MaxHidden, c.OutFeatures)
		}
		s := accel.Interference{Dim: c.Dim, Fields: c.NumFields, Outputs: c.OutFeatures}
		p.Values, p.Parameters = s.NumParams(), s.NumParams()
	case TypeSIREN:
		c.InputDim, c.HiddenSize, c.NumLayers = cmp.Or(c.InputDim, 1), cmp.Or(c.HiddenSize, 64), cmp.Or(c.NumLayers, 2)
		c.W0 = cmp.Or(c.W0, 30)
		if err := checkWidths(c.InputDim, c.HiddenSize, c.NumLayers); err != nil {
			return p, err
		}
		if !(c.W0 > 0) || math.IsInf(c.W0, 0) {
			return p, fieldErr("config.w0", "must be a finite positive number, got %v", c.W0)
		}
		p.Values = dense(c.InputDim, c.HiddenSize, c.NumLayers, 0)
		p.Parameters = p.Values
	case TypeRFF:
		c.InputDim, c.NumFeatures = cmp.Or(c.InputDim, 1), cmp.Or(c.NumFeatures, 128)
		c.Sigma = cmp.Or(c.Sigma, 5)
		if c.InputDim < 1 || c.InputDim > MaxInputDim {
			return p, fieldErr("config.input_dim", "must be between 1 and %d, got %d", MaxInputDim, c.InputDim)
		}
		if c.NumFeatures < 1 || c.NumFeatures > MaxFeatures {
			return p, fieldErr("config.num_features", "must be between 1 and %d, got %d", MaxFeatures, c.NumFeatures)
		}
		if !(c.Sigma > 0) || math.IsInf(c.Sigma, 0) {
			return p, fieldErr("config.sigma", "must be a finite positive number, got %v", c.Sigma)
		}
		p.Parameters = 2*c.NumFeatures + 1
		p.Values = c.InputDim*c.NumFeatures + p.Parameters
	case TypeStringNN:
		c.Dimensions, c.HiddenSize, c.NumLayers = cmp.Or(c.Dimensions, 10), cmp.Or(c.HiddenSize, 64), cmp.Or(c.NumLayers, 2)
		if c.Dimensions < 1 || c.Dimensions > MaxInputDim {
			return p, fieldErr("config.dimensions", "must be between 1 and %d, got %d", MaxInputDim, c.Dimensions)
		}
		if err := checkWidths(1, c.HiddenSize, c.NumLayers); err != nil {
			return p, err
		}
		bn := 0
		if c.UseBatchNorm {
			bn = 2 // gamma and beta per unit; the running statistics are buffers
		}
		p.Parameters = dense(c.Dimensions, c.HiddenSize, c.NumLayers, bn)
		p.Values = p.Parameters
		if c.UseBatchNorm {
			p.Values += 2 * c.NumLayers * c.HiddenSize
		}
	default:
		return p, modelTypeErr(modelType)
	}
	if p.Values > MaxParameters {
		return p, fieldErr("config", "the model would have %d parameters, more than the limit %d", p.Values, MaxParameters)
	}
	return p, nil
}

// dense counts the values of layers hidden layers of width h over in
// inputs, with extra values per hidden unit, and a one-output head.
func dense(in, h, layers, extra int) int {
	return in*h + h + (layers-1)*(h*h+h) + layers*extra*h + h + 1
}

// waveFamily is the kernel family of a wave model type with n waves
// (0: the type's default).
func waveFamily(typ string, n int) accel.WaveFamily {
	switch typ {
	case TypeWave1D:
		return accel.WaveFamily{Dim: 1, Waves: 1}
	case TypeWave4D:
		return accel.WaveFamily{Dim: 3, Waves: 1}
	case TypeWave6D:
		return accel.WaveFamily{Dim: 5, Waves: 1}
	case TypeEnsemble4D:
		return accel.WaveFamily{Dim: 3, Waves: cmp.Or(n, 8), Head: true}
	case TypeEnsemble6D:
		return accel.WaveFamily{Dim: 5, Waves: cmp.Or(n, 6), Head: true}
	}
	return accel.WaveFamily{Dim: 1, Waves: cmp.Or(n, 16), Head: true}
}

// Values per point (row) of a forward pass, by model kind, which size its
// blocks: the inputs' host and device copies, every layer's output, the
// output's copy.
func waveRowValues(dim int) int                      { return 2*(dim+1) + 2 }
func interferenceRowValues(s accel.Interference) int { return 2*(s.Dim+1) + 2*s.Outputs }
func networkRowValues(in, features, outs int) int    { return 2*in + 2*features + outs + 1 }

func modelTypeErr(typ string) error {
	return fieldErr("model_type", "unknown model type %q (known: %v)", typ, ModelTypes)
}

// Build makes the planned model with parameters drawn from its seed, its
// flat vector allocated once at its final size.
func (p Plan) Build() Model {
	c := p.Config
	rng := rand.New(rand.NewPCG(c.Seed, 0x9e3779b97f4a7c15))
	ps := params{values: make([]float64, 0, p.Values)}
	switch p.Type {
	case TypeInterferenceBasis:
		m := &Interference{params: ps}
		initInterference(m, c.Dim, c.NumFields, c.OutFeatures, rng)
		return m
	case TypeSIREN, TypeRFF, TypeStringNN:
		m := &Network{params: ps}
		switch p.Type {
		case TypeSIREN:
			initSIREN(m, c.InputDim, c.HiddenSize, c.NumLayers, c.W0, rng)
		case TypeRFF:
			initRFF(m, c.InputDim, c.NumFeatures, c.Sigma, rng)
		default:
			initStringNN(m, c.Dimensions, c.HiddenSize, c.NumLayers, c.UseBatchNorm, rng)
		}
		return m
	}
	w := &Wave{params: ps}
	initWave(w, p.Type, waveFamily(p.Type, c.NWaves), rng)
	return w
}

func checkWidths(in, hidden, layers int) error {
	if in < 1 || in > MaxInputDim {
		return fieldErr("config.input_dim", "must be between 1 and %d, got %d", MaxInputDim, in)
	}
	if hidden < 1 || hidden > MaxHidden {
		return fieldErr("config.hidden_size", "must be between 1 and %d, got %d", MaxHidden, hidden)
	}
	if layers < 1 || layers > MaxLayers {
		return fieldErr("config.num_layers", "must be between 1 and %d, got %d", MaxLayers, layers)
	}
	return nil
}
