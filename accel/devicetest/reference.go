package devicetest

import (
	"math"

	"github.com/dredge-cli/dredge/accel"
)

// The scalar references below are written from the formulas (the project's
// specification and the layouts documented in package accel) as plainly as
// possible. Each forward reference also returns the scale of every value:
// the sum of the magnitudes of the terms that make it, against which the
// relative tolerance is applied.

// point writes the spatial coordinates of point i of inputs stored by
// column (len(x)+1 columns of n values, time last) into x and returns its
// time.
func point(x, inputs []float64, n, i int) (t float64) {
	for a := range x {
		x[a] = inputs[a*n+i]
	}
	return inputs[len(x)*n+i]
}

// refWave evaluates one Quasimoto wave with parameters
// A, k[dim], omega, v[dim], log_sigma, phi, epsilon, lmbda[dim]:
//
//	ψ = A·cos(k·x − ω·t) · exp(−½ Σ ((xᵢ − vᵢ·t)/σ)²) · sin(φ + ε·cos(λ·x)),  σ = exp(log_sigma)
//
// It returns ψ and its scale |A|·envelope.
func refWave(dim int, w, x []float64, t float64) (psi, scale float64) {
	A := w[0]
	k := w[1 : 1+dim]
	omega := w[1+dim]
	v := w[2+dim : 2+2*dim]
	sigma := math.Exp(w[2+2*dim])
	phi := w[3+2*dim]
	eps := w[4+2*dim]
	lmbda := w[5+2*dim : 5+3*dim]

	phase := -omega * t
	sq := 0.0
	mod := 0.0
	for a := 0; a < dim; a++ {
		phase += k[a] * x[a]
		z := (x[a] - v[a]*t) / sigma
		sq += z * z
		mod += lmbda[a] * x[a]
	}
	env := math.Exp(-0.5 * sq)
	psi = A * math.Cos(phase) * env * math.Sin(phi+eps*math.Cos(mod))
	return psi, math.Abs(A) * env
}

// refWaveFamily evaluates a wave family at n points: ψ₀ without a head,
// bias + Σ weightⱼ·ψⱼ with one.
func refWaveFamily(f accel.WaveFamily, params, inputs []float64, n int) (out, scale []float64) {
	per := 3*f.Dim + 5
	out = make([]float64, n)
	scale = make([]float64, n)
	x := make([]float64, f.Dim)
	for i := 0; i < n; i++ {
		t := point(x, inputs, n, i)
		if !f.Head {
			out[i], scale[i] = refWave(f.Dim, params[:per], x, t)
			continue
		}
		weights := params[f.Waves*per : f.Waves*per+f.Waves]
		bias := params[f.Waves*per+f.Waves]
		sum, s := bias, math.Abs(bias)
		for j := 0; j < f.Waves; j++ {
			psi, ps := refWave(f.Dim, params[j*per:(j+1)*per], x, t)
			sum += weights[j] * psi
			s += math.Abs(weights[j]) * ps
		}
		out[i], scale[i] = sum, s
	}
	return out, scale
}

// refMSE returns mean((pred − target)²).
func refMSE(pred, target []float64) float64 {
	s := 0.0
	for i := range pred {
		r := pred[i] - target[i]
		s += r * r
	}
	return s / float64(len(pred))
}

// refInterference evaluates an interference basis at n points, returning
// n·Outputs values, row-major. The parameters are
//
//	log_sigma[d], v[d], A[F], k[F·d], omega[F], phi[F], epsilon[F], lmbda[F·d], W[O·2F]
//
// and, with σᵢ = max(exp(log_sigmaᵢ), 1e-3),
//
//	envelope = exp(−½ Σ ((xᵢ − vᵢt)/σᵢ)²) / (Π σᵢ · (2π)^(d/2))
//	ψⱼ = Aⱼ · e^{i(kⱼ·x − ωⱼt)} · envelope · sin(φⱼ + εⱼ cos(λⱼ·x))
//	output = W · [Re ψ, Im ψ]
func refInterference(s accel.Interference, params, inputs []float64, n int) (out, scale []float64) {
	d, F, O := s.Dim, s.Fields, s.Outputs
	off := 0
	take := func(m int) []float64 {
		p := params[off : off+m]
		off += m
		return p
	}
	logSigma, v := take(d), take(d)
	A, k, omega := take(F), take(F*d), take(F)
	phi, eps, lmbda := take(F), take(F), take(F*d)
	W := take(O * 2 * F)

	out = make([]float64, n*O)
	scale = make([]float64, n*O)
	re := make([]float64, F)
	im := make([]float64, F)
	mag := make([]float64, F)
	x := make([]float64, d)
	for i := 0; i < n; i++ {
		t := point(x, inputs, n, i)
		sq, norm := 0.0, math.Pow(2*math.Pi, float64(d)/2)
		for a := 0; a < d; a++ {
			sigma := math.Max(math.Exp(logSigma[a]), 1e-3)
			z := (x[a] - v[a]*t) / sigma
			sq += z * z
			norm *= sigma
		}
		env := math.Exp(-0.5*sq) / norm
		for j := 0; j < F; j++ {
			theta, m := -omega[j]*t, 0.0
			for a := 0; a < d; a++ {
				theta += k[j*d+a] * x[a]
				m += lmbda[j*d+a] * x[a]
			}
			amp := A[j] * env * math.Sin(phi[j]+eps[j]*math.Cos(m))
			re[j] = amp * math.Cos(theta)
			im[j] = amp * math.Sin(theta)
			mag[j] = math.Abs(A[j]) * env
		}
		for q := 0; q < O; q++ {
			row := W[q*2*F : (q+1)*2*F]
			sum, sc := 0.0, 0.0
			for j := 0; j < F; j++ {
				sum += row[j]*re[j] + row[F+j]*im[j]
				sc += (math.Abs(row[j]) + math.Abs(row[F+j])) * mag[j]
			}
			out[i*O+q], scale[i*O+q] = sum, sc
		}
	}
	return out, scale
}

// interferenceParams returns the length of an interference parameter
// vector, counted from the layout.
func interferenceParams(s accel.Interference) int {
	d, F, O := s.Dim, s.Fields, s.Outputs
	return d + d + F + F*d + F + F + F + F*d + O*2*F
}

// refLinear returns y = x·wᵀ + b (b may be nil).
func refLinear(x []float64, rows, in int, w, b []float64, out int) (y, scale []float64) {
	y = make([]float64, rows*out)
	scale = make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			sum, s := 0.0, 0.0
			if b != nil {
				sum, s = b[o], math.Abs(b[o])
			}
			for i := 0; i < in; i++ {
				sum += x[r*in+i] * w[o*in+i]
				s += math.Abs(x[r*in+i] * w[o*in+i])
			}
			y[r*out+o], scale[r*out+o] = sum, s
		}
	}
	return y, scale
}

// refLinearBackward returns dx = dy·w, dw = dyᵀ·x and db = column sums of
// dy, with their scales.
func refLinearBackward(x []float64, rows, in int, w []float64, out int, dy []float64) (dx, dxs, dw, dws, db, dbs []float64) {
	dx, dxs = make([]float64, rows*in), make([]float64, rows*in)
	dw, dws = make([]float64, out*in), make([]float64, out*in)
	db, dbs = make([]float64, out), make([]float64, out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			g := dy[r*out+o]
			db[o] += g
			dbs[o] += math.Abs(g)
			for i := 0; i < in; i++ {
				dx[r*in+i] += g * w[o*in+i]
				dxs[r*in+i] += math.Abs(g * w[o*in+i])
				dw[o*in+i] += g * x[r*in+i]
				dws[o*in+i] += math.Abs(g * x[r*in+i])
			}
		}
	}
	return
}

// refActivate returns act(x).
func refActivate(act accel.Activation, scale float64, x []float64) []float64 {
	y := make([]float64, len(x))
	for i, v := range x {
		switch act {
		case accel.Identity:
			y[i] = v
		case accel.Tanh:
			y[i] = math.Tanh(v)
		case accel.Sine:
			y[i] = math.Sin(scale * v)
		}
	}
	return y
}

// refActivateBackward returns dy·act′(x).
func refActivateBackward(act accel.Activation, scale float64, x, dy []float64) []float64 {
	dx := make([]float64, len(x))
	for i, v := range x {
		switch act {
		case accel.Identity:
			dx[i] = dy[i]
		case accel.Tanh:
			th := math.Tanh(v)
			dx[i] = dy[i] * (1 - th*th)
		case accel.Sine:
			dx[i] = dy[i] * scale * math.Cos(scale*v)
		}
	}
	return dx
}

// bnStats returns the per-column mean and biased variance of x (rows×cols).
func bnStats(x []float64, rows, cols int) (mean, variance []float64) {
	mean = make([]float64, cols)
	variance = make([]float64, cols)
	for j := 0; j < cols; j++ {
		for r := 0; r < rows; r++ {
			mean[j] += x[r*cols+j]
		}
		mean[j] /= float64(rows)
		for r := 0; r < rows; r++ {
			d := x[r*cols+j] - mean[j]
			variance[j] += d * d
		}
		variance[j] /= float64(rows)
	}
	return mean, variance
}

// refBatchNorm returns gamma·(x − mean)/√(var + eps) + beta, column by
// column, and its scale.
func refBatchNorm(x []float64, rows, cols int, gamma, beta, mean, variance []float64, eps float64) (y, scale []float64) {
	y = make([]float64, rows*cols)
	scale = make([]float64, rows*cols)
	for r := 0; r < rows; r++ {
		for j := 0; j < cols; j++ {
			inv := 1 / math.Sqrt(variance[j]+eps)
			xv := x[r*cols+j]
			y[r*cols+j] = gamma[j]*(xv-mean[j])*inv + beta[j]
			scale[r*cols+j] = math.Abs(gamma[j])*(math.Abs(xv)+math.Abs(mean[j]))*inv + math.Abs(beta[j])
		}
	}
	return y, scale
}

// refFourier returns [sin(x·B), cos(x·B)] row by row.
func refFourier(x []float64, rows, in int, b []float64, features int) []float64 {
	y := make([]float64, rows*2*features)
	for r := 0; r < rows; r++ {
		for f := 0; f < features; f++ {
			z := 0.0
			for a := 0; a < in; a++ {
				z += x[r*in+a] * b[a*features+f]
			}
			y[r*2*features+f] = math.Sin(z)
			y[r*2*features+features+f] = math.Cos(z)
		}
	}
	return y
}

// adamRef is PyTorch's torch.optim.Adam without weight decay or amsgrad,
// as its documentation writes it:
//
//	m ← β₁m + (1 − β₁)g
//	v ← β₂v + (1 − β₂)g²
//	m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ)
//	θ ← θ − lr·m̂/(√v̂ + ε)
//
// Alongside it keeps scales that bound the rounding a faithful
// implementation accumulates: mAbs is m computed from |g|, and pScale is
// |θ₀| plus the sum of the magnitudes of the updates bounded through mAbs.
type adamRef struct {
	lr, beta1, beta2, eps float64
	params, m, v          []float64
	mAbs, pScale          []float64
	step                  int
}

func newAdamRef(params []float64, lr, beta1, beta2, eps float64) *adamRef {
	n := len(params)
	a := &adamRef{
		lr: lr, beta1: beta1, beta2: beta2, eps: eps,
		params: append([]float64(nil), params...),
		m:      make([]float64, n), v: make([]float64, n),
		mAbs: make([]float64, n), pScale: make([]float64, n),
	}
	for i, p := range params {
		a.pScale[i] = math.Abs(p)
	}
	return a
}

// update applies one step with gradient g.
func (a *adamRef) update(g []float64) {
	a.step++
	bc1 := 1 - math.Pow(a.beta1, float64(a.step))
	bc2 := 1 - math.Pow(a.beta2, float64(a.step))
	for i := range g {
		a.m[i] = a.beta1*a.m[i] + (1-a.beta1)*g[i]
		a.v[i] = a.beta2*a.v[i] + (1-a.beta2)*g[i]*g[i]
		a.mAbs[i] = a.beta1*a.mAbs[i] + (1-a.beta1)*math.Abs(g[i])
		mhat := a.m[i] / bc1
		vhat := a.v[i] / bc2
		den := math.Sqrt(vhat) + a.eps
		a.params[i] -= a.lr * mhat / den
		a.pScale[i] += a.lr * a.mAbs[i] / bc1 / den
	}
}
