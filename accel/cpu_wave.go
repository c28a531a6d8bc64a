package accel

import (
	"math"
	"sync"

	"github.com/dredge-cli/dredge/internal/vecmath"
)

// waveVec is the type of a wave's per-axis values in the kernels
// specialised for the 1, 3 and 5 spatial axes of the 1D, 4D and 6D models:
// each is compiled separately, with constant trip counts and no bounds
// checks in the axis loops.
type waveVec interface {
	[1]float64 | [3]float64 | [5]float64
}

// waveState is one wave's constants and gradient accumulators in one
// chunk of a kernel call.
type waveState[V waveVec] struct {
	// Constants of the call: the parameters, exp(−log_sigma) as inv, and
	// the head weight h (1 without a head).
	a, omega, inv, phi, eps, h float64
	k, v, lm                   V
	// Gradient accumulators.
	gA, gOmega, gLogSigma, gPhi, gEps, gH float64
	gk, gv, glm                           V
}

// waveBlock is the number of points a wave kernel evaluates together: the
// points' arguments are formed first, then their sines, cosines and
// exponentials in tight loops without calls (see [sincosBlock]).
const waveBlock = 16

// waveBlockState holds one wave's intermediates at a block of points
// (every one written before it is read: the pooled states are not cleared).
type waveBlockState[V waveVec] struct {
	sn, cs, sm, cm, sz, cz, env [waveBlock]float64
	u                           [waveBlock]V
}

// slicePool is a sync.Pool of slices of T.
type slicePool[T any] struct{ p sync.Pool }

// get returns a slice of n values, holding whatever its last user left.
func (sp *slicePool[T]) get(n int) *[]T {
	p, _ := sp.p.Get().(*[]T)
	if p == nil {
		p = new([]T)
	}
	if cap(*p) < n {
		*p = make([]T, n)
	}
	*p = (*p)[:n]
	return p
}

func (sp *slicePool[T]) put(p *[]T) { sp.p.Put(p) }

// waveScratch pools the scratch of each specialisation of the wave kernels.
type waveScratch struct {
	s1 slicePool[waveState[[1]float64]]
	s3 slicePool[waveState[[3]float64]]
	s5 slicePool[waveState[[5]float64]]
	b1 slicePool[waveBlockState[[1]float64]]
	b3 slicePool[waveBlockState[[3]float64]]
	b5 slicePool[waveBlockState[[5]float64]]
	v1 slicePool[float64] // the assembly kernels' scratch (cpu_wave1.go, cpu_waved.go)
}

// wavePools returns c's pools for V.
func wavePools[V waveVec](c *CPU) (*slicePool[waveState[V]], *slicePool[waveBlockState[V]]) {
	var s, b any
	switch any(*new(V)).(type) {
	case [1]float64:
		s, b = &c.waves.s1, &c.waves.b1
	case [3]float64:
		s, b = &c.waves.s3, &c.waves.b3
	default:
		s, b = &c.waves.s5, &c.waves.b5
	}
	return s.(*slicePool[waveState[V]]), b.(*slicePool[waveBlockState[V]])
}

// setConstants sets st (one state per wave) to the constants of the
// parameter vector p of f with zero accumulators, and returns the head
// bias (0 without a head).
func setConstants[V waveVec](f WaveFamily, p []float64, st []waveState[V]) float64 {
	d, pw := f.Dim, f.PerWave()
	for j := range st {
		w := &st[j]
		*w = waveState[V]{} // zero accumulators
		q := p[j*pw : (j+1)*pw]
		w.a, w.omega = q[0], q[1+d]
		w.inv = math.Exp(-q[2+2*d])
		w.phi, w.eps = q[3+2*d], q[4+2*d]
		for a := range len(w.k) {
			w.k[a], w.v[a], w.lm[a] = q[1+a], q[2+d+a], q[5+2*d+a]
		}
		w.h = 1
		if f.Head {
			w.h = p[f.Waves*pw+j]
		}
	}
	if f.Head {
		return p[f.Waves*pw+f.Waves]
	}
	return 0
}

// columns splits the column layout of inputs of f (Dim ≤ 5) into its
// spatial columns and the time column.
func columns(f WaveFamily, in []float64, n int) (xs [5][]float64, t []float64) {
	for a := range f.Dim {
		xs[a] = in[a*n : (a+1)*n]
	}
	return xs, in[f.Dim*n : (f.Dim+1)*n]
}

// WaveForward implements [Device].
func (c *CPU) WaveForward(f WaveFamily, params, inputs Buffer, n int, out Buffer) error {
	if err := f.Validate(); err != nil {
		return err
	}
	if err := CheckPoints(n); err != nil {
		return err
	}
	ck := c.check()
	p := ck.buf(params, f.NumParams(), "wave parameters")
	in := ck.buf(inputs, MulSize(f.Dim+1, n), "wave inputs")
	o := ck.buf(out, n, "wave output")
	if ck.Err != nil {
		return ck.Err
	}
	switch f.Dim {
	case 1:
		waveForward[[1]float64](c, f, p, in, n, o)
	case 3:
		waveForward[[3]float64](c, f, p, in, n, o)
	case 5:
		waveForward[[5]float64](c, f, p, in, n, o)
	default:
		waveForwardN(c, f, p, in, n, o)
	}
	return nil
}

func waveForward[V waveVec](c *CPU, f WaveFamily, p, in []float64, n int, o []float64) {
	sPool, bPool := wavePools[V](c)
	sp := sPool.get(f.Waves)
	defer sPool.put(sp)
	st := *sp
	bias := setConstants(f, p, st)
	xs, t := columns(f, in, n)
	s1, is1 := any(st).([]waveState[[1]float64])
	if vec, wide := c.wave1Vec(); is1 && vec {
		c.forChunks(n, chunkCount(n, c.waveCost(f.Waves)), func(_, lo, hi int) {
			fp := c.waves.v1.get(wave1Len(len(s1)))
			defer c.waves.v1.put(fp)
			var blk wave1Block
			for b0 := lo; b0 < hi; b0 += waveBlock {
				nb := min(waveBlock, hi-b0)
				wave1Forward(wide, s1, *fp, bias, xs[0], t, b0, nb, &blk)
				copy(o[b0:b0+nb], blk.out[:nb])
			}
		})
		return
	}
	if c.waveDVec(f.Dim) {
		c.forChunks(n, chunkCount(n, c.waveCost(f.Waves)), func(_, lo, hi int) {
			fp := c.waves.v1.get(waveDLen(f.Dim, len(st)))
			defer c.waves.v1.put(fp)
			var blk waveDBlock
			for b0 := lo; b0 < hi; b0 += waveBlock {
				nb := min(waveBlock, hi-b0)
				waveDForward(st, *fp, bias, &xs, t, b0, nb, &blk)
				copy(o[b0:b0+nb], blk.out[:nb])
			}
		})
		return
	}
	c.forChunks(n, chunkCount(n, c.waveCost(f.Waves)), func(_, lo, hi int) {
		bp := bPool.get(len(st))
		defer bPool.put(bp)
		for b0 := lo; b0 < hi; b0 += waveBlock {
			nb := min(waveBlock, hi-b0)
			waveBlockForward(c.simd != "", st, *bp, bias, &xs, t, b0, o[b0:b0+nb])
		}
	})
}

// waveBlockForward evaluates the waves st at the len(out) ≤ waveBlock
// points from b0, leaving their intermediates in blk (one per wave) and
// the family's output in out; simd takes the sines, cosines and
// exponentials from internal/vecmath.
func waveBlockForward[V waveVec](simd bool, st []waveState[V], blk []waveBlockState[V], bias float64, xs *[5][]float64, t []float64, b0 int, out []float64) {
	nb := len(out)
	var x [waveBlock]V
	for a := range len(x[0]) {
		col := xs[a][b0 : b0+nb]
		for q, v := range col {
			x[q][a] = v
		}
	}
	tb := t[b0 : b0+nb]
	for q := range out {
		out[q] = bias
	}
	blk = blk[:len(st)]
	for j := range st {
		w, b := &st[j], &blk[j]
		// Arguments: the phase into sn, λ·x into sm, the exponent into env.
		for q, ti := range tb {
			var s, e, m float64
			for a := range len(w.k) {
				xa := x[q][a]
				s += w.k[a] * xa
				u := (xa - w.v[a]*ti) * w.inv
				b.u[q][a] = u
				e += u * u
				m += w.lm[a] * xa
			}
			b.sn[q], b.sm[q], b.env[q] = s-w.omega*ti, m, -0.5*e
		}
		blockSincos(simd, b.sn[:nb], b.sn[:nb], b.cs[:nb])
		blockSincos(simd, b.sm[:nb], b.sm[:nb], b.cm[:nb])
		for q := range nb {
			b.sz[q] = w.phi + w.eps*b.cm[q]
		}
		blockSincos(simd, b.sz[:nb], b.sz[:nb], b.cz[:nb])
		if simd {
			vecmath.Exp(b.env[:nb], b.env[:nb])
		} else {
			for q := range nb {
				b.env[q] = math.Exp(b.env[q])
			}
		}
		for q := range nb {
			out[q] += w.h * (w.a * b.cs[q] * b.env[q] * b.sz[q])
		}
	}
}

// blockSincos sets s, c to the sines and cosines of x (s may be x): with
// simd from internal/vecmath, else math.Sincos's bit for bit.
func blockSincos(simd bool, x, s, c []float64) {
	if simd {
		vecmath.Sincos(s, c, x)
		return
	}
	sincosBlock(x, s, c)
}

// waveCost is the cost of a point of waves waves in chunkWork's units: 4
// per point-wave in portable Go, a half on the vector path (4.6 ns a
// point-wave on one core), so that a small problem is not split into
// chunks that cost more to hand out than to compute.
func (c *CPU) waveCost(waves int) int {
	if c.simd != "" {
		return max(waves/2, 1)
	}
	return 4 * waves
}

// waveForwardN is WaveForward for any number of axes.
func waveForwardN(c *CPU, f WaveFamily, p, in []float64, n int, o []float64) {
	d, pw, W := f.Dim, f.PerWave(), f.Waves
	var head []float64
	bias := 0.0
	if f.Head {
		head, bias = p[W*pw:W*pw+W], p[W*pw+W]
	}
	c.forChunks(n, chunkCount(n, 4*W), func(_, lo, hi int) {
		t := in[d*n : (d+1)*n]
		for i := lo; i < hi; i++ {
			acc := bias
			for j := 0; j < W; j++ {
				w := p[j*pw : (j+1)*pw]
				inv := math.Exp(-w[2+2*d])
				var s, q, m float64
				for a := 0; a < d; a++ {
					x := in[a*n+i]
					s += w[1+a] * x
					u := (x - w[2+d+a]*t[i]) * inv
					q += u * u
					m += w[5+2*d+a] * x
				}
				_, cs := sincos(s - w[1+d]*t[i])
				_, cm := sincos(m)
				sz, _ := sincos(w[3+2*d] + w[4+2*d]*cm)
				psi := w[0] * cs * math.Exp(-0.5*q) * sz
				if head != nil {
					psi *= head[j]
				}
				acc += psi
			}
			o[i] = acc
		}
	})
}

// WaveLossGrad implements [Device].
//
// Per point it evaluates every wave once (three sincos and one exp per
// point-wave), keeps the intermediates, forms the residual and accumulates
// the gradient of every wave from them: forward and backward fused in one
// pass over the points.
func (c *CPU) WaveLossGrad(f WaveFamily, params, inputs, target Buffer, n int, grad Buffer) (float64, error) {
	if err := f.Validate(); err != nil {
		return 0, err
	}
	if err := CheckPoints(n); err != nil {
		return 0, err
	}
	np := f.NumParams()
	ck := c.check()
	p := ck.buf(params, np, "wave parameters")
	in := ck.buf(inputs, MulSize(f.Dim+1, n), "wave inputs")
	y := ck.buf(target, n, "wave target")
	g := ck.buf(grad, np, "wave gradient")
	if ck.Err != nil {
		return 0, ck.Err
	}
	clear(g[:np])
	if n == 0 {
		return 0, nil
	}
	var sq float64
	switch f.Dim {
	case 1:
		sq = waveLossGrad[[1]float64](c, f, p, in, y[:n], n, g)
	case 3:
		sq = waveLossGrad[[3]float64](c, f, p, in, y[:n], n, g)
	case 5:
		sq = waveLossGrad[[5]float64](c, f, p, in, y[:n], n, g)
	default:
		sq = waveLossGradN(c, f, p, in, y[:n], n, g)
	}
	return sq / float64(n), nil
}

// waveLossGrad accumulates the MSE gradient of f into g (zeroed) and
// returns the sum of squared residuals.
func waveLossGrad[V waveVec](c *CPU, f WaveFamily, p, in, y []float64, n int, g []float64) float64 {
	W := f.Waves
	chunks := chunkCount(n, c.waveCost(W))
	sPool, bPool := wavePools[V](c)
	sp := sPool.get(chunks * W)
	defer sPool.put(sp)
	all := *sp
	bias := setConstants(f, p, all[:W])
	for k := 1; k < chunks; k++ {
		copy(all[k*W:(k+1)*W], all[:W])
	}
	sqs := c.getScratch(2 * chunks)
	defer c.putScratch(sqs)
	xs, t := columns(f, in, n)
	scale := 2 / float64(n)
	s1, is1 := any(all).([]waveState[[1]float64])
	vec1, wide := c.wave1Vec()
	vec1 = vec1 && is1
	vecD := c.waveDVec(f.Dim)
	c.forChunks(n, chunks, func(k, lo, hi int) {
		var sq, gb float64
		if vec1 {
			fp := c.waves.v1.get(wave1Len(W))
			defer c.waves.v1.put(fp)
			var blk wave1Block
			st := s1[k*W : (k+1)*W]
			for b0 := lo; b0 < hi; b0 += waveBlock {
				nb := min(waveBlock, hi-b0)
				s, b := wave1Grad(wide, st, *fp, bias, xs[0], t, y, scale, b0, nb, &blk)
				sq += s
				gb += b
			}
			(*sqs)[2*k], (*sqs)[2*k+1] = sq, gb
			return
		}
		if vecD {
			fp := c.waves.v1.get(waveDLen(f.Dim, W))
			defer c.waves.v1.put(fp)
			var blk waveDBlock
			st := all[k*W : (k+1)*W]
			for b0 := lo; b0 < hi; b0 += waveBlock {
				nb := min(waveBlock, hi-b0)
				s, b := waveDGrad(st, *fp, bias, &xs, t, y, scale, b0, nb, &blk)
				sq += s
				gb += b
			}
			(*sqs)[2*k], (*sqs)[2*k+1] = sq, gb
			return
		}
		bp := bPool.get(W)
		defer bPool.put(bp)
		st := all[k*W : (k+1)*W]
		for b0 := lo; b0 < hi; b0 += waveBlock {
			nb := min(waveBlock, hi-b0)
			s, b := waveBlockGrad(c.simd != "", st, *bp, bias, &xs, t, y, scale, b0, nb)
			sq += s
			gb += b
		}
		(*sqs)[2*k], (*sqs)[2*k+1] = sq, gb
	})
	// Reduce in chunk order, into the parameter layout.
	d, pw := f.Dim, f.PerWave()
	sq := 0.0
	for k := 0; k < chunks; k++ {
		for j := range W {
			w := &all[k*W+j]
			gw := g[j*pw : (j+1)*pw]
			gw[0] += w.gA
			gw[1+d] += w.gOmega
			gw[2+2*d] += w.gLogSigma
			gw[3+2*d] += w.gPhi
			gw[4+2*d] += w.gEps
			for a := range d {
				gw[1+a] += w.gk[a]
				gw[2+d+a] += w.gv[a]
				gw[5+2*d+a] += w.glm[a]
			}
			if f.Head {
				g[W*pw+j] += w.gH
			}
		}
		if f.Head {
			g[W*pw+W] += (*sqs)[2*k+1]
		}
		sq += (*sqs)[2*k]
	}
	return sq
}

// blockResiduals sets r[q] = scale·(out[q] − y[q]) for a block's points
// y (r is zero past them) and returns the sum of the squared residuals
// and the sum of r.
func blockResiduals(out *[waveBlock]float64, y []float64, scale float64, r *[waveBlock]float64) (sq, sum float64) {
	*r = [waveBlock]float64{}
	for q, yq := range y {
		res := out[q] - yq
		sq += res * res
		r[q] = scale * res
		sum += r[q]
	}
	return sq, sum
}

// waveBlockGrad runs the nb ≤ waveBlock points from b0 through the waves
// st, accumulating their gradients in st. It returns the sum of squared
// residuals and the sum of the residuals' gradient (the head bias's).
func waveBlockGrad[V waveVec](simd bool, st []waveState[V], blk []waveBlockState[V], bias float64, xs *[5][]float64, t, y []float64, scale float64, b0, nb int) (sq, gb float64) {
	var out, r [waveBlock]float64
	waveBlockForward(simd, st, blk, bias, xs, t, b0, out[:nb])
	sq, gb = blockResiduals(&out, y[b0:b0+nb], scale, &r)
	var x [waveBlock]V
	for a := range len(x[0]) {
		for q, v := range xs[a][b0 : b0+nb] {
			x[q][a] = v
		}
	}
	tb := t[b0 : b0+nb]
	blk = blk[:len(st)]
	for j := range st {
		w, b := &st[j], &blk[j]
		for q, ti := range tb {
			env, cs, sz := b.env[q], b.cs[q], b.sz[q]
			rj := r[q] * w.h
			ae := rj * w.a * env
			base := ae * cs * sz // rj·ψ
			w.gH += r[q] * (w.a * cs * env * sz)
			w.gA += rj * cs * env * sz
			dS := -ae * b.sn[q] * sz // ∂/∂phase
			w.gOmega -= dS * ti
			dz := ae * cs * b.cz[q] // ∂/∂(φ + ε cos m)
			w.gPhi += dz
			w.gEps += dz * b.cm[q]
			dM := -dz * w.eps * b.sm[q] // ∂/∂m
			bt := base * ti * w.inv
			e := 0.0
			for a := range len(w.k) {
				u, xa := b.u[q][a], x[q][a]
				w.gk[a] += dS * xa
				w.gv[a] += bt * u
				w.glm[a] += dM * xa
				e += u * u
			}
			w.gLogSigma += base * e
		}
	}
	return sq, gb
}

// waveLossGradN is waveLossGrad for any number of axes, on flat slices.
func waveLossGradN(c *CPU, f WaveFamily, p, in, y []float64, n int, g []float64) float64 {
	d, W, np := f.Dim, f.Waves, f.NumParams()
	cw, tw := 3*d+6, 8+d
	chunks := chunkCount(n, 4*W)
	// Scratch: the wave constants, then per chunk a stripe of np gradient
	// values, the sum of squares and the per-wave intermediates.
	stride := np + 1 + W*tw
	sc := c.getScratch(W*cw + chunks*stride)
	defer c.putScratch(sc)
	wc := (*sc)[:W*cw]
	bias := waveConstants(f, p, wc)
	scale := 2 / float64(n)
	c.forChunks(n, chunks, func(k, lo, hi int) {
		s := (*sc)[W*cw+k*stride : W*cw+(k+1)*stride]
		s[np] = waveGradN(f, wc, bias, in, n, y, scale, s[:np], s[np+1:], lo, hi)
	})
	sq := 0.0
	for k := 0; k < chunks; k++ {
		s := (*sc)[W*cw+k*stride : W*cw+(k+1)*stride]
		for j, v := range s[:np] {
			g[j] += v
		}
		sq += s[np]
	}
	return sq
}

// waveConstants writes, for each wave of f, its per-call constants into wc
// (f.Dim*3+6 values per wave): the parameters in layout order with
// log_sigma replaced by exp(−log_sigma), followed by the head weight (1
// without a head). It returns the head bias (0 without a head).
func waveConstants(f WaveFamily, p, wc []float64) float64 {
	d, pw, cw := f.Dim, f.PerWave(), f.Dim*3+6
	for j := 0; j < f.Waves; j++ {
		c := wc[j*cw : (j+1)*cw]
		copy(c, p[j*pw:(j+1)*pw])
		c[2+2*d] = math.Exp(-p[j*pw+2+2*d])
		c[cw-1] = 1
		if f.Head {
			c[cw-1] = p[f.Waves*pw+j]
		}
	}
	if f.Head {
		return p[f.Waves*pw+f.Waves]
	}
	return 0
}

// waveGradN accumulates the gradient of any family over points [lo, hi):
// in holds the Dim+1 columns of n values, wc the constants of
// [waveConstants], g the chunk's gradient (zeroed, parameter layout) and
// tmp 8+Dim values per wave. It returns the sum of squared residuals.
func waveGradN(f WaveFamily, wc []float64, bias float64, in []float64, n int, y []float64, scale float64, g, tmp []float64, lo, hi int) float64 {
	d, W, pw := f.Dim, f.Waves, f.PerWave()
	cw, tw := 3*d+6, 8+d
	t := in[d*n : (d+1)*n]
	var gh []float64
	if f.Head {
		gh = g[W*pw : W*pw+W+1]
	}
	sq := 0.0
	for i := lo; i < hi; i++ {
		ti := t[i]
		out := bias
		for j := 0; j < W; j++ {
			w := wc[j*cw : (j+1)*cw]
			tt := tmp[j*tw : (j+1)*tw]
			k, v, lm := w[1:1+d], w[2+d:2+2*d], w[5+2*d:5+3*d]
			inv := w[2+2*d]
			us := tt[8 : 8+d]
			var s, q, m float64
			for a := range us {
				xa := in[a*n+i]
				s += k[a] * xa
				u := (xa - v[a]*ti) * inv
				us[a] = u
				q += u * u
				m += lm[a] * xa
			}
			env := math.Exp(-0.5 * q)
			if env == 0 {
				tt[0], tt[3] = 0, 0
				continue
			}
			sn, cs := sincos(s - w[1+d]*ti)
			sm, cm := sincos(m)
			sz, cz := sincos(w[3+2*d] + w[4+2*d]*cm)
			psi := w[0] * cs * env * sz
			tt[0], tt[1], tt[2], tt[3], tt[4], tt[5], tt[6], tt[7] = psi, sn, cs, env, sz, cz, cm, sm
			out += w[cw-1] * psi
		}
		res := out - y[i]
		sq += res * res
		r := scale * res
		if gh != nil {
			gh[W] += r
		}
		for j := 0; j < W; j++ {
			tt := tmp[j*tw : (j+1)*tw]
			if gh != nil {
				gh[j] += r * tt[0]
			}
			env := tt[3]
			if env == 0 {
				continue
			}
			w := wc[j*cw : (j+1)*cw]
			gw := g[j*pw : (j+1)*pw]
			sn, cs, sz, cz, cm, sm := tt[1], tt[2], tt[4], tt[5], tt[6], tt[7]
			us := tt[8 : 8+d]
			inv := w[2+2*d]
			rj := r * w[cw-1]
			ae := rj * w[0] * env
			gw[0] += rj * cs * env * sz
			dS := -ae * sn * sz
			gw[1+d] -= dS * ti
			base := ae * cs * sz
			dz := ae * cs * cz
			gw[3+2*d] += dz
			gw[4+2*d] += dz * cm
			dM := -dz * w[4+2*d] * sm
			bt := base * ti * inv
			q := 0.0
			gk, gv, gl := gw[1:1+d], gw[2+d:2+2*d], gw[5+2*d:5+3*d]
			for a, u := range us {
				xa := in[a*n+i]
				gk[a] += dS * xa
				gv[a] += bt * u
				gl[a] += dM * xa
				q += u * u
			}
			gw[2+2*d] += base * q
		}
	}
	return sq
}
