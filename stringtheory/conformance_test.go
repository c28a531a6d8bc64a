package stringtheory_test

import (
	"context"
	"strings"
	"testing"

	"github.com/dredge-cli/dredge/accel"
	"github.com/dredge-cli/dredge/internal/golden"
	"github.com/dredge-cli/dredge/stringtheory"
)

const rel, abs = golden.ForwardRel, golden.ForwardAbs

type stringTheoryFile struct {
	Vibration []struct {
		Dimensions      int     `json:"dimensions"`
		Length          float64 `json:"length"`
		VibrationalMode []struct {
			N     int     `json:"n"`
			X     float64 `json:"x"`
			Value float64 `json:"value"`
		} `json:"vibrational_mode"`
		EnergyLevel []struct {
			N     int     `json:"n"`
			Value float64 `json:"value"`
		} `json:"energy_level"`
		ModeSpectrum struct {
			MaxModes int       `json:"max_modes"`
			Value    []float64 `json:"value"`
		} `json:"mode_spectrum"`
		Compactification []stringtheory.Compactification `json:"compactification"`
	} `json:"vibration"`
	StringParameters []stringtheory.Parameters `json:"string_parameters"`
	CoupledAmplitude []struct {
		Modes  []int     `json:"string_modes"`
		Coords []float64 `json:"quasimoto_coords"`
		Value  float64   `json:"value"`
	} `json:"coupled_amplitude"`
	UnifiedField []struct {
		XRange     []float64 `json:"x_range"`
		NumPoints  int       `json:"num_points"`
		X          []float64 `json:"x_coordinates"`
		Amplitudes []float64 `json:"field_amplitudes"`
	} `json:"unified_field"`
}

func one(t *testing.T, what string, got, want float64) {
	t.Helper()
	if !golden.Close(got, want, rel, abs) {
		t.Errorf("%s = %.17g, want %.17g", what, got, want)
	}
}

func TestConformanceStringTheory(t *testing.T) {
	var f stringTheoryFile
	golden.Load(t, "string_theory.json", &f)
	if len(f.Vibration) == 0 || len(f.UnifiedField) == 0 || len(f.CoupledAmplitude) == 0 || len(f.StringParameters) == 0 {
		t.Fatal("string_theory.json has an empty section")
	}
	for _, v := range f.Vibration {
		s, err := stringtheory.NewVibration(v.Dimensions, v.Length)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range v.VibrationalMode {
			got, err := s.Mode(c.N, c.X)
			if err != nil {
				t.Fatalf("Mode(%d, %v): %v", c.N, c.X, err)
			}
			one(t, golden.Fmt("Mode(%d, %v)", c.N, c.X), got, c.Value)
		}
		for _, c := range v.EnergyLevel {
			got, err := s.EnergyLevel(c.N)
			if err != nil {
				t.Fatal(err)
			}
			one(t, golden.Fmt("EnergyLevel(%d) L=%v", c.N, v.Length), got, c.Value)
		}
		spec, err := s.Spectrum(v.ModeSpectrum.MaxModes)
		if err != nil {
			t.Fatal(err)
		}
		golden.CheckSlice(t, "Spectrum", spec, v.ModeSpectrum.Value, rel, abs)
		for _, c := range v.Compactification {
			got, err := s.Compactify(c.Radius)
			if err != nil {
				t.Fatal(err)
			}
			golden.CheckSlice(t, "KaluzaKleinModes", got.KaluzaKleinModes, c.KaluzaKleinModes, rel, abs)
			if got.EffectiveDimensions != c.EffectiveDimensions || got.HiddenDimensions != c.HiddenDimensions {
				t.Errorf("Compactify(%v) dims = %d/%d, want %d/%d", c.Radius, got.EffectiveDimensions, got.HiddenDimensions, c.EffectiveDimensions, c.HiddenDimensions)
			}
		}
		if _, err := s.Mode(0, 0.5); err == nil {
			t.Error("Mode(0, 0.5) succeeded, want error")
		}
		if _, err := s.Mode(1, 1.5); err == nil {
			t.Error("Mode(1, 1.5) succeeded, want error")
		}
	}
	for _, c := range f.StringParameters {
		got, err := stringtheory.StringParameters(c.EnergyScale, c.CouplingConstant)
		if err != nil {
			t.Fatal(err)
		}
		one(t, "string_length", got.StringLength, c.StringLength)
		one(t, "string_tension", got.StringTension, c.StringTension)
		one(t, "planck_length", got.PlanckLength, c.PlanckLength)
		one(t, "energy_scale", got.EnergyScale, c.EnergyScale)
	}
	for _, c := range f.CoupledAmplitude {
		got, err := stringtheory.DefaultVibration.CoupledAmplitude(c.Modes, c.Coords)
		if err != nil {
			t.Fatal(err)
		}
		one(t, golden.Fmt("CoupledAmplitude(%v, %v)", c.Modes, c.Coords), got, c.Value)
	}
	for _, c := range f.UnifiedField {
		got, err := stringtheory.UnifiedField(c.XRange[0], c.XRange[1], c.NumPoints)
		if err != nil {
			t.Fatal(err)
		}
		golden.CheckSlice(t, "UnifiedField.x", got.X, c.X, rel, abs)
		golden.CheckSlice(t, "UnifiedField.amplitude", got.Amplitudes, c.Amplitudes, rel, abs)
	}
	// The unified inference's field is the default one.
	for _, c := range f.UnifiedField {
		if c.XRange[0] == 0 && c.XRange[1] == 1 && c.NumPoints == 100 {
			r, err := stringtheory.DefaultVibration.UnifiedInference("x", []float64{0.5}, []int{1, 2, 3})
			if err != nil {
				t.Fatal(err)
			}
			golden.CheckSlice(t, "UnifiedInference.field", r.UnifiedField.Amplitudes, c.Amplitudes, rel, abs)
		}
	}
}

type quasimotoFile struct {
	Waves []struct {
		Model      string               `json:"model"`
		Parameters map[string][]float64 `json:"parameters"`
		Inputs     map[string][]float64 `json:"inputs"`
		Output     []float64            `json:"output"`
	} `json:"waves"`
	Ensembles []struct {
		Model      string               `json:"model"`
		NWaves     int                  `json:"n_waves"`
		Parameters map[string][]float64 `json:"parameters"`
		Inputs     map[string][]float64 `json:"inputs"`
		Output     []float64            `json:"output"`
	} `json:"ensembles"`
	Interference []struct {
		Dim         int                  `json:"dim"`
		NumFields   int                  `json:"num_fields"`
		OutFeatures int                  `json:"out_features"`
		Parameters  map[string][]float64 `json:"parameters"`
		Inputs      map[string][]float64 `json:"inputs"`
		Output      []float64            `json:"output"`
	} `json:"interference_basis"`
	Baselines []struct {
		Model          string               `json:"model"`
		InputDim       int                  `json:"input_dim"`
		NumFeatures    int                  `json:"num_features"`
		B              []float64            `json:"B"`
		LinearWeight   []float64            `json:"linear_weight"`
		LinearBias     []float64            `json:"linear_bias"`
		W0             float64              `json:"w0"`
		Parameters     map[string][]float64 `json:"parameters"`
		ParameterShape map[string][]int     `json:"parameter_shapes"`
		Inputs         map[string][]float64 `json:"inputs"`
		Output         []float64            `json:"output"`
	} `json:"baselines"`
}

// sirenLayers counts SIREN's sine layers among its parameter names.
func sirenLayers(params map[string][]float64) int {
	layers := 0
	for name := range params {
		if strings.HasSuffix(name, ".linear.weight") {
			layers++
		}
	}
	return layers
}

// forward builds a model, restores parameters and evaluates it on inputs.
func forward(t *testing.T, typ string, cfg stringtheory.Config, params, inputs map[string][]float64, n int) []float64 {
	t.Helper()
	m, err := stringtheory.New(typ, cfg)
	if err != nil {
		t.Fatalf("New(%s): %v", typ, err)
	}
	if err := m.SetValues(params); err != nil {
		t.Fatalf("%s SetValues: %v", typ, err)
	}
	out, err := m.Forward(context.Background(), accel.NewCPU(accel.CPUConfig{}), inputs, n)
	if err != nil {
		t.Fatalf("%s Forward: %v", typ, err)
	}
	return out
}

func TestConformanceQuasimoto(t *testing.T) {
	var f quasimotoFile
	golden.Load(t, "quasimoto.json", &f)
	if len(f.Waves) == 0 || len(f.Ensembles) == 0 || len(f.Interference) == 0 || len(f.Baselines) == 0 {
		t.Fatal("quasimoto.json has an empty section")
	}
	for i, c := range f.Waves {
		out := forward(t, c.Model, stringtheory.Config{}, c.Parameters, c.Inputs, len(c.Output))
		golden.CheckSlice(t, golden.Fmt("waves[%d] %s", i, c.Model), out, c.Output, rel, abs)
	}
	for i, c := range f.Ensembles {
		out := forward(t, c.Model, stringtheory.Config{NWaves: c.NWaves}, c.Parameters, c.Inputs, len(c.Output))
		golden.CheckSlice(t, golden.Fmt("ensembles[%d] %s", i, c.Model), out, c.Output, rel, abs)
	}
	for i, c := range f.Interference {
		n := len(c.Inputs["t"])
		out := forward(t, stringtheory.TypeInterferenceBasis, stringtheory.Config{Dim: c.Dim, NumFields: c.NumFields, OutFeatures: c.OutFeatures}, c.Parameters, c.Inputs, n)
		golden.CheckSlice(t, golden.Fmt("interference_basis[%d]", i), out, c.Output, rel, abs)
	}
	for i, c := range f.Baselines {
		switch c.Model {
		case stringtheory.TypeRFF:
			params := map[string][]float64{"B": c.B, "linear.weight": c.LinearWeight, "linear.bias": c.LinearBias}
			n := len(c.Inputs["x"]) / c.InputDim
			out := forward(t, c.Model, stringtheory.Config{InputDim: c.InputDim, NumFeatures: c.NumFeatures}, params, c.Inputs, n)
			golden.CheckSlice(t, golden.Fmt("baselines[%d] rff", i), out, c.Output, rel, abs)
		case stringtheory.TypeSIREN:
			shape := c.ParameterShape["0.linear.weight"]
			cfg := stringtheory.Config{InputDim: shape[1], HiddenSize: shape[0], NumLayers: sirenLayers(c.Parameters), W0: c.W0}
			n := len(c.Inputs["x"]) / shape[1]
			out := forward(t, c.Model, cfg, c.Parameters, c.Inputs, n)
			golden.CheckSlice(t, golden.Fmt("baselines[%d] siren", i), out, c.Output, rel, abs)
		default:
			t.Errorf("baselines[%d]: unknown model %q", i, c.Model)
		}
	}
}

type stringNNFile struct {
	Cases []struct {
		Dimensions   int                  `json:"dimensions"`
		HiddenSize   int                  `json:"hidden_size"`
		NumLayers    int                  `json:"num_layers"`
		UseBatchNorm bool                 `json:"use_batch_norm"`
		Mode         string               `json:"mode"`
		NParameters  int                  `json:"n_parameters"`
		Parameters   map[string][]float64 `json:"parameters"`
		Inputs       struct {
			X      []float64 `json:"x"`
			XShape []int     `json:"x_shape"`
		} `json:"inputs"`
		Output []float64 `json:"output"`
	} `json:"cases"`
	LayerClamp []struct {
		Requested int `json:"requested"`
		Effective int `json:"effective"`
	} `json:"layer_clamp_in_reference"`
}

func TestConformanceStringNN(t *testing.T) {
	var f stringNNFile
	golden.Load(t, "string_nn.json", &f)
	if len(f.Cases) == 0 {
		t.Fatal("string_nn.json has no cases")
	}
	dev := accel.NewCPU(accel.CPUConfig{})
	for i, c := range f.Cases {
		m, err := stringtheory.New(stringtheory.TypeStringNN, stringtheory.Config{
			Dimensions: c.Dimensions, HiddenSize: c.HiddenSize, NumLayers: c.NumLayers, UseBatchNorm: c.UseBatchNorm,
		})
		if err != nil {
			t.Fatal(err)
		}
		if m.NumParameters() != c.NParameters {
			t.Errorf("case %d: n_parameters = %d, want %d", i, m.NumParameters(), c.NParameters)
		}
		if err := m.SetValues(c.Parameters); err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		nn := m.(*stringtheory.Network)
		in := map[string][]float64{"x": c.Inputs.X}
		n := c.Inputs.XShape[0]
		var out []float64
		if c.Mode == "train" {
			out, err = nn.ForwardTraining(context.Background(), dev, in, n)
		} else {
			out, err = nn.Forward(context.Background(), dev, in, n)
		}
		if err != nil {
			t.Fatalf("case %d: %v", i, err)
		}
		golden.CheckSlice(t, golden.Fmt("string_nn case %d (%s, bn=%v)", i, c.Mode, c.UseBatchNorm), out, c.Output, rel, abs)
	}
	// We reject the layer counts the reference clamped.
	for _, c := range f.LayerClamp {
		_, err := stringtheory.New(stringtheory.TypeStringNN, stringtheory.Config{NumLayers: c.Requested})
		valid := c.Requested >= 1 && c.Requested <= stringtheory.MaxLayers
		if c.Requested == 0 {
			continue // zero means the default in Config
		}
		if valid != (err == nil) {
			t.Errorf("num_layers %d: err = %v, want valid=%v", c.Requested, err, valid)
		}
	}
}

type trainingData struct {
	Data struct {
		GlitchyChirp struct {
			N      int       `json:"n"`
			XFirst []float64 `json:"x_first"`
			Y      []float64 `json:"y"`
		} `json:"glitchy_chirp"`
		Grid4D gridData `json:"grid_4d"`
		Grid6D gridData `json:"grid_6d"`
	} `json:"data"`
}

// gridData is a grid data set's side and signal in training.json.
type gridData struct {
	GridSize int       `json:"grid_size"`
	Signal   []float64 `json:"signal"`
}

func TestConformanceDatasets(t *testing.T) {
	var f trainingData
	golden.Load(t, "training.json", &f)
	g := stringtheory.GlitchyChirp()
	if g.N != f.Data.GlitchyChirp.N {
		t.Errorf("glitchy chirp has %d points, want %d", g.N, f.Data.GlitchyChirp.N)
	}
	golden.CheckSlice(t, "glitchy_chirp.x", g.Inputs["x"][:len(f.Data.GlitchyChirp.XFirst)], f.Data.GlitchyChirp.XFirst, rel, abs)
	golden.CheckSlice(t, "glitchy_chirp.y", g.Target, f.Data.GlitchyChirp.Y, rel, abs)
	golden.CheckSlice(t, "grid_4d", stringtheory.Grid4D(f.Data.Grid4D.GridSize).Target, f.Data.Grid4D.Signal, rel, abs)
	golden.CheckSlice(t, "grid_6d", stringtheory.Grid6D(f.Data.Grid6D.GridSize).Target, f.Data.Grid6D.Signal, rel, abs)
}
