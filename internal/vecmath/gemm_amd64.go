//go:build amd64 && !purego

package vecmath

import "sync"

// gemmKernel8x16 is the AVX-512 micro-kernel of gemm_amd64.s: over k
// steps, it accumulates the 8×16 tile Σ a[8p+i]·b[16p+j] (a and b packed
// panels) in 16 ZMM registers, then stores alpha·tile + beta·C into the
// 8×16 tile at c (stride ldc), reading C only if load is non-zero.
//
//go:noescape
func gemmKernel8x16(k int, a, b, c *float64, ldc int, alpha, beta float64, load int)

// The blocking of gemmVec: micro-tiles of gemmMR×gemmNR, the k dimension
// in blocks of gemmKC (a packed B panel, gemmKC×gemmNR, 32 KiB, stays in
// L1 while the packed A block, gemmMC×gemmKC, 256 KiB, streams from L2),
// n in blocks of gemmNC.
const (
	gemmMR = 8
	gemmNR = 16
	gemmKC = 256
	gemmMC = 128
	gemmNC = 1024
)

// gemmVecFits says whether the vector path takes an m×n×k product: on
// the AVX-512 path only (AVX2 CPUs take gonum's), and not for n = 1, a
// matrix-vector product, where the 16-wide tile would be 1/16 useful and
// gonum's dot products are faster (measured 0.71× gonum at 1000×1×64).
func gemmVecFits(m, n, k int) bool { return active == implAVX512 && n > 1 }

// gemmBufs are the packing buffers, reused through gemmPool so that a
// call allocates nothing in steady state.
type gemmBufs struct{ a, b []float64 }

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// gemmVec is Gemm on the AVX-512 path, for m, n, k > 0 and alpha ≠ 0,
// arguments checked: the GotoBLAS loops around gemmKernel8x16.
func gemmVec(_ implKind, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	bufs := gemmPool.Get().(*gemmBufs)
	kc0 := min(k, gemmKC)
	if need := roundUp(min(m, gemmMC), gemmMR) * kc0; len(bufs.a) < need {
		bufs.a = make([]float64, need)
	}
	if need := roundUp(min(n, gemmNC), gemmNR) * kc0; len(bufs.b) < need {
		bufs.b = make([]float64, need)
	}
	for jc := 0; jc < n; jc += gemmNC {
		nc := min(gemmNC, n-jc)
		for pc := 0; pc < k; pc += gemmKC {
			kc := min(gemmKC, k-pc)
			bt := beta
			if pc > 0 {
				bt = 1
			}
			packB(bufs.b, transB, b, ldb, pc, jc, kc, nc)
			for ic := 0; ic < m; ic += gemmMC {
				mc := min(gemmMC, m-ic)
				packA(bufs.a, transA, a, lda, ic, pc, mc, kc)
				gemmMacro(kc, mc, nc, alpha, bufs.a, bufs.b, bt, c[ic*ldc+jc:], ldc)
			}
		}
	}
	gemmPool.Put(bufs)
}

// packA packs op(A)[ic:ic+mc, pc:pc+kc] into dst as panels of gemmMR
// rows: dst[(p·kc + q)·gemmMR + i] = op(A)[ic+p·gemmMR+i, pc+q], zero
// past row mc.
func packA(dst []float64, trans bool, a []float64, lda, ic, pc, mc, kc int) {
	for p := 0; p*gemmMR < mc; p++ {
		rows := min(gemmMR, mc-p*gemmMR)
		d := dst[p*kc*gemmMR : (p+1)*kc*gemmMR]
		r0 := ic + p*gemmMR
		if trans { // op(A)[r, q] = a[q·lda + r]
			for q := range kc {
				t := d[q*gemmMR : (q+1)*gemmMR]
				copy(t, a[(pc+q)*lda+r0:(pc+q)*lda+r0+rows])
				clear(t[rows:])
			}
			continue
		}
		for i := range rows {
			src := a[(r0+i)*lda+pc : (r0+i)*lda+pc+kc]
			for q, v := range src {
				d[q*gemmMR+i] = v
			}
		}
		if rows < gemmMR {
			for q := range kc {
				clear(d[q*gemmMR+rows : (q+1)*gemmMR])
			}
		}
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into dst as panels of gemmNR
// columns: dst[(p·kc + q)·gemmNR + j] = op(B)[pc+q, jc+p·gemmNR+j], zero
// past column nc.
func packB(dst []float64, trans bool, b []float64, ldb, pc, jc, kc, nc int) {
	for p := 0; p*gemmNR < nc; p++ {
		cols := min(gemmNR, nc-p*gemmNR)
		d := dst[p*kc*gemmNR : (p+1)*kc*gemmNR]
		j0 := jc + p*gemmNR
		if !trans { // op(B)[q, j] = b[q·ldb + j]
			for q := range kc {
				t := d[q*gemmNR : (q+1)*gemmNR]
				copy(t, b[(pc+q)*ldb+j0:(pc+q)*ldb+j0+cols])
				clear(t[cols:])
			}
			continue
		}
		for j := range cols {
			src := b[(j0+j)*ldb+pc : (j0+j)*ldb+pc+kc]
			for q, v := range src {
				d[q*gemmNR+j] = v
			}
		}
		if cols < gemmNR {
			for q := range kc {
				clear(d[q*gemmNR+cols : (q+1)*gemmNR])
			}
		}
	}
}

// gemmMacro runs the micro-kernel over the mc×nc block of C at c from
// the packed blocks pa and pb: full tiles in place, the edge tiles
// through a buffer on the stack.
func gemmMacro(kc, mc, nc int, alpha float64, pa, pb []float64, beta float64, c []float64, ldc int) {
	load := 0
	if beta != 0 {
		load = 1
	}
	for jr := 0; jr < nc; jr += gemmNR {
		nr := min(gemmNR, nc-jr)
		bp := &pb[jr*kc]
		for ir := 0; ir < mc; ir += gemmMR {
			mr := min(gemmMR, mc-ir)
			ap := &pa[ir*kc]
			if mr == gemmMR && nr == gemmNR {
				gemmKernel8x16(kc, ap, bp, &c[ir*ldc+jr], ldc, alpha, beta, load)
				continue
			}
			var t [gemmMR * gemmNR]float64
			gemmKernel8x16(kc, ap, bp, &t[0], gemmNR, alpha, 0, 0)
			for i := range mr {
				row := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+nr]
				tr := t[i*gemmNR : i*gemmNR+nr]
				if beta == 0 {
					copy(row, tr)
					continue
				}
				for j, v := range tr {
					row[j] = v + beta*row[j]
				}
			}
		}
	}
}
