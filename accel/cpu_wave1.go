package accel

import "github.com/dredge-cli/dredge/internal/vecmath"

// The 1D wave kernels on AVX-512 and AVX2: the per-wave loops over a
// block's points that waveBlockForward and waveBlockGrad run in Go
// (forming the arguments, the combine, the gradient's sums) run in 8-lane
// (4-lane) Go assembly (cpu_wave_amd64.s) over all the block's waves at
// once, with one vecmath call per function per block over all waves'
// lanes between them. A block always runs 16 lanes: those past its points
// hold x = t = 0 and a zero residual, so they add nothing to the
// gradient. The gradient sums are taken in vector registers and reduced
// across the lanes once per block and wave, in a fixed order: results
// differ from the portable path's in the last bits only, and do not
// depend on the worker count.
//
// BenchmarkTrainEpoch1D (stringtheory), epochs/s, 3 alternated rounds in
// one run on the shared 2-core AVX-512 VM: the vector path 3851, 3119, 3471
// before, 8805, 8198, 9111 with these kernels (about 2.5×); the portable
// path (DREDGE_CPU_SIMD=off, unchanged) 1639, 1711, 1672 before and 1543,
// 1323, 1693 after, noise. The AVX2 kernels (DREDGE_CPU_SIMD=avx2 on the
// same VM, another run, alternated with AVX-512): 4017, 3921, 3633 before,
// 6864, 6768, 6666 after (about 1.75×); AVX-512 in that run 3864, 3786,
// 3352 before, 9184, 8485, 8346 after.

// wave1Fields is the number of per-lane fields of the scratch of
// [wave1Forward]: sn, sm, cs, cm, sz, cz, env and u, each nw·16 values
// (wave j's lanes from 16·j).
const wave1Fields = 8

// wave1Len is the length of the scratch of [wave1Forward] for nw waves:
// the fields, then 8 sums per wave.
func wave1Len(nw int) int { return (wave1Fields*waveBlock + 8) * nw }

// wave1Block holds a block's points and its output and residuals.
type wave1Block struct {
	x, t, out, r [waveBlock]float64
}

// wave1Vec reports whether c runs the 1D wave kernels in assembly, and
// wide whether on AVX-512 (else AVX2).
func (c *CPU) wave1Vec() (vec, wide bool) {
	switch c.simd {
	case "avx512":
		return hasWave1AVX512, true
	case "avx2":
		return hasWave1AVX2, false
	}
	return false, false
}

// wave1Forward evaluates the waves st at the nb ≤ waveBlock points from
// b0 of the columns x, t, leaving the intermediates in f (wave1Len(len(st))
// values) and the output (from bias) in blk.out.
func wave1Forward(wide bool, st []waveState[[1]float64], f []float64, bias float64, x, t []float64, b0, nb int, blk *wave1Block) {
	blk.x, blk.t = [waveBlock]float64{}, [waveBlock]float64{}
	copy(blk.x[:nb], x[b0:b0+nb])
	copy(blk.t[:nb], t[b0:b0+nb])
	nw := len(st)
	n := nw * waveBlock
	f = f[:wave1Len(nw)]
	if wide {
		wave1Args(&st[0], nw, &blk.x, &blk.t, &f[0])
	} else {
		wave1ArgsAVX2(&st[0], nw, &blk.x, &blk.t, &f[0])
	}
	vecmath.Sincos(f[:2*n], f[2*n:4*n], f[:2*n]) // sn, sm → sin; cs, cm
	vecmath.Exp(f[6*n:7*n], f[6*n:7*n])
	if wide {
		wave1Sz(&st[0], nw, &f[0])
	} else {
		wave1SzAVX2(&st[0], nw, &f[0])
	}
	vecmath.Sincos(f[4*n:5*n], f[5*n:6*n], f[4*n:5*n])
	for q := range blk.out {
		blk.out[q] = bias
	}
	if wide {
		wave1Out(&st[0], nw, &f[0], &blk.out)
	} else {
		wave1OutAVX2(&st[0], nw, &f[0], &blk.out)
	}
}

// wave1Grad is waveBlockGrad for one axis on AVX-512: it runs the nb
// points from b0 through the waves st, accumulating their gradients in st,
// and returns the sum of squared residuals and of the residuals' gradient.
func wave1Grad(wide bool, st []waveState[[1]float64], f []float64, bias float64, x, t, y []float64, scale float64, b0, nb int, blk *wave1Block) (sq, gb float64) {
	wave1Forward(wide, st, f, bias, x, t, b0, nb, blk)
	sq, gb = blockResiduals(&blk.out, y[b0:b0+nb], scale, &blk.r)
	nw := len(st)
	sums := f[wave1Fields*waveBlock*nw : wave1Len(nw)]
	if wide {
		wave1Sums(nw, &f[0], &blk.x, &blk.t, &blk.r, &sums[0])
	} else {
		wave1SumsAVX2(nw, &f[0], &blk.x, &blk.t, &blk.r, &sums[0])
	}
	for j := range st {
		w, s := &st[j], sums[8*j:8*j+8]
		ha := w.h * w.a
		w.gA += w.h * s[0]
		w.gH += w.a * s[0]
		w.gOmega += ha * s[1]
		w.gk[0] -= ha * s[2]
		w.gPhi += ha * s[3]
		w.gEps += ha * s[4]
		w.glm[0] -= ha * w.eps * s[5]
		w.gv[0] += ha * w.inv * s[6]
		w.gLogSigma += ha * s[7]
	}
	return sq, gb
}
