package stringtheory

import (
	"math"
	"math/rand/v2"
)

// Default sizes of the training sets of [DatasetFor].
const (
	// DefaultGrid4D is the side of the 4D grid (20³ = 8,000 points).
	DefaultGrid4D = 20
	// DefaultGrid6D is the side of the 6D grid (8⁵ = 32,768 points).
	DefaultGrid6D = 8
	// SyntheticRows is the row count of [Synthetic] sets made by [DatasetFor].
	SyntheticRows = 256
)

// DatasetFor returns the default training set of a model:
//
//   - the 1D waves and ensembles: the glitchy chirp ([GlitchyChirp]);
//   - the 4D ones: the 20³ grid ([Grid4D]); the 6D ones: the 8⁵ grid ([Grid6D]);
//   - the interference basis with one output over 1, 3 or 5 axes: the chirp,
//     the 4D grid or the 6D grid, the spatial axes as the rows of "x" plus "t";
//   - SIREN and RFF with input width 1: the chirp, x as rows of width 1;
//   - everything else (the string-theory MLP, wider SIREN, RFF and
//     interference inputs, several outputs): [Synthetic] with
//     [SyntheticRows] rows of the model's input and output widths.
//
// The sets are deterministic. It returns an error only for models not made
// by [New].
func DatasetFor(m Model) (Dataset, error) {
	switch mm := m.(type) {
	case *Wave:
		if d, ok := paperSet(mm.family.Dim); ok {
			return d, nil
		}
	case *Interference:
		s := mm.shape
		if s.Outputs == 1 {
			if d, ok := paperSet(s.Dim); ok {
				return rowsOf(d, s.Dim), nil
			}
		}
		d := Synthetic(SyntheticRows, s.Dim, s.Outputs)
		d.Inputs["t"] = make([]float64, d.N)
		return d, nil
	case *Network:
		if mm.in == 1 && mm.typ != TypeStringNN && mm.OutputWidth() == 1 {
			return GlitchyChirp(), nil
		}
		return Synthetic(SyntheticRows, mm.in, mm.OutputWidth()), nil
	}
	return Dataset{}, fieldErr("model_type", "no training set for model type %q", m.Type())
}

// paperSet returns the paper's data set with dim spatial axes: the glitchy
// chirp (1), the 4D grid (3) or the 6D grid (5) at their default sizes.
func paperSet(dim int) (Dataset, bool) {
	switch dim {
	case 1:
		return GlitchyChirp(), true
	case 3:
		return Grid4D(DefaultGrid4D), true
	case 5:
		return Grid6D(DefaultGrid6D), true
	}
	return Dataset{}, false
}

// rowsOf repacks a grid or chirp data set with dim spatial columns (named
// as a wave's axes) into "x" rows of width dim plus "t".
func rowsOf(d Dataset, dim int) Dataset {
	axes := axisNames[dim]
	x := make([]float64, d.N*dim)
	for a, name := range axes {
		col := d.Inputs[name]
		for i := 0; i < d.N; i++ {
			x[i*dim+a] = col[i]
		}
	}
	return Dataset{Name: d.Name, N: d.N, Inputs: map[string][]float64{"x": x, "t": d.Inputs["t"]}, Target: d.Target}
}

// Synthetic returns a deterministic regression set of rows points: inputs
// "x" of width in drawn from N(0, 1) (a fixed PCG seed), and outs targets
// per row (row-major), target j of a row being the smooth function
//
//	tanh(Σ_a s_a·x_a / √in) + ½·sin(x_{j mod in} + j)
//
// where s_a alternates +1, −1.
func Synthetic(rows, in, outs int) Dataset {
	rng := rand.New(rand.NewPCG(2024, 0x5eed))
	x := make([]float64, rows*in)
	normal(rng, x, 1)
	y := make([]float64, rows*outs)
	scale := 1 / math.Sqrt(float64(in))
	for r := 0; r < rows; r++ {
		row := x[r*in : (r+1)*in]
		s := 0.0
		for a, v := range row {
			if a%2 == 0 {
				s += v
			} else {
				s -= v
			}
		}
		base := math.Tanh(s * scale)
		for j := 0; j < outs; j++ {
			y[r*outs+j] = base + 0.5*math.Sin(row[j%in]+float64(j))
		}
	}
	return Dataset{Name: "synthetic", N: rows, Inputs: map[string][]float64{"x": x}, Target: y}
}
