//go:build amd64 && !purego

package vecmath

import "sync"

// gemmKernel8x16 is the AVX-512 micro-kernel of gemm_amd64.s: over k
// steps, it accumulates the 8×16 tile Σ a[i·lda + p·step]·b[p·bstep + j]
// (see block) in 16 ZMM registers, then stores alpha·tile + beta·C into
// the 8×16 tile at c (stride ldc), reading C only if load is non-zero.
//
//go:noescape
func gemmKernel8x16(k int, a *float64, lda, step int, b *float64, bstep int, c *float64, ldc int, alpha, beta float64, load int)

// gemmKernel6x8 is the AVX2 micro-kernel, gemmKernel8x16's for a 6×8
// tile in 12 YMM registers.
//
//go:noescape
func gemmKernel6x8(k int, a *float64, lda, step int, b *float64, bstep int, c *float64, ldc int, alpha, beta float64, load int)

// gemmTile returns the micro-tile, mr×nr, of path k.
func gemmTile(k implKind) (mr, nr int) {
	if k == implAVX512 {
		return 8, 16
	}
	return 6, 8
}

// The blocking of gemmVec: micro-tiles of mr×nr (gemmTile), the k
// dimension in blocks of gemmKC (a packed B panel, gemmKC×nr, 32 KiB on
// AVX-512, stays in L1 while A streams past it), m in blocks of gemmMC
// rounded down to a multiple of mr, n in blocks of gemmNC. gemmMR×gemmNR
// is the largest tile.
const (
	gemmMR = 8
	gemmNR = 16
	gemmKC = 256
	gemmMC = 128
	gemmNC = 1024
)

// gemmVecFits says whether the vector path takes an m×n×k product: not
// for n = 1, a matrix-vector product, where the tile (8 or 16 wide) would
// be mostly padding and gonum's Dgemv is faster (the vector path measured
// 0.71× gonum's Dgemm at 1000×1×64 on avx512, and Dgemv is 4× Dgemm there).
func gemmVecFits(m, n, k int) bool { return active != implGeneric && n > 1 }

// gemmBufs are the packing buffers, reused through gemmPool so that a
// call allocates nothing in steady state.
type gemmBufs struct{ a, b []float64 }

var gemmPool = sync.Pool{New: func() any { return new(gemmBufs) }}

func roundUp(x, to int) int { return (x + to - 1) / to * to }

// gemmVec is Gemm on vector path impl, for m, n, k > 0 and alpha ≠ 0,
// arguments checked: the GotoBLAS loops around the micro-kernel.
func gemmVec(impl implKind, transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	mr, nr := gemmTile(impl)
	mcMax := gemmMC / mr * mr
	bufs := gemmPool.Get().(*gemmBufs)
	kc0 := min(k, gemmKC)
	if need := roundUp(min(m, mcMax), mr) * kc0; len(bufs.a) < need {
		bufs.a = make([]float64, need)
	}
	if need := roundUp(min(n, gemmNC), nr) * kc0; len(bufs.b) < need {
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
			// The kernel reads whole panels of op(B) and whole tiles of
			// op(A) where B and A lie, when it can; the rest, the last
			// rows of op(A) (fewer than mr), op(B)'s last columns (fewer
			// than nr) and all of a transposed B, is packed.
			nFull := 0
			var bIn block
			if !transB {
				nFull = nc / nr * nr
				bIn = block{b[pc*ldb+jc:], nr, 1, ldb}
			}
			if nFull < nc {
				packB(bufs.b, nr, transB, b, ldb, pc, jc+nFull, kc, nc-nFull)
			}
			bPacked := block{bufs.b, kc * nr, 1, nr}
			macro := func(ab block, i0, rows int) {
				ci := c[i0*ldc+jc:]
				if nFull > 0 {
					gemmMacro(impl, kc, rows, nFull, alpha, ab, bIn, bt, ci, ldc)
				}
				if nFull < nc {
					gemmMacro(impl, kc, rows, nc-nFull, alpha, ab, bPacked, bt, ci[nFull:], ldc)
				}
			}
			for ic := 0; ic < m; ic += mcMax {
				mc := min(mcMax, m-ic)
				full := mc / mr * mr
				if full > 0 {
					if transA {
						macro(block{a[pc*lda+ic:], mr, 1, lda}, ic, full)
					} else {
						macro(block{a[ic*lda+pc:], mr * lda, lda, 1}, ic, full)
					}
				}
				if full < mc {
					packA(bufs.a, mr, transA, a, lda, ic+full, pc, mc-full, kc)
					macro(block{bufs.a, kc * mr, 1, mr}, ic+full, mc-full)
				}
			}
		}
	}
	gemmPool.Put(bufs)
}

// packA packs op(A)[ic:ic+mc, pc:pc+kc] into dst as panels of mr
// rows: dst[(p·kc + q)·mr + i] = op(A)[ic+p·mr+i, pc+q], zero
// past row mc.
func packA(dst []float64, mr int, trans bool, a []float64, lda, ic, pc, mc, kc int) {
	for p := 0; p*mr < mc; p++ {
		rows := min(mr, mc-p*mr)
		d := dst[p*kc*mr : (p+1)*kc*mr]
		r0 := ic + p*mr
		if trans { // op(A)[r, q] = a[q·lda + r]
			for q := range kc {
				t := d[q*mr : (q+1)*mr]
				copy(t, a[(pc+q)*lda+r0:(pc+q)*lda+r0+rows])
				clear(t[rows:])
			}
			continue
		}
		for i := range rows {
			src := a[(r0+i)*lda+pc : (r0+i)*lda+pc+kc]
			for q, v := range src {
				d[q*mr+i] = v
			}
		}
		if rows < mr {
			for q := range kc {
				clear(d[q*mr+rows : (q+1)*mr])
			}
		}
	}
}

// packB packs op(B)[pc:pc+kc, jc:jc+nc] into dst as panels of nr
// columns: dst[(p·kc + q)·nr + j] = op(B)[pc+q, jc+p·nr+j], zero
// past column nc.
func packB(dst []float64, nr int, trans bool, b []float64, ldb, pc, jc, kc, nc int) {
	// op(B)'s columns are op(B)ᵀ's rows, and op(B)ᵀ is B read with the
	// opposite transposition: packA of it.
	packA(dst, nr, !trans, b, ldb, jc, pc, nc, kc)
}

// block is where the micro-kernel reads a block of op(A) or op(B). For
// op(A), mc×kc, row i of the block's tile t (rows t·mr…) starts at
// a[t·tile + i·lda], and its values step by step: a packed block (packA)
// has tile = kc·mr, lda = 1 and step = mr; A as stored, tile = mr·lda,
// A's lda and step = 1; A transposed, tile = mr, lda = 1 and step = A's
// lda. For op(B), kc×nc, panel p (columns p·nr…) starts at a[p·tile] and
// its rows step by step (lda is 1): packed (packB), tile = kc·nr and
// step = nr; B as stored, not transposed, tile = nr and step = B's ldb.
// Reading A in place rather than packing it took SIREN's products on
// avx512 from 105–115 µs to 68–74 µs (1000×64×64, NN and NT; avx2 from
// 176–180 to 136–140 µs), same run; reading B in place too took the
// weight gradient's TN 64×64×1000 from 90–92 to 69–73 µs on avx512 (avx2
// 180–183 to 147–160).
type block struct {
	a               []float64
	tile, lda, step int
}

// gemmMacro runs the micro-kernel over the mc×nc block of C at c from
// the blocks of op(A) ab and op(B) bb: full tiles in place, the edge
// tiles through a buffer on the stack. Only packed blocks may have an
// edge tile (fewer than mr rows, or nr columns).
func gemmMacro(impl implKind, kc, mc, nc int, alpha float64, ab, bb block, beta float64, c []float64, ldc int) {
	mr, nr := gemmTile(impl)
	load := 0
	if beta != 0 {
		load = 1
	}
	for jr := 0; jr < nc; jr += nr {
		cols := min(nr, nc-jr)
		bp := &bb.a[jr/nr*bb.tile]
		for ir := 0; ir < mc; ir += mr {
			rows := min(mr, mc-ir)
			ap := &ab.a[ir/mr*ab.tile]
			if rows == mr && cols == nr {
				// direct calls (not through a func value), as the other
				// kernels', so that t below stays on the stack
				if impl == implAVX512 {
					gemmKernel8x16(kc, ap, ab.lda, ab.step, bp, bb.step, &c[ir*ldc+jr], ldc, alpha, beta, load)
				} else {
					gemmKernel6x8(kc, ap, ab.lda, ab.step, bp, bb.step, &c[ir*ldc+jr], ldc, alpha, beta, load)
				}
				continue
			}
			var t [gemmMR * gemmNR]float64
			if impl == implAVX512 {
				gemmKernel8x16(kc, ap, ab.lda, ab.step, bp, bb.step, &t[0], nr, alpha, 0, 0)
			} else {
				gemmKernel6x8(kc, ap, ab.lda, ab.step, bp, bb.step, &t[0], nr, alpha, 0, 0)
			}
			for i := range rows {
				row := c[(ir+i)*ldc+jr : (ir+i)*ldc+jr+cols]
				tr := t[i*nr : i*nr+cols]
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
