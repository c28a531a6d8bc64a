package stringtheory

import "math"

// Dataset is a training set: named input columns of N points and the target
// value at each point.
type Dataset struct {
	Name   string
	N      int
	Inputs map[string][]float64
	Target []float64
}

// GlitchyChirp is the 1D data set of the Quasimoto paper: 1000 points evenly
// spaced on [−10, 10] at t = 0, y = sin(0.5x²)·exp(−0.1x²), plus 0.5·sin(20x)
// on indices [500, 550).
func GlitchyChirp() Dataset {
	const n = 1000
	x := Linspace(-10, 10, n)
	y := make([]float64, n)
	for i, v := range x {
		y[i] = math.Sin(0.5*v*v) * math.Exp(-0.1*v*v)
		if i >= 500 && i < 550 {
			y[i] += 0.5 * math.Sin(20*v)
		}
	}
	return Dataset{Name: "glitchy_chirp", N: n, Inputs: map[string][]float64{"x": x, "t": make([]float64, n)}, Target: y}
}

// Grid4D is the 4D data set: a size³ grid on [−5, 5]³ at t = 0 (meshgrid
// 'ij' order, x slowest), exp(−½r²)·sin(2x)·cos(2y)·sin(2z). The paper uses size 20.
func Grid4D(size int) Dataset {
	ax := Linspace(-5, 5, size)
	n := size * size * size
	x, y, z := make([]float64, 0, n), make([]float64, 0, n), make([]float64, 0, n)
	s := make([]float64, 0, n)
	for _, a := range ax {
		for _, b := range ax {
			for _, c := range ax {
				x, y, z = append(x, a), append(y, b), append(z, c)
				r2 := a*a + b*b + c*c
				s = append(s, math.Exp(-0.5*r2)*math.Sin(2*a)*math.Cos(2*b)*math.Sin(2*c))
			}
		}
	}
	return Dataset{Name: "grid_4d", N: n, Inputs: map[string][]float64{"x": x, "y": y, "z": z, "t": make([]float64, n)}, Target: s}
}

// Grid6D is the 6D data set: a size⁵ grid on [−3, 3]⁵ at t = 0 (meshgrid
// 'ij' order, x1 slowest), exp(−0.1r²)·sin(x1+x2)·cos(x3)·sin(x4−x5)·cos(x2·x4).
// The paper uses size 8.
func Grid6D(size int) Dataset {
	ax := Linspace(-3, 3, size)
	n := size * size * size * size * size
	cols := make([][]float64, 5)
	for i := range cols {
		cols[i] = make([]float64, 0, n)
	}
	s := make([]float64, 0, n)
	var idx [5]int
	for p := 0; p < n; p++ {
		rem := p
		for a := 4; a >= 0; a-- {
			idx[a] = rem % size
			rem /= size
		}
		var v [5]float64
		r2 := 0.0
		for a := 0; a < 5; a++ {
			v[a] = ax[idx[a]]
			cols[a] = append(cols[a], v[a])
			r2 += v[a] * v[a]
		}
		s = append(s, math.Exp(-0.1*r2)*math.Sin(v[0]+v[1])*math.Cos(v[2])*math.Sin(v[3]-v[4])*math.Cos(v[1]*v[3]))
	}
	return Dataset{Name: "grid_6d", N: n, Inputs: map[string][]float64{
		"x1": cols[0], "x2": cols[1], "x3": cols[2], "x4": cols[3], "x5": cols[4], "t": make([]float64, n),
	}, Target: s}
}
