package accel

import (
	"unsafe"

	"github.com/dredge-cli/dredge/internal/vecmath"
)

// The 3- and 5-axis wave kernels on AVX-512: as the 1D ones (cpu_wave1.go)
// with loops over the axes in the assembly, the scratch holding one u
// field per axis and the gradient 5+3·d sums per wave. The AVX2 path keeps
// waveBlockForward and waveBlockGrad for them.
//
// stringtheory's BenchmarkTrainEpoch4D and 6D, epochs/s, 3 alternated
// rounds in one run on the shared 2-core AVX-512 VM: 4D 833, 742, 805
// before, 3367, 2489, 2711 with these kernels (about 3.6×); 6D 225, 222,
// 224 before, 995, 725, 971 (about 4×); the portable path
// (DREDGE_CPU_SIMD=off, unchanged) 4D 339, 389, 564, 6D 115, 107, 102.

// waveDLen is the length of the scratch of [waveDForward] for nw waves of
// d axes: 7+d fields of nw·16 values, then 5+3·d sums per wave.
func waveDLen(d, nw int) int { return ((7+d)*waveBlock + 5 + 3*d) * nw }

// waveDBlock holds a block's points and its output and residuals.
type waveDBlock struct {
	x         [5][waveBlock]float64
	t, out, r [waveBlock]float64
}

// waveDVec reports whether c runs the kernels of d axes in assembly.
func (c *CPU) waveDVec(d int) bool {
	return (d == 3 || d == 5) && hasWave1AVX512 && c.simd == "avx512"
}

// waveDForward evaluates the waves st at the nb ≤ waveBlock points from
// b0 of the columns xs, t, leaving the intermediates in f
// (waveDLen(d, len(st)) values) and the output (from bias) in blk.out.
func waveDForward[V waveVec](st []waveState[V], f []float64, bias float64, xs *[5][]float64, t []float64, b0, nb int, blk *waveDBlock) {
	d := len(st[0].k)
	for a := range d {
		blk.x[a] = [waveBlock]float64{}
		copy(blk.x[a][:nb], xs[a][b0:b0+nb])
	}
	blk.t = [waveBlock]float64{}
	copy(blk.t[:nb], t[b0:b0+nb])
	nw := len(st)
	n := nw * waveBlock
	stride := int(unsafe.Sizeof(st[0]))
	f = f[:waveDLen(d, nw)]
	wavedArgs(&st[0].a, d, nw, &blk.x, &blk.t, &f[0])
	vecmath.Sincos(f[:2*n], f[2*n:4*n], f[:2*n]) // sn, sm → sin; cs, cm
	vecmath.Exp(f[6*n:7*n], f[6*n:7*n])
	wavedSz(&st[0].a, stride, nw, &f[0])
	vecmath.Sincos(f[4*n:5*n], f[5*n:6*n], f[4*n:5*n])
	for q := range blk.out {
		blk.out[q] = bias
	}
	wavedOut(&st[0].a, stride, nw, &f[0], &blk.out)
}

// waveDGrad is waveBlockGrad for 3 and 5 axes on AVX-512.
func waveDGrad[V waveVec](st []waveState[V], f []float64, bias float64, xs *[5][]float64, t, y []float64, scale float64, b0, nb int, blk *waveDBlock) (sq, gb float64) {
	waveDForward(st, f, bias, xs, t, b0, nb, blk)
	sq, gb = blockResiduals(&blk.out, y[b0:b0+nb], scale, &blk.r)
	d, nw := len(st[0].k), len(st)
	ns := 5 + 3*d
	sums := f[(7+d)*waveBlock*nw : waveDLen(d, nw)]
	wavedSums(d, nw, &f[0], &blk.x, &blk.t, &blk.r, &sums[0])
	for j := range st {
		w, s := &st[j], sums[ns*j:ns*(j+1)]
		ha := w.h * w.a
		w.gA += w.h * s[0]
		w.gH += w.a * s[0]
		w.gOmega += ha * s[1]
		w.gPhi += ha * s[2]
		w.gEps += ha * s[3]
		w.gLogSigma += ha * s[4]
		for a := range len(w.k) {
			w.gk[a] -= ha * s[5+3*a]
			w.glm[a] -= ha * w.eps * s[6+3*a]
			w.gv[a] += ha * w.inv * s[7+3*a]
		}
	}
	return sq, gb
}
