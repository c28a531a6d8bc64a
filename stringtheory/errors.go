package stringtheory

import (
	"errors"
	"fmt"
	"math"
)

// ErrInvalidArgument is wrapped by every error caused by bad input.
var ErrInvalidArgument = errors.New("invalid argument")

// FieldError reports bad input and names the field at fault.
type FieldError struct {
	// Field is the dotted path of the field, e.g. "config.hidden_size" or "inputs.x[3]".
	Field string
	// Reason says what is wrong with it.
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap makes errors.Is(err, ErrInvalidArgument) true.
func (e *FieldError) Unwrap() error { return ErrInvalidArgument }

// fieldErr builds a *FieldError.
func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

// checkFinite returns a *FieldError naming field[i] for the first NaN or ±Inf in v.
func checkFinite(field string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fieldErr(fmt.Sprintf("%s[%d]", field, i), "must be a finite number, got %v", x)
		}
	}
	return nil
}

// Limits bound the sizes that outside input may ask for. They protect a
// service from requests that would exhaust memory or time.
const (
	// MaxModes bounds max_modes and mode numbers.
	MaxModes = 100_000
	// MaxCoords bounds the number of quasimoto_coords of a unified inference.
	MaxCoords = 100_000
	// MaxFieldPoints bounds the points of a unified field.
	MaxFieldPoints = 1_000_000
	// MaxPoints bounds the points (rows) of one inference request.
	MaxPoints = 1 << 20
	// MaxWaves bounds n_waves of an ensemble.
	MaxWaves = 1024
	// MaxFields bounds the fields of an interference basis.
	MaxFields = 1024
	// MaxHidden bounds hidden_size.
	MaxHidden = 4096
	// MaxLayers bounds num_layers (MinLayers is 1).
	MaxLayers = 10
	// MaxInputDim bounds the input width of the MLP, SIREN and RFF models.
	MaxInputDim = 4096
	// MaxFeatures bounds num_features of random Fourier features.
	MaxFeatures = 1 << 16
	// MaxParameters bounds the values of any model: trainable parameters
	// and buffers.
	MaxParameters = 1 << 24
	// MaxWork bounds the work of one call, counted as multiply-adds of
	// points × trainable parameters: an inference's points, or a
	// training's data points times its epochs (about 45 s on one core of a
	// 2020s server).
	MaxWork = 1 << 38
)
