package dredge_test

import (
	"context"
	"math"
	"slices"
	"testing"

	"github.com/dredge-cli/dredge"
)

// TestTrainingSlice: the slice of each paper data set lies on a line along
// the first input, holds the set's targets there, and goes to inference as
// it is; types trained on synthetic rows are refused, naming model_type.
func TestTrainingSlice(t *testing.T) {
	e, err := dredge.New()
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	chirp := func(x float64) float64 { return math.Sin(0.5*x*x) * math.Exp(-0.1*x*x) }
	grid4 := func(in map[string]float64) float64 {
		x, y, z := in["x"], in["y"], in["z"]
		return math.Exp(-0.5*(x*x+y*y+z*z)) * math.Sin(2*x) * math.Cos(2*y) * math.Sin(2*z)
	}
	grid6 := func(in map[string]float64) float64 {
		x1, x2, x3, x4, x5 := in["x1"], in["x2"], in["x3"], in["x4"], in["x5"]
		r2 := x1*x1 + x2*x2 + x3*x3 + x4*x4 + x5*x5
		return math.Exp(-0.1*r2) * math.Sin(x1+x2) * math.Cos(x3) * math.Sin(x4-x5) * math.Cos(x2*x4)
	}
	for _, c := range []struct {
		typ, name, axis string
		n, points       int
		fixed           []string
		truth           func(map[string]float64) float64 // nil: not checked
	}{
		{"quasimoto_ensemble", "glitchy_chirp", "x", 1000, 1000, []string{"t"}, nil},
		{"siren", "glitchy_chirp", "x", 1000, 1000, nil, nil},
		{"quasimoto_4d", "grid_4d", "x", 8000, 20, []string{"t", "y", "z"}, grid4},
		{"quasimoto_ensemble_6d", "grid_6d", "x1", 32768, 8, []string{"t", "x2", "x3", "x4", "x5"}, grid6},
	} {
		s, err := e.TrainingSlice(c.typ)
		if err != nil {
			t.Fatalf("%s: %v", c.typ, err)
		}
		if !s.Success || s.ModelType != c.typ || s.Name != c.name || s.N != c.n || s.Axis != c.axis || len(s.Target) != c.points {
			t.Errorf("%s: %s of %d points along %s, %d on the line; want %s of %d along %s, %d", c.typ,
				s.Name, s.N, s.Axis, len(s.Target), c.name, c.n, c.axis, c.points)
			continue
		}
		if got := slices.Sorted(func(yield func(string) bool) {
			for k := range s.Fixed {
				yield(k)
			}
		}); !slices.Equal(got, c.fixed) {
			t.Errorf("%s: fixed %v, want %v", c.typ, got, c.fixed)
		}
		for k, v := range s.Fixed {
			if k == "t" && v != 0 {
				t.Errorf("%s: t fixed at %g, want 0", c.typ, v)
			}
			if col := s.Inputs[k]; len(col) != c.points || slices.ContainsFunc(col, func(x float64) bool { return x != v }) {
				t.Errorf("%s: inputs.%s is not %g throughout", c.typ, k, v)
			}
		}
		// The line with the most to fit: along the grids' lines nearest
		// the origin the targets can be flat (6D: x4 = x5 makes them 0).
		if mean, sd := meanSD(s.Target); sd < 0.05 {
			t.Errorf("%s: targets along the line: mean %g, standard deviation %g; want the line with the most spread", c.typ, mean, sd)
		}
		axis := s.Inputs[c.axis]
		if !slices.IsSorted(axis) || axis[0] >= axis[len(axis)-1] {
			t.Errorf("%s: the axis %s does not increase", c.typ, c.axis)
		}
		for i := range s.Target {
			pt := map[string]float64{}
			for k, col := range s.Inputs {
				pt[k] = col[i]
			}
			want := math.NaN()
			switch {
			case c.truth != nil:
				want = c.truth(pt)
			case c.name == "glitchy_chirp" && (i < 500 || i >= 550):
				want = chirp(axis[i])
			}
			if !math.IsNaN(want) && math.Abs(s.Target[i]-want) > 1e-12 {
				t.Fatalf("%s: target[%d] = %g at %v, want %g", c.typ, i, s.Target[i], pt, want)
			}
		}

		m, err := e.LoadModel(context.Background(), &dredge.LoadModelParams{ModelType: c.typ})
		if err != nil {
			t.Fatal(err)
		}
		in := dredge.Inputs{}
		for k, col := range s.Inputs {
			in[k] = dredge.Column(col...)
		}
		out, err := e.Inference(context.Background(), &dredge.InferenceParams{ModelID: m.ModelID, Inputs: in})
		if err != nil {
			t.Fatalf("%s: inference on the slice: %v", c.typ, err)
		}
		if len(out.Output.Data) != c.points {
			t.Errorf("%s: %d outputs for %d points", c.typ, len(out.Output.Data), c.points)
		}
	}

	if _, err := e.TrainingSlice("string_theory"); dredge.CodeOf(err) != dredge.CodeInvalidArgument || dredge.FieldOf(err) != "model_type" {
		t.Errorf("TrainingSlice(string_theory): %v, want invalid_argument naming model_type", err)
	}
	// An unknown type is refused as load_model refuses it.
	for _, typ := range []string{"rff_nope", ""} {
		_, err := e.TrainingSlice(typ)
		_, want := e.LoadModel(context.Background(), &dredge.LoadModelParams{ModelType: typ})
		if want == nil || dredge.CodeOf(err) != dredge.CodeOf(want) || dredge.FieldOf(err) != "model_type" {
			t.Errorf("TrainingSlice(%q): %v, want load_model's %v", typ, err, want)
		}
	}
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}
