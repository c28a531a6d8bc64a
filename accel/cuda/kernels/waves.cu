// Quasimoto wave families (accel.WaveFamily): forward pass, residual and
// the gradient of the mean squared error, in float64, with the formulas and
// the order of operations of the CPU device (accel/cpu_wave.go).
//
// One wave's parameters (pw = 3d + 5 values):
//
//	A 0, k[d] 1.., omega 1+d, v[d] 2+d.., log_sigma 2+2d, phi 3+2d,
//	epsilon 4+2d, lmbda[d] 5+2d..
//
// followed, with a head, by W head weights and the head bias. Inputs are
// stored by column: d spatial columns of n values, then time.
//
// WaveForward is wave_eval_* writing the output. WaveLossGrad is three
// launches: wave_eval_* writing the residual (output − target) into a
// scratch vector, wave_grad_* (one grid row per wave) accumulating the
// gradient in registers and writing one partial sum per warp and
// parameter, and reduce_columns summing the partials in a fixed order: the
// result is the same bit for bit from run to run.
#include "common.cuh"

// wave_eval evaluates the family at n points. Block (P, S): P points, each
// shared by S wave slots (slot s evaluates waves s, s+S, …); the slots'
// sums are added in slot order, so with W ≤ S the output is
// bias + h0·ψ0 + h1·ψ1 + … in the CPU device's order. With y null it writes
// the output to out, otherwise output − y. Dynamic shared memory: P·S
// values, plus the family's parameters (log_sigma replaced by
// exp(−log_sigma)) when use_sh is set.
template <int D>
__device__ __forceinline__ void wave_eval_impl(const double *__restrict__ p, i64 dim, i64 W, i64 head, i64 use_sh,
                                               const double *__restrict__ in, i64 n, const double *__restrict__ y,
                                               double *__restrict__ out) {
	DYNAMIC_SHARED(double, sh);
	const i64 d = D > 0 ? D : dim;
	const i64 pw = 3 * d + 5;
	const i64 np = W * pw + (head ? W + 1 : 0);
	const int P = blockDim.x, S = blockDim.y;
	const int tx = threadIdx.x, s = threadIdx.y;
	const int tid = tx + P * s, nt = P * S;
	double *acc = sh;
	const double *q = p;
	if (use_sh) {
		double *cst = sh + nt;
		for (i64 k = tid; k < np; k += nt) {
			double v = p[k];
			if (k < W * pw && k % pw == 2 + 2 * d) v = exp(-v);
			cst[k] = v;
		}
		__syncthreads();
		q = cst;
	}
	const double bias = head ? q[W * pw + W] : 0.0;
	for (i64 b0 = (i64)blockIdx.x * P; b0 < n; b0 += (i64)gridDim.x * P) {
		const i64 i = b0 + tx;
		double part = 0;
		if (i < n) {
			const double t = in[d * n + i];
			double x[D > 0 ? D : 1];
			if (D > 0) {
#pragma unroll
				for (int a = 0; a < (D > 0 ? D : 1); a++) x[a] = in[a * n + i];
			}
			for (i64 j = s; j < W; j += S) {
				const double *w = q + j * pw;
				const double inv = use_sh ? w[2 + 2 * d] : exp(-w[2 + 2 * d]);
				double ph = 0, e = 0, m = 0;
				if (D > 0) {
#pragma unroll
					for (int a = 0; a < (D > 0 ? D : 1); a++) {
						const double xa = x[a];
						ph += w[1 + a] * xa;
						const double u = (xa - w[2 + d + a] * t) * inv;
						e += u * u;
						m += w[5 + 2 * d + a] * xa;
					}
				} else {
					for (i64 a = 0; a < d; a++) {
						const double xa = in[a * n + i];
						ph += w[1 + a] * xa;
						const double u = (xa - w[2 + d + a] * t) * inv;
						e += u * u;
						m += w[5 + 2 * d + a] * xa;
					}
				}
				const double cs = cos(ph - w[1 + d] * t);
				const double sz = sin(w[3 + 2 * d] + w[4 + 2 * d] * cos(m));
				const double psi = w[0] * cs * exp(-0.5 * e) * sz;
				part += (head ? q[W * pw + j] : 1.0) * psi;
			}
		}
		if (S == 1) {
			if (i < n) {
				const double tot = bias + part;
				out[i] = y ? tot - y[i] : tot;
			}
			continue;
		}
		acc[s * P + tx] = part;
		__syncthreads();
		if (s == 0 && i < n) {
			double tot = bias;
			for (int r = 0; r < S; r++) tot += acc[r * P + tx];
			out[i] = y ? tot - y[i] : tot;
		}
		__syncthreads();
	}
}

#define WAVE_EVAL(NAME, D)                                                                                             \
	extern "C" __global__ void NAME(const double *__restrict__ p, i64 dim, i64 W, i64 head, i64 use_sh,              \
	                                const double *__restrict__ in, i64 n, const double *__restrict__ y,             \
	                                double *__restrict__ out) {                                                      \
		wave_eval_impl<D>(p, dim, W, head, use_sh, in, n, y, out);                                                   \
	}
WAVE_EVAL(wave_eval_d1, 1)
WAVE_EVAL(wave_eval_d2, 2)
WAVE_EVAL(wave_eval_d3, 3)
WAVE_EVAL(wave_eval_d4, 4)
WAVE_EVAL(wave_eval_d5, 5)
WAVE_EVAL(wave_eval_dn, 0)

// wave_grad_impl accumulates the gradient of wave j = blockIdx.y +
// gridDim.y·blockIdx.z over the points of its grid row (grid-stride in x),
// given the residuals res = output − target, as the CPU device does:
// r = scale·res, then the chain rule through ψ_j. The blocks of wave 0 also
// sum res² (the loss, column np) and r (the head bias). Each warp writes
// its sums to part[col·rows + warp], rows = gridDim.x·blockDim.x/32.
template <int D>
__device__ __forceinline__ void wave_grad_impl(const double *__restrict__ p, i64 W, i64 head,
                                               const double *__restrict__ in, i64 n, const double *__restrict__ res,
                                               double scale, double *__restrict__ part) {
	const i64 j = blockIdx.y + (i64)gridDim.y * blockIdx.z;
	if (j >= W) return;
	constexpr int pw = 3 * D + 5;
	const i64 np = W * pw + (head ? W + 1 : 0);
	const double *w = p + j * pw;
	const double A = w[0], om = w[1 + D], inv = exp(-w[2 + 2 * D]), phi = w[3 + 2 * D], eps = w[4 + 2 * D];
	const double h = head ? p[W * pw + j] : 1.0;
	double k[D], v[D], lm[D];
#pragma unroll
	for (int a = 0; a < D; a++) {
		k[a] = w[1 + a];
		v[a] = w[2 + D + a];
		lm[a] = w[5 + 2 * D + a];
	}
	double gA = 0, gOm = 0, gLs = 0, gPhi = 0, gEps = 0, gH = 0, sq = 0, gb = 0;
	double gk[D], gv[D], glm[D];
#pragma unroll
	for (int a = 0; a < D; a++) gk[a] = gv[a] = glm[a] = 0;

	for (i64 i = global_index(); i < n; i += global_stride()) {
		const double t = in[D * n + i];
		double x[D], u[D];
		double ph = 0, e = 0, m = 0;
#pragma unroll
		for (int a = 0; a < D; a++) {
			x[a] = in[a * n + i];
			ph += k[a] * x[a];
			u[a] = (x[a] - v[a] * t) * inv;
			e += u[a] * u[a];
			m += lm[a] * x[a];
		}
		double sn, cs, sm, cm, sz, cz;
		sincos(ph - om * t, &sn, &cs);
		sincos(m, &sm, &cm);
		sincos(phi + eps * cm, &sz, &cz);
		const double env = exp(-0.5 * e);
		const double rs = res[i];
		const double r = scale * rs;
		const double rj = r * h;
		const double ae = rj * A * env;
		const double base = ae * cs * sz;
		gH += r * (A * cs * env * sz);
		gA += rj * cs * env * sz;
		const double dS = -ae * sn * sz;
		gOm -= dS * t;
		const double dz = ae * cs * cz;
		gPhi += dz;
		gEps += dz * cm;
		const double dM = -dz * eps * sm;
		const double bt = base * t * inv;
		double e2 = 0;
#pragma unroll
		for (int a = 0; a < D; a++) {
			gk[a] += dS * x[a];
			gv[a] += bt * u[a];
			glm[a] += dM * x[a];
			e2 += u[a] * u[a];
		}
		gLs += base * e2;
		if (j == 0) {
			sq += rs * rs;
			gb += r;
		}
	}

	const i64 rows = (i64)gridDim.x * (blockDim.x / 32);
	const i64 wg = (i64)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	const bool lane0 = (threadIdx.x & 31) == 0;
	auto put = [&](i64 col, double val) {
		val = warp_sum(val);
		if (lane0) part[col * rows + wg] = val;
	};
	const i64 c0 = j * pw;
	put(c0, gA);
	put(c0 + 1 + D, gOm);
	put(c0 + 2 + 2 * D, gLs);
	put(c0 + 3 + 2 * D, gPhi);
	put(c0 + 4 + 2 * D, gEps);
#pragma unroll
	for (int a = 0; a < D; a++) {
		put(c0 + 1 + a, gk[a]);
		put(c0 + 2 + D + a, gv[a]);
		put(c0 + 5 + 2 * D + a, glm[a]);
	}
	if (head) put(W * pw + j, gH);
	if (j == 0) {
		if (head) put(W * pw + W, gb);
		put(np, sq);
	}
}

#define WAVE_GRAD(NAME, D)                                                                                             \
	extern "C" __global__ void NAME(const double *__restrict__ p, i64 W, i64 head, const double *__restrict__ in,     \
	                                i64 n, const double *__restrict__ res, double scale, double *__restrict__ part) { \
		wave_grad_impl<D>(p, W, head, in, n, res, scale, part);                                                      \
	}
WAVE_GRAD(wave_grad_d1, 1)
WAVE_GRAD(wave_grad_d2, 2)
WAVE_GRAD(wave_grad_d3, 3)
WAVE_GRAD(wave_grad_d4, 4)
WAVE_GRAD(wave_grad_d5, 5)

// wave_grad_dn is wave_grad for any number of axes d. The scalar
// parameters' sums stay in registers; the per-axis ones are summed per warp
// and point and added to the warp's partials, which it zeroes first. The
// point loop is uniform across each warp (lanes past n contribute zeros).
extern "C" __global__ void wave_grad_dn(const double *__restrict__ p, i64 d, i64 W, i64 head,
                                        const double *__restrict__ in, i64 n, const double *__restrict__ res,
                                        double scale, double *__restrict__ part) {
	const i64 j = blockIdx.y + (i64)gridDim.y * blockIdx.z;
	if (j >= W) return;
	const i64 pw = 3 * d + 5;
	const i64 np = W * pw + (head ? W + 1 : 0);
	const double *w = p + j * pw;
	const double A = w[0], om = w[1 + d], inv = exp(-w[2 + 2 * d]), phi = w[3 + 2 * d], eps = w[4 + 2 * d];
	const double h = head ? p[W * pw + j] : 1.0;
	const i64 rows = (i64)gridDim.x * (blockDim.x / 32);
	const i64 wg = (i64)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	const int lane = threadIdx.x & 31;
	const i64 c0 = j * pw;
	for (i64 a = lane; a < d; a += 32) {
		part[(c0 + 1 + a) * rows + wg] = 0;
		part[(c0 + 2 + d + a) * rows + wg] = 0;
		part[(c0 + 5 + 2 * d + a) * rows + wg] = 0;
	}
	__syncwarp();
	auto add = [&](i64 col, double val) {
		val = warp_sum(val);
		if (lane == 0) part[col * rows + wg] += val;
	};
	double gA = 0, gOm = 0, gLs = 0, gPhi = 0, gEps = 0, gH = 0, sq = 0, gb = 0;
	const i64 stride = (i64)gridDim.x * blockDim.x;
	for (i64 b0 = (i64)blockIdx.x * blockDim.x + (threadIdx.x & ~31); b0 < n; b0 += stride) {
		const i64 i = b0 + lane;
		const bool valid = i < n;
		const i64 ii = valid ? i : n - 1;
		const double t = in[d * n + ii];
		double ph = 0, e = 0, m = 0;
		for (i64 a = 0; a < d; a++) {
			const double xa = in[a * n + ii];
			ph += w[1 + a] * xa;
			const double u = (xa - w[2 + d + a] * t) * inv;
			e += u * u;
			m += w[5 + 2 * d + a] * xa;
		}
		double sn, cs, sm, cm, sz, cz;
		sincos(ph - om * t, &sn, &cs);
		sincos(m, &sm, &cm);
		sincos(phi + eps * cm, &sz, &cz);
		const double env = exp(-0.5 * e);
		const double rs = valid ? res[ii] : 0.0;
		const double r = scale * rs;
		const double rj = r * h;
		const double ae = rj * A * env;
		const double base = ae * cs * sz;
		gH += r * (A * cs * env * sz);
		gA += rj * cs * env * sz;
		const double dS = -ae * sn * sz;
		gOm -= dS * t;
		const double dz = ae * cs * cz;
		gPhi += dz;
		gEps += dz * cm;
		const double dM = -dz * eps * sm;
		const double bt = base * t * inv;
		double e2 = 0;
		for (i64 a = 0; a < d; a++) {
			const double xa = in[a * n + ii];
			const double u = (xa - w[2 + d + a] * t) * inv;
			add(c0 + 1 + a, dS * xa);
			add(c0 + 2 + d + a, bt * u);
			add(c0 + 5 + 2 * d + a, dM * xa);
			e2 += u * u;
		}
		gLs += base * e2;
		if (j == 0) {
			sq += rs * rs;
			gb += r;
		}
	}
	auto put = [&](i64 col, double val) {
		val = warp_sum(val);
		if (lane == 0) part[col * rows + wg] = val;
	};
	put(c0, gA);
	put(c0 + 1 + d, gOm);
	put(c0 + 2 + 2 * d, gLs);
	put(c0 + 3 + 2 * d, gPhi);
	put(c0 + 4 + 2 * d, gEps);
	if (head) put(W * pw + j, gH);
	if (j == 0) {
		if (head) put(W * pw + W, gb);
		put(np, sq);
	}
}
