package stringtheory

import (
	"math"
	"strconv"
)

// PlanckLength is the Planck length in metres used by [StringParameters].
const PlanckLength = 1.616e-35

// Vibration models a vibrating string with ħ normalised to 1. The zero value
// is not useful; use [NewVibration] or [DefaultVibration].
type Vibration struct {
	// Dimensions is the number of spacetime dimensions (10 by default).
	Dimensions int
	// Length is the string length (1 by default).
	Length float64
}

// DefaultVibration is the string of the original: 10 dimensions, length 1.
var DefaultVibration = Vibration{Dimensions: 10, Length: 1}

// NewVibration returns a string of the given dimensions and length,
// validated: dimensions ≥ 1 and a finite positive length.
func NewVibration(dimensions int, length float64) (Vibration, error) {
	if dimensions < 1 || dimensions > MaxModes {
		return Vibration{}, fieldErr("dimensions", "must be between 1 and %d, got %d", MaxModes, dimensions)
	}
	if !(length > 0) || math.IsInf(length, 0) {
		return Vibration{}, fieldErr("length", "must be a finite positive number, got %v", length)
	}
	return Vibration{Dimensions: dimensions, Length: length}, nil
}

// Mode returns sin(n·π·x), the n-th vibrational mode at position x ∈ [0, 1].
func (s Vibration) Mode(n int, x float64) (float64, error) {
	if n < 1 {
		return 0, fieldErr("n", "mode number must be ≥ 1, got %d", n)
	}
	if !(x >= 0 && x <= 1) {
		return 0, fieldErr("x", "position must be in [0, 1], got %v", x)
	}
	return math.Sin(float64(n) * math.Pi * x), nil
}

// EnergyLevel returns n / (2·Length).
func (s Vibration) EnergyLevel(n int) (float64, error) {
	if n < 1 {
		return 0, fieldErr("n", "mode number must be ≥ 1, got %d", n)
	}
	return float64(n) / (2 * s.Length), nil
}

// Spectrum returns the energy levels E_1 … E_max.
func (s Vibration) Spectrum(max int) ([]float64, error) {
	if max < 1 || max > MaxModes {
		return nil, fieldErr("max_modes", "must be between 1 and %d, got %d", MaxModes, max)
	}
	out := make([]float64, max)
	for i := range out {
		out[i] = float64(i+1) / (2 * s.Length)
	}
	return out, nil
}

// Compactification describes the Kaluza-Klein reduction of a string on a
// circle of some radius.
type Compactification struct {
	Radius              float64   `json:"compactification_radius"`
	KaluzaKleinModes    []float64 `json:"kaluza_klein_modes"`
	EffectiveDimensions int       `json:"effective_dimensions"`
	HiddenDimensions    int       `json:"hidden_dimensions"`
}

// Compactify returns the first ten Kaluza-Klein modes n/R, four effective
// dimensions and Dimensions − 4 hidden ones.
func (s Vibration) Compactify(radius float64) (Compactification, error) {
	if !(radius > 0) || math.IsInf(radius, 0) {
		return Compactification{}, fieldErr("compactification_radius", "must be a finite positive number, got %v", radius)
	}
	modes := make([]float64, 10)
	for i := range modes {
		modes[i] = float64(i+1) / radius
	}
	return Compactification{Radius: radius, KaluzaKleinModes: modes, EffectiveDimensions: 4, HiddenDimensions: s.Dimensions - 4}, nil
}

// Parameters are a string's physical parameters.
type Parameters struct {
	StringLength     float64 `json:"string_length"`
	StringTension    float64 `json:"string_tension"`
	CouplingConstant float64 `json:"coupling_constant"`
	EnergyScale      float64 `json:"energy_scale"`
	PlanckLength     float64 `json:"planck_length"`
}

// StringParameters returns the string length planck·√coupling, the tension
// 1/(2π·coupling), and echoes the coupling and energy scale.
func StringParameters(energyScale, coupling float64) (Parameters, error) {
	if !(energyScale > 0) || math.IsInf(energyScale, 0) {
		return Parameters{}, fieldErr("energy_scale", "must be a finite positive number, got %v", energyScale)
	}
	if !(coupling > 0) || math.IsInf(coupling, 0) {
		return Parameters{}, fieldErr("coupling_constant", "must be a finite positive number, got %v", coupling)
	}
	return Parameters{
		StringLength:     PlanckLength * math.Sqrt(coupling),
		StringTension:    1 / (2 * math.Pi * coupling),
		CouplingConstant: coupling,
		EnergyScale:      energyScale,
		PlanckLength:     PlanckLength,
	}, nil
}

// CoupledAmplitude returns Σ E_n over modes times the mean of |coords|
// (a factor of 1 when coords is empty).
func (s Vibration) CoupledAmplitude(modes []int, coords []float64) (float64, error) {
	if err := checkModes("string_modes", modes); err != nil {
		return 0, err
	}
	if err := checkFinite("quasimoto_coords", coords); err != nil {
		return 0, err
	}
	amp := s.coupledAmplitude(modes, coords)
	if math.IsInf(amp, 0) || math.IsNaN(amp) {
		// Finite inputs whose amplitude overflows: too large coordinates
		// (their mean times Σ E_n), which is where the fault lies.
		return 0, fieldErr("quasimoto_coords", "too large: the coupled amplitude (the mean of |coords| times Σ E_n) overflows")
	}
	return amp, nil
}

func (s Vibration) coupledAmplitude(modes []int, coords []float64) float64 {
	e := 0.0
	for _, n := range modes {
		e += float64(n) / (2 * s.Length)
	}
	if len(coords) == 0 {
		return e
	}
	m := 0.0
	for _, c := range coords {
		m += math.Abs(c)
	}
	return e * (m / float64(len(coords)))
}

func checkModes(field string, modes []int) error {
	for i, n := range modes {
		if n < 1 || n > MaxModes {
			return fieldErr(field+"["+strconv.Itoa(i)+"]", "mode number must be between 1 and %d, got %d", MaxModes, n)
		}
	}
	return nil
}

// Field is a sampled unified field.
type Field struct {
	X          []float64 `json:"x_coordinates"`
	Amplitudes []float64 `json:"field_amplitudes"`
}

// UnifiedField samples the mean of sin(nπx) over n = 1..3 at points evenly
// spaced over [xmin, xmax], endpoints included.
func UnifiedField(xmin, xmax float64, points int) (Field, error) {
	if math.IsNaN(xmin) || math.IsInf(xmin, 0) {
		return Field{}, fieldErr("x_min", "must be a finite number, got %v", xmin)
	}
	if math.IsNaN(xmax) || math.IsInf(xmax, 0) {
		return Field{}, fieldErr("x_max", "must be a finite number, got %v", xmax)
	}
	if points < 1 || points > MaxFieldPoints {
		return Field{}, fieldErr("num_points", "must be between 1 and %d, got %d", MaxFieldPoints, points)
	}
	x := Linspace(xmin, xmax, points)
	a := make([]float64, points)
	for i, v := range x {
		a[i] = (math.Sin(math.Pi*v) + math.Sin(2*math.Pi*v) + math.Sin(3*math.Pi*v)) / 3
	}
	return Field{X: x, Amplitudes: a}, nil
}

// Linspace returns n values evenly spaced over [a, b], endpoints included,
// computed as PyTorch's linspace does (from both ends towards the middle).
func Linspace(a, b float64, n int) []float64 {
	out := make([]float64, n)
	if n == 1 {
		out[0] = a
		return out
	}
	step := (b - a) / float64(n-1)
	half := n / 2
	for i := 0; i < n; i++ {
		if i < half {
			out[i] = a + step*float64(i)
		} else {
			out[i] = b - step*float64(n-1-i)
		}
	}
	return out
}

// defaultField is UnifiedField(0, 1, 100), computed once: it does not depend
// on a unified inference's arguments.
var defaultField, _ = UnifiedField(0, 1, 100)

// DefaultUnifiedField returns the unified field every [Vibration.UnifiedInference]
// answers, UnifiedField(0, 1, 100), computed once. Its slices are shared:
// callers must not modify them.
func DefaultUnifiedField() Field { return defaultField }

// UnifiedResult is the result of [Vibration.UnifiedInference].
type UnifiedResult struct {
	Insight          string             `json:"dredge_insight"`
	Coords           []float64          `json:"quasimoto_coords"`
	Modes            []int              `json:"string_modes"`
	CoupledAmplitude float64            `json:"coupled_amplitude"`
	UnifiedField     UnifiedFieldResult `json:"unified_field"`
	Device           string             `json:"device"`
	Cached           bool               `json:"cached"`
}

// UnifiedFieldResult is the unified field part of a [UnifiedResult]. From
// [Vibration.UnifiedInference] its slices are shared by every result:
// read-only.
type UnifiedFieldResult struct {
	X          []float64 `json:"x_coordinates"`
	Amplitudes []float64 `json:"field_amplitudes"`
	Dimensions int       `json:"dimensions"`
}

// UnifiedInference couples an insight with Quasimoto coordinates and string
// modes: their coupled amplitude and the unified field. Coords and Modes of
// the result are the caller's; the field, which does not depend on the
// arguments, is [DefaultUnifiedField]'s, whose slices every result shares:
// read them, do not modify them (copy them to change them).
func (s Vibration) UnifiedInference(insight string, coords []float64, modes []int) (UnifiedResult, error) {
	if len(coords) > MaxCoords {
		return UnifiedResult{}, fieldErr("quasimoto_coords", "at most %d coordinates, got %d", MaxCoords, len(coords))
	}
	if len(modes) > MaxModes {
		return UnifiedResult{}, fieldErr("string_modes", "at most %d modes, got %d", MaxModes, len(modes))
	}
	amp, err := s.CoupledAmplitude(modes, coords)
	if err != nil {
		return UnifiedResult{}, err
	}
	// Capped, an append to a shared slice copies it instead of writing
	// past its end.
	fx, fa := defaultField.X, defaultField.Amplitudes
	return UnifiedResult{
		Insight:          insight,
		Coords:           coords,
		Modes:            modes,
		CoupledAmplitude: amp,
		UnifiedField:     UnifiedFieldResult{X: fx[:len(fx):len(fx)], Amplitudes: fa[:len(fa):len(fa)], Dimensions: s.Dimensions},
	}, nil
}
