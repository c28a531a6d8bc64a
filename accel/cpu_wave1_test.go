package accel

import (
	"fmt"
	"math"
	"testing"
	"unsafe"
)

// TestWave1Layout checks the offsets of waveState[[1]float64] that
// cpu_wave_amd64.s addresses.
func TestWave1Layout(t *testing.T) {
	var w waveState[[1]float64]
	got := []uintptr{unsafe.Offsetof(w.a), unsafe.Offsetof(w.omega), unsafe.Offsetof(w.inv), unsafe.Offsetof(w.phi),
		unsafe.Offsetof(w.eps), unsafe.Offsetof(w.h), unsafe.Offsetof(w.k), unsafe.Offsetof(w.v), unsafe.Offsetof(w.lm), unsafe.Sizeof(w)}
	want := []uintptr{0, 8, 16, 24, 32, 40, 48, 56, 64, 144}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("offsets of a, omega, inv, phi, eps, h, k, v, lm and size: %v, cpu_wave_amd64.s takes %v", got, want)
	}
}

// wave1Grads lists the gradient accumulators of st.
func wave1Grads(st []waveState[[1]float64]) []float64 {
	var g []float64
	for _, w := range st {
		g = append(g, w.gA, w.gOmega, w.gLogSigma, w.gPhi, w.gEps, w.gH, w.gk[0], w.gv[0], w.glm[0])
	}
	return g
}

// wave1Paths lists the 1D kernels' assembly paths this CPU runs: wide
// (AVX-512) or not (AVX2).
func wave1Paths(t *testing.T) []bool {
	var paths []bool
	if hasWave1AVX512 {
		paths = append(paths, true)
	}
	if hasWave1AVX2 {
		paths = append(paths, false)
	}
	if len(paths) == 0 {
		t.Skip("no AVX2 or AVX-512")
	}
	return paths
}

// TestWave1Vec compares the 1D AVX-512 and AVX2 block kernels with the
// portable block on random parameters and points: the output, the sums of
// squares and of residuals, and every gradient accumulator after two
// blocks, for 1 to 16 points (from an odd offset, with other points
// either side) and several wave counts, with and without a head.
func TestWave1Vec(t *testing.T) {
	for _, wide := range wave1Paths(t) {
		t.Run(fmt.Sprintf("avx512=%v", wide), func(t *testing.T) { testWave1Vec(t, wide) })
	}
}

func testWave1Vec(t *testing.T, wide bool) {
	const n, b0 = 48, 5
	for _, waves := range []int{1, 2, 3, 8} {
		for _, head := range []bool{false, true} {
			f := WaveFamily{Dim: 1, Waves: waves, Head: head}
			for nb := 1; nb <= waveBlock; nb++ {
				t.Run(fmt.Sprintf("waves=%d/head=%v/nb=%d", waves, head, nb), func(t *testing.T) {
					p, in, y := waveProblem(f, n, uint64(1000*waves+100*nb+btoi(head)))
					xs, tc := columns(f, in, n)
					scale := 2.0 / n
					ref := make([]waveState[[1]float64], waves)
					vec := make([]waveState[[1]float64], waves)
					bias := setConstants(f, p, ref)
					setConstants(f, p, vec)
					blk := make([]waveBlockState[[1]float64], waves)
					scratch := make([]float64, wave1Len(waves))
					for i := range scratch {
						scratch[i] = math.NaN() // every value read must be written first
					}
					var vb wave1Block
					// Two blocks: nb points from b0, then a full one after them.
					for _, blkAt := range [][2]int{{b0, nb}, {b0 + nb, waveBlock}} {
						at, m := blkAt[0], blkAt[1]
						var out [waveBlock]float64
						waveBlockForward(false, ref, blk, bias, &xs, tc, at, out[:m])
						wave1Forward(wide, vec, scratch, bias, xs[0], tc, at, m, &vb)
						for q := range m {
							if !closeRel(vb.out[q], out[q], 1e-12, 0) {
								t.Errorf("block at %d: out[%d] = %v, portable %v", at, q, vb.out[q], out[q])
							}
						}
						sq, gb := waveBlockGrad(false, ref, blk, bias, &xs, tc, y, scale, at, m)
						vsq, vgb := wave1Grad(wide, vec, scratch, bias, xs[0], tc, y, scale, at, m, &vb)
						if !closeRel(vsq, sq, 1e-12, 0) || !closeRel(vgb, gb, 1e-12, 0) {
							t.Errorf("block at %d: sq, gb = %v, %v, portable %v, %v", at, vsq, vgb, sq, gb)
						}
					}
					gr, gv := wave1Grads(ref), wave1Grads(vec)
					for i := range gr {
						if !closeRel(gv[i], gr[i], 1e-12, 0) {
							t.Errorf("wave %d gradient %d: %v, portable %v", i/9, i%9, gv[i], gr[i])
						}
					}
				})
			}
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestWave1VecWorkers checks that the 1D kernels' results on each
// assembly path do not depend on the number of workers, bit for bit, and
// match the portable path's.
func TestWave1VecWorkers(t *testing.T) {
	for _, wide := range wave1Paths(t) {
		simd := map[bool]string{true: "avx512", false: "avx2"}[wide]
		t.Run(simd, func(t *testing.T) { testWave1VecWorkers(t, simd) })
	}
}

func testWave1VecWorkers(t *testing.T, simd string) {
	checkWorkers(t, WaveFamily{Dim: 1, Waves: 6, Head: true}, 3001, simd)
}

// checkWorkers checks f's kernels on n random points: their results with
// 1, 2 and 8 workers the same bit for bit, and the portable path's to
// relative 1e-12. A non-empty simd sets the kernels' path.
func checkWorkers(t *testing.T, f WaveFamily, n int, simd string) {
	p, in, y := waveProblem(f, n, 7)
	run := func(cfg CPUConfig) (out, grad []float64, loss float64) {
		c := NewCPU(cfg)
		if !cfg.Portable && simd != "" {
			c.simd = simd // the kernels' path (vecmath's stays its own)
			if vec, _ := c.wave1Vec(); !vec {
				t.Fatalf("path %s not taken", simd)
			}
		}
		pb, inb, yb := mustUpload(t, c, p), mustUpload(t, c, in), mustUpload(t, c, y)
		ob, gb := mustAlloc(t, c, n), mustAlloc(t, c, len(p))
		if err := c.WaveForward(f, pb, inb, n, ob); err != nil {
			t.Fatal(err)
		}
		loss, err := c.WaveLossGrad(f, pb, inb, yb, n, gb)
		if err != nil {
			t.Fatal(err)
		}
		o, _ := c.Slice(ob)
		g, _ := c.Slice(gb)
		return append([]float64(nil), o[:n]...), append([]float64(nil), g[:len(p)]...), loss
	}
	o1, g1, l1 := run(CPUConfig{Workers: 1})
	o2, g2, l2 := run(CPUConfig{Workers: 2})
	o8, g8, l8 := run(CPUConfig{Workers: 8})
	op, gp, lp := run(CPUConfig{Workers: 2, Portable: true})
	if l1 != l2 || l1 != l8 {
		t.Errorf("loss by workers 1, 2, 8: %v, %v, %v", l1, l2, l8)
	}
	if !closeRel(l1, lp, 1e-12, 0) {
		t.Errorf("loss %v, portable %v", l1, lp)
	}
	for i := range o1 {
		if o1[i] != o2[i] || o1[i] != o8[i] {
			t.Errorf("out[%d] by workers 1, 2, 8: %v, %v, %v", i, o1[i], o2[i], o8[i])
		}
		if !closeRel(o1[i], op[i], 1e-12, 0) {
			t.Errorf("out[%d] = %v, portable %v", i, o1[i], op[i])
		}
	}
	for i := range g1 {
		if g1[i] != g2[i] || g1[i] != g8[i] {
			t.Errorf("grad[%d] by workers 1, 2, 8: %v, %v, %v", i, g1[i], g2[i], g8[i])
		}
		if !closeRel(g1[i], gp[i], 1e-12, 0) {
			t.Errorf("grad[%d] = %v, portable %v", i, g1[i], gp[i])
		}
	}
}
