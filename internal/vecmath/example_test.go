package vecmath_test

import (
	"fmt"
	"math"

	"github.com/dredge-cli/dredge/internal/vecmath"
)

func Example() {
	x := []float64{0, math.Pi / 6, math.Pi / 2, 1, -2}
	sin, cos := make([]float64, len(x)), make([]float64, len(x))
	vecmath.Sincos(sin, cos, x)
	e := make([]float64, len(x))
	vecmath.Exp(e, x)
	vecmath.Tanh(x, x) // in place
	for i := range x {
		fmt.Printf("sin %.6f  cos %.6f  exp %.6f  tanh %.6f\n", sin[i], cos[i], e[i], x[i])
	}
	// Output:
	// sin 0.000000  cos 1.000000  exp 1.000000  tanh 0.000000
	// sin 0.500000  cos 0.866025  exp 1.688092  tanh 0.480473
	// sin 1.000000  cos 0.000000  exp 4.810477  tanh 0.917152
	// sin 0.841471  cos 0.540302  exp 2.718282  tanh 0.761594
	// sin -0.909297  cos -0.416147  exp 0.135335  tanh -0.964028
}

// A SIREN layer's activation with ω₀ = 30 and its gradient through dy.
func ExampleSinScaled() {
	x := []float64{0, 0.01, -0.05}
	y := make([]float64, len(x))
	vecmath.SinScaled(y, x, 30)
	dy := []float64{1, 1, 0.5}
	dx := make([]float64, len(x))
	vecmath.SinScaledGrad(dx, dy, x, 30)
	for i := range x {
		fmt.Printf("x %5.2f  sin(30x) %.6f  d/dx·dy %.6f\n", x[i], y[i], dx[i])
	}
	// Output:
	// x  0.00  sin(30x) 0.000000  d/dx·dy 30.000000
	// x  0.01  sin(30x) 0.295520  d/dx·dy 28.660095
	// x -0.05  sin(30x) -0.997495  d/dx·dy 1.061058
}
