// Package vecmath evaluates sin, cos, exp and tanh over slices of
// float64, and the matrix product [Gemm], vectorised with AVX2 or
// AVX-512 where the CPU has them.
//
// # Functions
//
// [Sincos], [Sin], [Cos], [Exp] and [Tanh] set dst[i] = f(x[i]) for every
// i, for slices of any length (the part that is not a multiple of the
// vector width runs through a padded buffer, on the same kernel). The
// slices must have the same length, or the functions panic (they do not
// take the shorter length, as copy does); an output may be x itself (in
// place), but slices must not otherwise overlap, and Sincos's sin and cos
// must be distinct.
//
// [SinScaled] and [SinScaledGrad] are a SIREN layer's activation, sin(a·x),
// and its gradient, cos(a·x)·(dy·a), each in one pass over the slices:
// the scale and the product ride in the sincos kernel, so the values are
// those of Sin and Cos applied to the rounded a·x. SinScaledGrad's output
// must overlap neither input. A trainer that keeps the cosine instead
// takes both from [SincosScaled] in the forward pass and the gradient
// from [MulScaled], x·(y·a), in the backward pass: the same values, to
// the bit, without a second cosine.
//
// # Paths
//
// The kernels are Go assembly (vecmath_amd64.s), nothing that a plain go
// get does not build:
//
//   - avx512: 8 lanes, on amd64 CPUs with AVX-512F and DQ;
//   - avx2: 4 lanes, on amd64 CPUs with AVX2 and FMA;
//   - generic: a loop over package math, on every other CPU and
//     architecture, and with the purego build tag.
//
// The path is chosen once, at init, from golang.org/x/sys/cpu: the widest
// the CPU has. The environment variable DREDGE_CPU_SIMD, read at the same
// time, overrides it: off (or 0, false, no, generic) takes the generic
// path, for comparison; avx2 at most AVX2; anything else, or unset, the
// widest. [Impl] says which path runs.
//
// # Algorithms and accuracy
//
// Sincos, Sin and Cos are math.Sincos's algorithm, lane by lane: the
// octant j = trunc(|x|·4/π) rounded up to even, Cody–Waite reduction by
// π/4 in three parts (not fused, so that the reduced argument is math's to
// the bit), and the Cephes polynomials of package math, evaluated with
// FMA. Lanes with |x| ≥ 2²⁹ (where math uses Payne–Hanek), ±Inf or NaN are
// handed to package math after the kernel. Exp reduces x by n·ln 2, n =
// round(x/ln 2), with FMA (exact for the first of its two parts), takes
// a degree-13 Taylor polynomial and multiplies by 2ⁿ as two normal powers
// of two, so that it overflows to +Inf and underflows through the
// subnormals to 0 as the exact product rounds; NaN gives NaN. Tanh is
// math.Tanh's: for |x| < 0.625 Cephes's x + x·z·P(z)/Q(z), z = x², else
// 1 − 2/(exp(2|x|)+1) with x's sign (both evaluated, blended, one
// division), ±1 beyond |x| = 22, tanh(±0) = ±0.
//
// Largest differences from package math measured by the tests, in ulps,
// over about 3.1 million arguments per function (random bits over the
// whole float64 range with the subnormals, log-uniform and dense grids
// over the ordinary ranges, and the edges: ±0, subnormals, ±MaxFloat64,
// ±Inf, NaN, near multiples of π/4 and π/2 up to 3.4e8, around 2²⁹ and
// exp's overflow and underflow thresholds, tanh's branch point):
//
//	function      avx2  avx512  generic   tests assert
//	sin, cos         1       1        0   ≤ 1
//	exp              2       2        0   ≤ 2
//	tanh             2       2        0   ≤ 2
//
// Both sides err: spot checks against 200-bit values find package math
// as far from the true value as these kernels (math.Exp's assembly is the
// one 1.7 ulps off at x = -647.066, these 0.6). Exp's one deliberate
// difference: package math's assembly on amd64 returns +Inf for
// 1023.5·ln 2 ≈ 709.436 ≤ x ≤ 709.78, where exp(x) is finite; Exp, on
// every path, returns the finite value there (the generic path as
// 2¹⁰²³·exp(x − 1023·ln 2)), and is tested against it.
//
// # Speed
//
// go test -bench . reports, for each function and path, points/s (values
// per second over 4096-value slices: sin and cos of [-100, 100], exp of
// [-50, 50], tanh of [-5, 5]); on the vector paths also the scalar loop
// over package math measured in the same benchmark (scalar-points/s), the
// ratio (speedup), and fma-peak-frac: the kernel's float64 add, mul, FMA,
// min and max instructions per value (sincos 26, exp 22, tanh 31 and a
// division) × points/s, over the core's peak rate of float64 FMA lanes
// that BenchmarkFMAPeak measures in the same run with 12 independent
// VFMADD231PD chains. One run on a shared, noisy 2-core VM ("Oxide
// Virtual Turin-like Processor", AVX-512; peak measured at 6.4e10 FMA
// lanes/s, i.e. two 8-lane FMAs per cycle at about 4 GHz), in millions of
// values per second:
//
//	function  math (scalar)  avx2 (×math)   avx512 (×math)  peak frac avx2/avx512
//	sincos        142          718 (5.1)    1433 (9.8)      0.29 / 0.58
//	sin           193          741 (3.8)    1393 (7.2)      0.30 / 0.56
//	cos           187          735 (3.9)    1394 (7.4)      0.30 / 0.56
//	exp           108-154     1019 (9.4)    1923 (12.5)     0.35 / 0.66
//	tanh          122          685 (5.6)    1436 (11.8)     0.33 / 0.69
//
// Sin and Cos cost what Sincos does: both polynomials are needed for the
// octant's swap. MulScaled, two multiplications a value, ran at 6,800
// million values per second on both vector paths, 3.5 times the Go loop,
// in the same run (its slices in L1; from memory, as a trainer's are, it
// gains less: a SIREN epoch 4 %).
//
// # Matrix product
//
// [Gemm] is BLAS dgemm on row-major matrices: C = alpha·op(A)·op(B) +
// beta·C, op(X) = X or Xᵀ, any strides, beta = 0 not reading C. It
// panics on inconsistent dimensions, strides or short slices, and runs
// on the calling goroutine only: a caller with several workers splits
// the rows of C between them (gonum's Dgemm, by contrast, starts
// goroutines of its own for large products).
//
// On the vector paths it is the GotoBLAS/BLIS scheme, but packing only
// what must be: op(B), a block of 256 of its rows (k) by up to 1024
// columns at a time, is read in panels of nr columns, in place when B is
// not transposed, else packed (k×nr, contiguous, zero-padded at the edge).
// op(A) is not packed: the micro-kernel broadcasts its mr rows' values
// from A where it lies, stepping along a row of A, or down a column of A
// when transposed (packing A took a third of the time of SIREN's
// 1000×64×64 products, packing B a fifth of its weight gradient's); only
// op(A)'s last rows, fewer than mr, and op(B)'s last columns, fewer than
// nr, are packed into zero-padded panels. The micro-kernels
// (gemm_amd64.s) hold an mr×nr tile of C in registers: on avx512 8×16 in
// 16 ZMM, on avx2 6×8 in 12 YMM; for each k they load nr values of B,
// broadcast mr values of A and issue 2·mr FMAs, then store alpha·tile + beta·C,
// C read only when beta ≠ 0. Full tiles are written in place, the edge
// tiles through a buffer on the stack. The packing buffers come from a
// sync.Pool: no allocation per call in steady state. n = 1 (matrix times
// vector), where the tile would be mostly padding, goes to gonum. The
// generic path calls gonum's Dgemm (whose kernels are SSE2), so that its
// results are today's, to the bit. The tests compare every path with a
// triple loop for the four transpositions, m, n, k over 0…100 and the
// layers' shapes, alpha and beta in {0, 1, −0.5, 2}, padded strides and
// NaN in C with beta = 0, to 1e-12 of the sum of the terms' magnitudes.
//
// BenchmarkGemm, on the same VM, one run with -cpu 1 (gonum then on one
// core, as Gemm is), in GFLOP/s (2·m·n·k per call), the fraction of the
// core's peak rate of float64 FMA lanes (the AVX-512 peak, for both) in
// brackets, and gonum measured in the same benchmark:
//
//	product (m×n×k)    avx2 (×gonum)        avx512 (×gonum)      gonum
//	NT 1000×64×64      59 (0.46)  5.4×     118 (0.91)    10×     11.3
//	TN 64×64×1000      57 (0.44)  5.6×     122 (0.93)    12×     10.2
//	NN 1000×64×64      62 (0.48)  6.2×     124 (0.95)    12×     10.2
//	NT 1000×64×1       15 (0.11)   23×      28 (0.21)    46×      0.6
//	NT 1000×1×64       gonum's               gonum's               23.6
//	NN 256×256×256     61 (0.47)  6.2×     126 (0.97)    13×      9.9
//
// With -cpu 2 gonum uses both cores and reaches about 18 GFLOP/s on NT
// and NN 1000×64×64 and 15 on 256³, still 5–7 times slower than Gemm on
// avx512 and one core. The VM is shared and noisy: figures
// move by 10–40 % between runs.
package vecmath
