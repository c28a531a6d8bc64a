package accel

import (
	"fmt"
	"math"
	"testing"
)

// waveGrads lists the gradient accumulators of st.
func waveGrads[V waveVec](st []waveState[V]) []float64 {
	var g []float64
	for _, w := range st {
		g = append(g, w.gA, w.gOmega, w.gLogSigma, w.gPhi, w.gEps, w.gH)
		for a := range len(w.gk) {
			g = append(g, w.gk[a], w.gv[a], w.glm[a])
		}
	}
	return g
}

// TestWaveDVec compares the 3- and 5-axis AVX-512 block kernels with the
// portable block as TestWave1Vec does the 1D ones.
func TestWaveDVec(t *testing.T) {
	if !NewCPU(CPUConfig{}).waveDVec(3) {
		t.Skip("no AVX-512 path")
	}
	t.Run("dim=3", testWaveDVec[[3]float64])
	t.Run("dim=5", testWaveDVec[[5]float64])
}

func testWaveDVec[V waveVec](t *testing.T) {
	const n, b0 = 48, 5
	d := len(*new(V))
	for _, waves := range []int{1, 2, 3, 8} {
		for _, head := range []bool{false, true} {
			f := WaveFamily{Dim: d, Waves: waves, Head: head}
			for nb := 1; nb <= waveBlock; nb++ {
				t.Run(fmt.Sprintf("waves=%d/head=%v/nb=%d", waves, head, nb), func(t *testing.T) {
					p, in, y := waveProblem(f, n, uint64(10000*d+1000*waves+100*nb+btoi(head)))
					xs, tc := columns(f, in, n)
					scale := 2.0 / n
					ref := make([]waveState[V], waves)
					vec := make([]waveState[V], waves)
					bias := setConstants(f, p, ref)
					setConstants(f, p, vec)
					blk := make([]waveBlockState[V], waves)
					scratch := make([]float64, waveDLen(d, waves))
					for i := range scratch {
						scratch[i] = math.NaN() // every value read must be written first
					}
					var vb waveDBlock
					for _, blkAt := range [][2]int{{b0, nb}, {b0 + nb, waveBlock}} {
						at, m := blkAt[0], blkAt[1]
						var out [waveBlock]float64
						waveBlockForward(false, ref, blk, bias, &xs, tc, at, out[:m])
						waveDForward(vec, scratch, bias, &xs, tc, at, m, &vb)
						for q := range m {
							if !closeRel(vb.out[q], out[q], 1e-12, 0) {
								t.Errorf("block at %d: out[%d] = %v, portable %v", at, q, vb.out[q], out[q])
							}
						}
						sq, gb := waveBlockGrad(false, ref, blk, bias, &xs, tc, y, scale, at, m)
						vsq, vgb := waveDGrad(vec, scratch, bias, &xs, tc, y, scale, at, m, &vb)
						if !closeRel(vsq, sq, 1e-12, 0) || !closeRel(vgb, gb, 1e-12, 0) {
							t.Errorf("block at %d: sq, gb = %v, %v, portable %v, %v", at, vsq, vgb, sq, gb)
						}
					}
					gr, gv := waveGrads(ref), waveGrads(vec)
					per := len(gr) / waves
					for i := range gr {
						if !closeRel(gv[i], gr[i], 1e-12, 0) {
							t.Errorf("wave %d gradient %d: %v, portable %v", i/per, i%per, gv[i], gr[i])
						}
					}
				})
			}
		}
	}
}

// TestWaveDVecWorkers checks that the 3- and 5-axis kernels' results on
// the AVX-512 path do not depend on the number of workers, bit for bit,
// and match the portable path's.
func TestWaveDVecWorkers(t *testing.T) {
	if !NewCPU(CPUConfig{}).waveDVec(3) {
		t.Skip("no AVX-512 path")
	}
	for _, d := range []int{3, 5} {
		t.Run(fmt.Sprint("dim=", d), func(t *testing.T) {
			f := WaveFamily{Dim: d, Waves: 5, Head: true}
			checkWorkers(t, f, 2001, "")
		})
	}
}
