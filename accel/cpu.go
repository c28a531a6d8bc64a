package accel

import (
	"fmt"
	"math"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"

	"github.com/dredge-cli/dredge/internal/vecmath"
)

// CPUConfig configures [NewCPU]. The zero value is the default.
type CPUConfig struct {
	// Workers is the number of goroutines a kernel may use; 0 means
	// runtime.GOMAXPROCS(0). A call takes one more only for some 100 µs
	// of work each: below that, the hand-over costs more than it saves.
	Workers int
	// Reason is reported in [Info.Reason].
	Reason string
	// Portable runs the kernels' sines, cosines, exponentials and tanh in
	// portable Go (package math's results, bit for bit) even where the
	// vectorised ones of internal/vecmath run (AVX2 or AVX-512, within 2
	// ulps of math's): for comparison. DREDGE_CPU_SIMD=off gives the same
	// for every device of the process.
	Portable bool
}

// CPU is the pure-Go [Device]: buffers are slices and dense algebra runs
// on gonum. The wave and interference kernels fuse forward and backward
// passes per point, evaluate the waves of a block of points together with
// the sines, cosines and exponentials of internal/vecmath (AVX-512 or AVX2
// assembly, within 2 ulps of package math) where the CPU has them, or else
// (and with [CPUConfig.Portable]) branch-free sine and cosine giving
// math.Sincos's results bit for bit, and
// split the points into chunks whose number depends only on the problem's
// size; workers take chunks as they become free, and per-chunk gradient
// accumulators are reduced in chunk order, so results do not depend on
// the number of workers or on scheduling.
type CPU struct {
	workers int
	reason  string
	simd    string    // the vecmath path the kernels use; "" for the portable Go
	scratch sync.Pool // *[]float64
	waves   waveScratch
}

var (
	_ Device        = (*CPU)(nil)
	_ ActivateSaver = (*CPU)(nil)
)

// NewCPU returns a CPU device.
func NewCPU(cfg CPUConfig) *CPU {
	w := cfg.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	c := &CPU{workers: w, reason: cfg.Reason}
	if impl := vecmath.Impl(); !cfg.Portable && impl != "generic" {
		c.simd = impl
	}
	return c
}

type cpuBuffer struct {
	owner *CPU
	data  []float64
	view  bool
}

func (b *cpuBuffer) Len() int { return len(b.data) }

// Info implements [Device].
func (c *CPU) Info() Info {
	return Info{Kind: "cpu", Name: fmt.Sprintf("%s/%s CPU", runtime.GOOS, runtime.GOARCH), Workers: c.workers, Reason: c.reason, SIMD: c.simd}
}

// Alloc implements [Device].
func (c *CPU) Alloc(n int) (Buffer, error) {
	if n < 0 {
		return nil, fmt.Errorf("%w: negative buffer length %d", ErrShape, n)
	}
	return &cpuBuffer{owner: c, data: make([]float64, n)}, nil
}

// Upload implements [Device].
func (c *CPU) Upload(dst Buffer, src []float64) error {
	d, err := c.buf(dst, len(src), "upload destination")
	if err != nil {
		return err
	}
	copy(d, src)
	return nil
}

// Download implements [Device].
func (c *CPU) Download(dst []float64, src Buffer) error {
	s, err := c.buf(src, len(dst), "download source")
	if err != nil {
		return err
	}
	copy(dst, s)
	return nil
}

// Free implements [Device].
func (c *CPU) Free(b Buffer) {
	if cb, ok := b.(*cpuBuffer); ok && cb != nil && cb.owner == c && !cb.view {
		cb.data = nil
	}
}

// View implements [Device].
func (c *CPU) View(b Buffer, off, n int) (Buffer, error) {
	s, err := c.buf(b, 0, "view source")
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off > len(s) || n > len(s)-off {
		return nil, fmt.Errorf("%w: view of %d values at %d of a buffer of %d values", ErrShape, n, off, len(s))
	}
	return &cpuBuffer{owner: c, data: s[off : off+n : off+n], view: true}, nil
}

// Wrap implements [Wrapper]: the buffer aliases v.
func (c *CPU) Wrap(v []float64) Buffer {
	return &cpuBuffer{owner: c, data: v[:len(v):len(v)], view: true}
}

var _ Wrapper = (*CPU)(nil)

// Slice returns the values of a buffer made by this device without copying.
// It is meant for tests and CPU-only fast paths.
func (c *CPU) Slice(b Buffer) ([]float64, error) {
	return c.buf(b, 0, "buffer")
}

// buf returns the slice of b, checking ownership and a minimum length.
func (c *CPU) buf(b Buffer, min int, what string) ([]float64, error) {
	ck := c.check()
	s := ck.buf(b, min, what)
	return s, ck.Err
}

// state tells a [BufferCheck] whether c made b; CPU buffers are never
// marked freed (Free empties them).
func (c *CPU) state(b *cpuBuffer) (owned, freed bool) { return b.owner == c, false }

// bufCheck is c's [BufferCheck], giving slices: nil once a check has
// failed, and for an absent optional buffer.
type bufCheck struct{ BufferCheck[*cpuBuffer, *CPU] }

func (c *CPU) check() bufCheck { return bufCheck{NewBufferCheck(c, (*CPU).state)} }

func (k *bufCheck) buf(b Buffer, min int, what string) []float64 {
	return k.Buf(b, min, what).slice()
}

func (k *bufCheck) opt(b Buffer, min int, what string) []float64 {
	return k.Opt(b, min, what).slice()
}

// slice returns b's values, nil for a nil b.
func (b *cpuBuffer) slice() []float64 {
	if b == nil {
		return nil
	}
	return b.data
}

// Chunking of point loops. A kernel splits its points into a number of
// chunks that depends only on the sizes of the problem (never on the
// worker count), gives each chunk its own accumulators, hands chunks to
// workers as they become free, and reduces the accumulators in chunk
// order: results are the same bit for bit whatever the number of workers
// or the scheduling, and a worker slowed by other load does not hold the
// others up.
const (
	// chunkWork is the least work of a chunk, in units of about 12 ns (one
	// transcendental function; a point-wave of a wave kernel costs 4):
	// some 25 µs.
	chunkWork = 2048
	// maxChunks bounds the chunks of one kernel call.
	maxChunks = 32

	// workerChunks is the least number of chunks per worker: a worker
	// beyond the first pays only for some 100 µs of work or more. Here
	// (two vCPUs, one call of a kernel on 1 and 2 workers, same run) a
	// second worker slowed 64,000 sines (85 µs) to 98 µs and sped
	// 256,000 (350 µs) up 1.3×; the dense layers, the same (c.gemm).
	workerChunks = 4
)

// chunkCount returns the number of chunks for n points of cost units each.
func chunkCount(n, cost int) int {
	k := n * max(cost, 1) / chunkWork
	return max(1, min(k, maxChunks, n))
}

// vecChunkCount is chunkCount for a kernel whose vector path runs some 8
// times as fast as its portable one (cost is the portable path's).
func (c *CPU) vecChunkCount(n, cost int) int {
	if c.simd != "" {
		return chunkCount(n/8, cost)
	}
	return chunkCount(n, cost)
}

// forChunks runs fn(k, lo, hi) for the chunks k = 0 … chunks−1 of [0, n)
// on up to c.workers goroutines, the calling one included, each with at
// least workerChunks chunks.
func (c *CPU) forChunks(n, chunks int, fn func(k, lo, hi int)) {
	c.onWorkers(n, chunks, min(c.workers, chunks/workerChunks), fn)
}

// onWorkers runs fn(k, lo, hi) for the chunks k = 0 … chunks−1 of [0, n)
// on up to workers goroutines, the calling one included.
func (c *CPU) onWorkers(n, chunks, workers int, fn func(k, lo, hi int)) {
	if workers <= 1 {
		for k := 0; k < chunks; k++ {
			fn(k, k*n/chunks, (k+1)*n/chunks)
		}
		return
	}
	var next atomic.Int64
	work := func() {
		for {
			k := int(next.Add(1)) - 1
			if k >= chunks {
				return
			}
			fn(k, k*n/chunks, (k+1)*n/chunks)
		}
	}
	var wg sync.WaitGroup
	wg.Add(workers - 1)
	for w := 1; w < workers; w++ {
		go func() {
			defer wg.Done()
			work()
		}()
	}
	work()
	wg.Wait()
}

// getScratch returns a zeroed scratch slice of n values from the pool.
func (c *CPU) getScratch(n int) *[]float64 {
	p, _ := c.scratch.Get().(*[]float64)
	if p == nil {
		s := make([]float64, n)
		return &s
	}
	if cap(*p) < n {
		*p = make([]float64, n)
	}
	*p = (*p)[:n]
	clear(*p)
	return p
}

func (c *CPU) putScratch(p *[]float64) { c.scratch.Put(p) }

// interference holds the offsets of an interference basis's parameters.
type interference struct {
	d, f, o                                int
	ls, v, a, k, om, phi, eps, lm, w, npar int
}

func layoutInterference(s Interference) interference {
	l := interference{d: s.Dim, f: s.Fields, o: s.Outputs}
	l.ls = 0
	l.v = l.ls + l.d
	l.a = l.v + l.d
	l.k = l.a + l.f
	l.om = l.k + l.f*l.d
	l.phi = l.om + l.f
	l.eps = l.phi + l.f
	l.lm = l.eps + l.f
	l.w = l.lm + l.f*l.d
	l.npar = l.w + l.o*2*l.f
	return l
}

// sigmaFloor is the lower clamp of the interference basis's widths.
const sigmaFloor = 1e-3

// envelope holds the per-call constants of an interference basis's
// Gaussian envelope: each axis's width σ (clamped to sigmaFloor), whether
// it is unclamped (then its log_sigma has a gradient), and the normaliser
// Π σ · (2π)^(Dim/2).
type envelope struct {
	sig  []float64
	free []bool
	norm float64
}

func newEnvelope(l interference, p []float64) envelope {
	e := envelope{sig: make([]float64, l.d), free: make([]bool, l.d), norm: 1}
	for a := range e.sig {
		ea := math.Exp(p[l.ls+a])
		e.sig[a], e.free[a] = math.Max(ea, sigmaFloor), ea >= sigmaFloor
		e.norm *= e.sig[a]
	}
	e.norm *= math.Pow(2*math.Pi, float64(l.d)/2)
	return e
}

// InterferenceForward implements [Device].
func (c *CPU) InterferenceForward(s Interference, params, inputs Buffer, n int, out Buffer) error {
	if err := s.Validate(); err != nil {
		return err
	}
	if err := CheckPoints(n); err != nil {
		return err
	}
	l := layoutInterference(s)
	ck := c.check()
	p := ck.buf(params, l.npar, "interference parameters")
	in := ck.buf(inputs, MulSize(l.d+1, n), "interference inputs")
	o := ck.buf(out, MulSize(n, l.o), "interference output")
	if ck.Err != nil {
		return ck.Err
	}
	env := newEnvelope(l, p)
	c.forChunks(n, chunkCount(n, l.f*4), func(_, lo, hi int) {
		re := make([]float64, 2*l.f+interferenceScratch(l.f))
		re, sc := re[:2*l.f], re[2*l.f:]
		for i := lo; i < hi; i++ {
			interferenceFields(c.simd != "", l, env, p, in, n, i, re, nil, sc)
			row := o[i*l.o : (i+1)*l.o]
			for q := 0; q < l.o; q++ {
				wq := p[l.w+q*2*l.f : l.w+(q+1)*2*l.f]
				acc := 0.0
				for j, r := range re {
					acc += wq[j] * r
				}
				row[q] = acc
			}
		}
	})
	return nil
}

// interferenceFields writes [Re ψ, Im ψ] of point i into re (2F values) and,
// when tmp is not nil, intermediates for the gradient: per field
// (cosθ, sinθ, mod, cz, cos m, sin m) then per axis u. It returns env.
// With simd the sines and cosines of the F fields come from
// internal/vecmath together, through sc (interferenceScratch values).
func interferenceFields(simd bool, l interference, e envelope, p, in []float64, n, i int, re, tmp, sc []float64) float64 {
	d, F := l.d, l.f
	t := in[d*n+i]
	q := 0.0
	for a := 0; a < d; a++ {
		u := in[a*n+i] - p[l.v+a]*t
		z := u / e.sig[a]
		q += z * z
		if tmp != nil {
			tmp[6*F+a] = u
		}
	}
	env := math.Exp(-0.5*q) / e.norm
	var ths, ms, sms, cms, szs, czs, sts, cts []float64
	if simd {
		ths, ms, sms, cms = sc[:F], sc[F:2*F], sc[2*F:3*F], sc[3*F:4*F]
		szs, czs, sts, cts = sc[4*F:5*F], sc[5*F:6*F], sc[6*F:7*F], sc[7*F:8*F]
		for j := 0; j < F; j++ {
			ths[j], ms[j] = fieldPhases(l, p, in, n, i, j, t)
		}
		vecmath.Sincos(sms, cms, ms)
		for j := 0; j < F; j++ {
			ms[j] = p[l.phi+j] + p[l.eps+j]*cms[j]
		}
		vecmath.Sincos(szs, czs, ms)
		vecmath.Sincos(sts, cts, ths)
	}
	for j := 0; j < F; j++ {
		var sm, cm, sz, cz, st, ct float64
		if simd {
			sm, cm, sz, cz, st, ct = sms[j], cms[j], szs[j], czs[j], sts[j], cts[j]
		} else {
			th, m := fieldPhases(l, p, in, n, i, j, t)
			sm, cm = sincos(m)
			sz, cz = sincos(p[l.phi+j] + p[l.eps+j]*cm)
			st, ct = sincos(th)
		}
		amp := p[l.a+j] * env * sz
		re[j] = amp * ct
		re[F+j] = amp * st
		if tmp != nil {
			tt := tmp[6*j : 6*j+6]
			tt[0], tt[1], tt[2], tt[3], tt[4], tt[5] = ct, st, sz, cz, cm, sm
		}
	}
	return env
}

// fieldPhases returns field j's phase θ = k·x − ω·t and its λ·x at point i.
func fieldPhases(l interference, p, in []float64, n, i, j int, t float64) (th, m float64) {
	for a := 0; a < l.d; a++ {
		x := in[a*n+i]
		th += p[l.k+j*l.d+a] * x
		m += p[l.lm+j*l.d+a] * x
	}
	return th - p[l.om+j]*t, m
}

// interferenceScratch is the scratch values interferenceFields needs for
// F fields.
func interferenceScratch(F int) int { return 8 * F }

// InterferenceLossGrad implements [Device].
func (c *CPU) InterferenceLossGrad(s Interference, params, inputs, target Buffer, n int, grad Buffer) (float64, error) {
	if err := s.Validate(); err != nil {
		return 0, err
	}
	if err := CheckPoints(n); err != nil {
		return 0, err
	}
	l := layoutInterference(s)
	ck := c.check()
	p := ck.buf(params, l.npar, "interference parameters")
	in := ck.buf(inputs, MulSize(l.d+1, n), "interference inputs")
	y := ck.buf(target, MulSize(n, l.o), "interference target")
	g := ck.buf(grad, l.npar, "interference gradient")
	if ck.Err != nil {
		return 0, ck.Err
	}
	clear(g[:l.npar])
	if n == 0 {
		return 0, nil
	}
	F, d, O := l.f, l.d, l.o
	nt := 6*F + d
	stride := l.npar + 1 + 2*F + nt + O + 2*F + interferenceScratch(F)
	chunks := chunkCount(n, F*4)
	acc := c.getScratch(stride * chunks)
	defer c.putScratch(acc)
	scale := 2 / float64(n*O)
	ev := newEnvelope(l, p)
	c.forChunks(n, chunks, func(w, lo, hi int) {
		st := (*acc)[w*stride : (w+1)*stride]
		gw, sq := st[:l.npar], &st[l.npar]
		re := st[l.npar+1 : l.npar+1+2*F]
		tmp := st[l.npar+1+2*F : l.npar+1+2*F+nt]
		r := st[l.npar+1+2*F+nt : l.npar+1+2*F+nt+O]
		dre := st[l.npar+1+2*F+nt+O : l.npar+1+2*F+nt+O+2*F]
		sc := st[l.npar+1+2*F+nt+O+2*F:]
		for i := lo; i < hi; i++ {
			env := interferenceFields(c.simd != "", l, ev, p, in, n, i, re, tmp, sc)
			for q := 0; q < O; q++ {
				wq := p[l.w+q*2*F : l.w+(q+1)*2*F]
				o := 0.0
				for j, v := range re {
					o += wq[j] * v
				}
				res := o - y[i*O+q]
				*sq += res * res
				r[q] = scale * res
			}
			// dL/d[Re, Im] and dL/dW.
			clear(dre)
			for q := 0; q < O; q++ {
				wq := p[l.w+q*2*F : l.w+(q+1)*2*F]
				gq := gw[l.w+q*2*F : l.w+(q+1)*2*F]
				for j := range dre {
					dre[j] += r[q] * wq[j]
					gq[j] += r[q] * re[j]
				}
			}
			t := in[d*n+i]
			E := 0.0 // dL/d env
			for j := 0; j < F; j++ {
				tt := tmp[6*j : 6*j+6]
				ct, st, sz, cz, cm, sm := tt[0], tt[1], tt[2], tt[3], tt[4], tt[5]
				A := p[l.a+j]
				G := dre[j]*ct + dre[F+j]*st  // coefficient of A·env·sz
				H := -dre[j]*st + dre[F+j]*ct // derivative along θ
				gw[l.a+j] += G * env * sz
				E += A * sz * G
				dth := A * env * sz * H
				gw[l.om+j] -= dth * t
				dz := A * env * G * cz
				gw[l.phi+j] += dz
				gw[l.eps+j] += dz * cm
				dm := -dz * p[l.eps+j] * sm
				for a := 0; a < d; a++ {
					x := in[a*n+i]
					gw[l.k+j*d+a] += dth * x
					gw[l.lm+j*d+a] += dm * x
				}
			}
			for a := 0; a < d; a++ {
				u, sig := tmp[6*F+a], ev.sig[a]
				gw[l.v+a] += E * env * u * t / (sig * sig)
				if ev.free[a] {
					gw[l.ls+a] += E * env * (u*u/(sig*sig) - 1)
				}
			}
		}
	})
	loss := 0.0
	for w := 0; w < chunks; w++ {
		st := (*acc)[w*stride : (w+1)*stride]
		for j := 0; j < l.npar; j++ {
			g[j] += st[j]
		}
		loss += st[l.npar]
	}
	return loss / float64(n*O), nil
}

func general(rows, cols int, data []float64) blas64.General {
	return blas64.General{Rows: rows, Cols: cols, Stride: cols, Data: data[:rows*cols]}
}

// gemmWorkerFMAs is the least work, in multiply-adds, of a worker of
// c.gemm: some 100 µs on the AVX-512 kernel (see workerChunks). Here a
// second worker slowed 1000×64×64 (4.1M, 140 µs) to 150 µs and sped
// 1000×128×128 up 1.25×, 1000×256×256 1.65×; the rows split into more
// chunks than workers, 1000×256×256 was slower on two workers than on one.
const gemmWorkerFMAs = 1 << 22

// gemm is vecmath.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta,
// y, ldy) on the vector paths, the m rows of Y split into chunks across
// the workers (vecmath.Gemm runs on one goroutine). Each row of Y is
// computed alike whatever the split, so results do not depend on the
// number of workers.
func (c *CPU) gemm(transA, transB bool, m, n, k int, a []float64, lda int, b []float64, ldb int, beta float64, y []float64, ldy int) {
	workers := min(c.workers, m*n*k/gemmWorkerFMAs, m)
	if workers <= 1 {
		vecmath.Gemm(transA, transB, m, n, k, 1, a, lda, b, ldb, beta, y, ldy)
		return
	}
	c.onWorkers(m, workers, workers, func(_, lo, hi int) {
		al := a[lo*lda:] // op(A)'s rows lo… are A's rows, or its columns
		if transA {
			al = a[lo:]
		}
		vecmath.Gemm(transA, transB, hi-lo, n, k, 1, al, lda, b, ldb, beta, y[lo*ldy:], ldy)
	})
}

// Linear implements [Device].
func (c *CPU) Linear(x Buffer, rows, in int, w, b Buffer, out int, y Buffer) error {
	if err := CheckLinear(rows, in, out); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, MulSize(rows, in), "linear input")
	ws := ck.buf(w, MulSize(out, in), "linear weight")
	bs := ck.opt(b, out, "linear bias")
	ys := ck.buf(y, MulSize(rows, out), "linear output")
	if ck.Err != nil {
		return ck.Err
	}
	if rows == 0 {
		return nil
	}
	beta := 0.0
	if bs != nil {
		for r := 0; r < rows; r++ {
			copy(ys[r*out:(r+1)*out], bs[:out])
		}
		beta = 1
	}
	if c.simd != "" {
		c.gemm(false, true, rows, out, in, xs, in, ws, in, beta, ys, out)
		return nil
	}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1, general(rows, in, xs), general(out, in, ws), beta, general(rows, out, ys))
	return nil
}

// LinearBackward implements [Device].
func (c *CPU) LinearBackward(x Buffer, rows, in int, w Buffer, out int, dy, dx, dw, db Buffer) error {
	if err := CheckLinear(rows, in, out); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, MulSize(rows, in), "linear input")
	ws := ck.buf(w, MulSize(out, in), "linear weight")
	dys := ck.buf(dy, MulSize(rows, out), "linear output gradient")
	dxs := ck.opt(dx, MulSize(rows, in), "linear input gradient")
	dws := ck.opt(dw, MulSize(out, in), "linear weight gradient")
	dbs := ck.opt(db, out, "linear bias gradient")
	if ck.Err != nil {
		return ck.Err
	}
	if dws != nil {
		if rows == 0 {
			clear(dws[:out*in])
		} else if c.simd != "" {
			c.gemm(true, false, out, in, rows, dys, out, xs, in, 0, dws, in)
		} else {
			blas64.Gemm(blas.Trans, blas.NoTrans, 1, general(rows, out, dys), general(rows, in, xs), 0, general(out, in, dws))
		}
	}
	if dbs != nil {
		if rows == 0 {
			clear(dbs[:out])
		} else {
			// db = dyᵀ·1: gonum's Dgemv adds the rows in order, as a
			// loop would, with its vector kernel.
			p := c.getScratch(rows)
			ones := (*p)[:rows]
			for i := range ones {
				ones[i] = 1
			}
			blas64.Implementation().Dgemv(blas.Trans, rows, out, 1, dys, out, ones, 1, 0, dbs, 1)
			c.putScratch(p)
		}
	}
	if dxs != nil && rows > 0 {
		if c.simd != "" {
			c.gemm(false, false, rows, in, out, dys, out, ws, in, 0, dxs, in)
		} else {
			blas64.Gemm(blas.NoTrans, blas.NoTrans, 1, general(rows, out, dys), general(out, in, ws), 0, general(rows, in, dxs))
		}
	}
	return nil
}

// Activate implements [Device].
func (c *CPU) Activate(act Activation, scale float64, x Buffer, n int, y Buffer) error {
	if err := CheckPoints(n); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, n, "activation input")
	ys := ck.buf(y, n, "activation output")
	if ck.Err != nil {
		return ck.Err
	}
	switch act {
	case Identity:
		copy(ys[:n], xs[:n])
	case Tanh:
		c.forChunks(n, c.vecChunkCount(n, 2), func(_, lo, hi int) {
			if c.simd != "" {
				vecmath.Tanh(ys[lo:hi], xs[lo:hi])
				return
			}
			for i := lo; i < hi; i++ {
				ys[i] = math.Tanh(xs[i])
			}
		})
	case Sine:
		c.forChunks(n, c.vecChunkCount(n, 1), func(_, lo, hi int) {
			if c.simd != "" {
				vecmath.SinScaled(ys[lo:hi], xs[lo:hi], scale)
				return
			}
			for i := lo; i < hi; i++ {
				ys[i], _ = sincos(scale * xs[i]) // math.Sin, without its branches
			}
		})
	default:
		return CheckActivation(act)
	}
	return nil
}

// ActivateBackward implements [Device].
func (c *CPU) ActivateBackward(act Activation, scale float64, x, y, dy Buffer, n int, dx Buffer) error {
	if err := CheckPoints(n); err != nil {
		return err
	}
	ck := c.check()
	dys := ck.buf(dy, n, "activation output gradient")
	dxs := ck.buf(dx, n, "activation input gradient")
	if ck.Err != nil {
		return ck.Err
	}
	switch act {
	case Identity:
		copy(dxs[:n], dys[:n])
	case Tanh:
		ys := ck.buf(y, n, "activation output")
		if ck.Err != nil {
			return ck.Err
		}
		for i := 0; i < n; i++ {
			dxs[i] = dys[i] * (1 - ys[i]*ys[i])
		}
	case Sine:
		xs := ck.buf(x, n, "activation input")
		if ck.Err != nil {
			return ck.Err
		}
		c.forChunks(n, c.vecChunkCount(n, 1), func(_, lo, hi int) {
			if c.simd != "" {
				vecmath.SinScaledGrad(dxs[lo:hi], dys[lo:hi], xs[lo:hi], scale)
				return
			}
			for i := lo; i < hi; i++ {
				_, cos := sincos(scale * xs[i]) // math.Cos, without its branches
				dxs[i] = dys[i] * scale * cos
			}
		})
	default:
		return CheckActivation(act)
	}
	return nil
}

// ActivateSave implements [ActivateSaver]: for Sine it saves the cosine,
// evaluated with the sine in one pass (on the vector paths, one kernel
// call computes both), for Tanh 1 − y², for Identity nothing.
func (c *CPU) ActivateSave(act Activation, scale float64, x Buffer, n int, y, saved Buffer) error {
	if act != Sine && act != Tanh {
		if err := CheckActivation(act); err != nil {
			return err
		}
		return c.Activate(act, scale, x, n, y) // Identity: nothing to save
	}
	if err := CheckPoints(n); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, n, "activation input")
	ys := ck.buf(y, n, "activation output")
	ds := ck.buf(saved, n, "activation saved values")
	if ck.Err != nil {
		return ck.Err
	}
	if n > 0 && &ys[0] == &ds[0] {
		return fmt.Errorf("%w: activation saved values: the output's buffer, not one of their own", ErrShape)
	}
	if act == Tanh {
		if err := c.Activate(Tanh, scale, x, n, y); err != nil {
			return err
		}
		for i, v := range ys[:n] {
			ds[i] = 1 - v*v
		}
		return nil
	}
	c.forChunks(n, c.vecChunkCount(n, 1), func(_, lo, hi int) {
		if c.simd != "" {
			vecmath.SincosScaled(ys[lo:hi], ds[lo:hi], xs[lo:hi], scale)
			return
		}
		for i := lo; i < hi; i++ {
			ys[i], ds[i] = sincos(scale * xs[i])
		}
	})
	return nil
}

// ActivateBackwardSaved implements [ActivateSaver]. Its results are
// ActivateBackward's, to the bit: Sine's is the same product, cos·(dy·scale).
func (c *CPU) ActivateBackwardSaved(act Activation, scale float64, saved, dy Buffer, n int, dx Buffer) error {
	if err := CheckPoints(n); err != nil {
		return err
	}
	if err := CheckActivation(act); err != nil {
		return err
	}
	ck := c.check()
	dys := ck.buf(dy, n, "activation output gradient")
	dxs := ck.buf(dx, n, "activation input gradient")
	var ds []float64
	if act != Identity {
		ds = ck.buf(saved, n, "activation saved values")
	}
	if ck.Err != nil {
		return ck.Err
	}
	switch act {
	case Identity:
		copy(dxs[:n], dys[:n])
	case Tanh:
		for i, d := range ds[:n] {
			dxs[i] = dys[i] * d
		}
	case Sine:
		if c.simd != "" {
			vecmath.MulScaled(dxs[:n], ds[:n], dys[:n], scale)
			return nil
		}
		for i, d := range ds[:n] {
			dxs[i] = d * (dys[i] * scale)
		}
	}
	return nil
}

// BatchNorm implements [Device].
func (c *CPU) BatchNorm(x Buffer, rows, cols int, gamma, beta, runMean, runVar Buffer, eps, momentum float64, train bool, y, saveMean, saveInvStd Buffer) error {
	if err := CheckBatchNorm(rows, cols, train); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, MulSize(rows, cols), "batch norm input")
	gs := ck.buf(gamma, cols, "batch norm weight")
	bs := ck.buf(beta, cols, "batch norm bias")
	rm := ck.buf(runMean, cols, "batch norm running mean")
	rv := ck.buf(runVar, cols, "batch norm running variance")
	ys := ck.buf(y, MulSize(rows, cols), "batch norm output")
	var sm, si []float64
	if train {
		sm = ck.buf(saveMean, cols, "batch norm saved mean")
		si = ck.buf(saveInvStd, cols, "batch norm saved inverse std")
	}
	if ck.Err != nil {
		return ck.Err
	}
	for j := 0; j < cols; j++ {
		var mean, inv float64
		if train {
			for r := 0; r < rows; r++ {
				mean += xs[r*cols+j]
			}
			mean /= float64(rows)
			v := 0.0
			for r := 0; r < rows; r++ {
				d := xs[r*cols+j] - mean
				v += d * d
			}
			biased := v / float64(rows)
			inv = 1 / math.Sqrt(biased+eps)
			sm[j], si[j] = mean, inv
			rm[j] = (1-momentum)*rm[j] + momentum*mean
			rv[j] = (1-momentum)*rv[j] + momentum*v/float64(rows-1)
		} else {
			mean = rm[j]
			inv = 1 / math.Sqrt(rv[j]+eps)
		}
		for r := 0; r < rows; r++ {
			ys[r*cols+j] = (xs[r*cols+j]-mean)*inv*gs[j] + bs[j]
		}
	}
	return nil
}

// BatchNormBackward implements [Device].
func (c *CPU) BatchNormBackward(x Buffer, rows, cols int, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta Buffer) error {
	if err := CheckBatchNormBackward(rows, cols); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, MulSize(rows, cols), "batch norm input")
	gs := ck.buf(gamma, cols, "batch norm weight")
	sm := ck.buf(saveMean, cols, "batch norm saved mean")
	si := ck.buf(saveInvStd, cols, "batch norm saved inverse std")
	dys := ck.buf(dy, MulSize(rows, cols), "batch norm output gradient")
	dxs := ck.buf(dx, MulSize(rows, cols), "batch norm input gradient")
	dg := ck.buf(dgamma, cols, "batch norm weight gradient")
	db := ck.buf(dbeta, cols, "batch norm bias gradient")
	if ck.Err != nil {
		return ck.Err
	}
	nf := float64(rows)
	for j := 0; j < cols; j++ {
		mean, inv := sm[j], si[j]
		var sdy, sdyx float64
		for r := 0; r < rows; r++ {
			d := dys[r*cols+j]
			xh := (xs[r*cols+j] - mean) * inv
			sdy += d
			sdyx += d * xh
		}
		dg[j], db[j] = sdyx, sdy
		k := gs[j] * inv / nf
		for r := 0; r < rows; r++ {
			xh := (xs[r*cols+j] - mean) * inv
			dxs[r*cols+j] = k * (nf*dys[r*cols+j] - sdy - xh*sdyx)
		}
	}
	return nil
}

// Fourier implements [Device].
func (c *CPU) Fourier(x Buffer, rows, in int, b Buffer, features int, y Buffer) error {
	if err := CheckFourier(rows, in, features); err != nil {
		return err
	}
	ck := c.check()
	xs := ck.buf(x, MulSize(rows, in), "fourier input")
	bs := ck.buf(b, MulSize(in, features), "fourier matrix")
	ys := ck.buf(y, MulSize(rows, MulSize(2, features)), "fourier output")
	if ck.Err != nil {
		return ck.Err
	}
	c.forChunks(rows, c.vecChunkCount(rows, features*(in+4)/4), func(_, lo, hi int) {
		for r := lo; r < hi; r++ {
			xr := xs[r*in : (r+1)*in]
			yr := ys[r*2*features : (r+1)*2*features]
			if c.simd != "" {
				// The projections into the sines' half, then the
				// sines and cosines of the row together.
				z := yr[:features]
				clear(z)
				for a, xv := range xr {
					for f, bv := range bs[a*features : (a+1)*features] {
						z[f] += xv * bv
					}
				}
				vecmath.Sincos(z, yr[features:], z)
				continue
			}
			for f := 0; f < features; f++ {
				z := 0.0
				for a, xv := range xr {
					z += xv * bs[a*features+f]
				}
				yr[f], yr[features+f] = sincos(z)
			}
		}
	})
	return nil
}

// MSE implements [Device].
func (c *CPU) MSE(pred, target Buffer, n int, dpred Buffer) (float64, error) {
	if err := CheckMSE(n); err != nil {
		return 0, err
	}
	ck := c.check()
	ps := ck.buf(pred, n, "prediction")
	ts := ck.buf(target, n, "target")
	ds := ck.opt(dpred, n, "prediction gradient")
	if ck.Err != nil {
		return 0, ck.Err
	}
	s := 0.0
	k := 2 / float64(n)
	for i := 0; i < n; i++ {
		r := ps[i] - ts[i]
		s += r * r
		if ds != nil {
			ds[i] = k * r
		}
	}
	return s / float64(n), nil
}

// Adam implements [Device].
func (c *CPU) Adam(params, grad, m, v Buffer, n, step int, lr, beta1, beta2, eps float64) error {
	if err := CheckAdam(n, step); err != nil {
		return err
	}
	ck := c.check()
	ps := ck.buf(params, n, "adam parameters")
	gs := ck.buf(grad, n, "adam gradient")
	ms := ck.buf(m, n, "adam first moment")
	vs := ck.buf(v, n, "adam second moment")
	if ck.Err != nil {
		return ck.Err
	}
	bc1 := 1 - math.Pow(beta1, float64(step))
	bc2 := 1 - math.Pow(beta2, float64(step))
	stepSize := lr / bc1
	bc2s := math.Sqrt(bc2)
	for i := 0; i < n; i++ {
		g := gs[i]
		ms[i] += (g - ms[i]) * (1 - beta1)
		vs[i] = vs[i]*beta2 + (1-beta2)*g*g
		den := math.Sqrt(vs[i])/bc2s + eps
		ps[i] -= stepSize * ms[i] / den
	}
	return nil
}
