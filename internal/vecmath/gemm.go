package vecmath

import (
	"strconv"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Gemm sets C = alpha·op(A)·op(B) + beta·C, with BLAS dgemm's semantics
// on row-major matrices: op(X) is X, or Xᵀ where transX is true; op(A) is
// m×k, op(B) k×n and C m×n; lda, ldb and ldc are the strides between
// rows of A, B and C as stored (A is m×k, or k×m when transA). With
// beta = 0, C is not read (NaN in C is overwritten); with k = 0 or
// alpha = 0, A and B are not read. C must not overlap A or B.
//
// It panics on a negative dimension, a stride less than the row length it
// strides (or than 1), or a slice too short for its matrix, as gonum's
// blas does. Gemm runs on the calling goroutine only; see the package
// documentation for the algorithm and the paths.
func Gemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic("vecmath: Gemm: negative dimension m=" + strconv.Itoa(m) + " n=" + strconv.Itoa(n) + " k=" + strconv.Itoa(k))
	}
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	checkMatrix("A", ar, ac, len(a), lda)
	checkMatrix("B", br, bc, len(b), ldb)
	checkMatrix("C", m, n, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if active == implGeneric || !gemmVecFits(m, n, k) {
		gonumDgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		return
	}
	if k == 0 || alpha == 0 {
		for i := range m {
			row := c[i*ldc : i*ldc+n]
			if beta == 0 {
				clear(row)
				continue
			}
			for j := range row {
				row[j] *= beta
			}
		}
		return
	}
	gemmVec(active, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkMatrix panics unless a rows×cols matrix of stride ld fits in a
// slice of length n.
func checkMatrix(name string, rows, cols, n, ld int) {
	if ld < max(1, cols) {
		panic("vecmath: Gemm: stride of " + name + " is " + strconv.Itoa(ld) + ", less than its " + strconv.Itoa(cols) + " columns (or 1)")
	}
	if rows > 0 && cols > 0 && n < (rows-1)*ld+cols {
		panic("vecmath: Gemm: slice of " + name + " has " + strconv.Itoa(n) + " values, too short for " +
			strconv.Itoa(rows) + "×" + strconv.Itoa(cols) + " with stride " + strconv.Itoa(ld))
	}
}

// gonumDgemm is gonum's Dgemm with Gemm's arguments, or its Dgemv for a
// matrix-vector product (n = 1): Dgemm's Aᵀ·b made one axpy of length 1
// per element of A (SIREN's first layer's weight gradient, 64×1000×1, took
// 200 µs of a 1.45 ms epoch).
func gonumDgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	impl := blas64.Implementation()
	if n == 1 && k > 0 { // Dgemv leaves C unscaled when k = 0
		incX := ldb // B is k×1: a column
		if transB {
			incX = 1 // Bᵀ stored 1×k: a row
		}
		if transA {
			impl.Dgemv(blas.Trans, k, m, alpha, a, lda, b, incX, beta, c, ldc)
		} else {
			impl.Dgemv(blas.NoTrans, m, k, alpha, a, lda, b, incX, beta, c, ldc)
		}
		return
	}
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	impl.Dgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}
