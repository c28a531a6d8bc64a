// The Quasimoto interference basis (accel.Interference): forward pass and
// the gradient of the mean squared error, in float64, with the formulas of
// the CPU device (accel/cpu.go), the width clamp at 1e-3 included (zero
// gradient for a clamped log_sigma).
//
// Parameter layout (d axes, F fields, O outputs):
//
//	log_sigma[d], v[d], A[F], k[F·d], omega[F], phi[F], epsilon[F],
//	lmbda[F·d], W[O·2F]
//
// Outputs are row-major (n rows of O values). The gradient kernel sums
// each parameter's contributions per warp (a fixed-order shuffle) into the
// warp's own row of partials; reduce_columns then sums the rows in a
// fixed order, so results are the same bit for bit from run to run.
#include "common.cuh"

#define SIGMA_FLOOR 1e-3
// Outputs kept in registers at once; more are done in passes.
#define OUT_CHUNK 8

struct ILayout {
	i64 d, F, O, ls, v, a, k, om, phi, eps, lm, w, np;
};

__device__ __forceinline__ ILayout ilayout(i64 d, i64 F, i64 O) {
	ILayout l;
	l.d = d;
	l.F = F;
	l.O = O;
	l.ls = 0;
	l.v = d;
	l.a = 2 * d;
	l.k = l.a + F;
	l.om = l.k + F * d;
	l.phi = l.om + F;
	l.eps = l.phi + F;
	l.lm = l.eps + F;
	l.w = l.lm + F * d;
	l.np = l.w + O * 2 * F;
	return l;
}

// ienv returns the shared envelope at point i: exp(−½ Σ ((x−v·t)/σ)²) /
// (Π σ · norm0), σ = max(exp(log_sigma), 1e-3), norm0 = (2π)^(d/2).
__device__ __forceinline__ double ienv(const double *__restrict__ p, const ILayout &l, const double *__restrict__ in,
                                       i64 n, i64 i, double t, double norm0) {
	double q = 0, norm = 1;
	for (i64 a = 0; a < l.d; a++) {
		const double sig = fmax(exp(p[l.ls + a]), SIGMA_FLOOR);
		const double u = in[a * n + i] - p[l.v + a] * t;
		const double z = u / sig;
		q += z * z;
		norm *= sig;
	}
	norm *= norm0;
	return exp(-0.5 * q) / norm;
}

// ifield computes field j's phase θ, λ·x and modulation at point i.
__device__ __forceinline__ void ifield(const double *__restrict__ p, const ILayout &l, const double *__restrict__ in,
                                       i64 n, i64 i, double t, i64 j, double *ct, double *st, double *sz, double *cz,
                                       double *cm, double *sm) {
	double th = 0, m = 0;
	for (i64 a = 0; a < l.d; a++) {
		const double x = in[a * n + i];
		th += p[l.k + j * l.d + a] * x;
		m += p[l.lm + j * l.d + a] * x;
	}
	th -= p[l.om + j] * t;
	sincos(m, sm, cm);
	sincos(p[l.phi + j] + p[l.eps + j] * *cm, sz, cz);
	sincos(th, st, ct);
}

// iout computes outputs [q0, q0+cnt) of point i (cnt ≤ OUT_CHUNK) into acc.
__device__ __forceinline__ void iout(const double *__restrict__ p, const ILayout &l, const double *__restrict__ in,
                                     i64 n, i64 i, double t, double env, i64 q0, i64 cnt, double *acc) {
#pragma unroll
	for (int qq = 0; qq < OUT_CHUNK; qq++) acc[qq] = 0;
	const i64 F = l.F;
	for (i64 j = 0; j < F; j++) {
		double ct, st, sz, cz, cm, sm;
		ifield(p, l, in, n, i, t, j, &ct, &st, &sz, &cz, &cm, &sm);
		const double amp = p[l.a + j] * env * sz;
		const double re = amp * ct, im = amp * st;
#pragma unroll
		for (int qq = 0; qq < OUT_CHUNK; qq++) {
			if (qq < cnt) {
				const double *wq = p + l.w + (q0 + qq) * 2 * F;
				acc[qq] += wq[j] * re;
				acc[qq] += wq[F + j] * im;
			}
		}
	}
}

// interference_forward writes the n·O outputs; one thread per point
// (grid-stride).
extern "C" __global__ void interference_forward(const double *__restrict__ p, i64 d, i64 F, i64 O, double norm0,
                                                const double *__restrict__ in, i64 n, double *__restrict__ out) {
	const ILayout l = ilayout(d, F, O);
	for (i64 i = global_index(); i < n; i += global_stride()) {
		const double t = in[d * n + i];
		const double env = ienv(p, l, in, n, i, t, norm0);
		for (i64 q0 = 0; q0 < O; q0 += OUT_CHUNK) {
			const i64 cnt = O - q0 < OUT_CHUNK ? O - q0 : OUT_CHUNK;
			double acc[OUT_CHUNK];
			iout(p, l, in, n, i, t, env, q0, cnt, acc);
#pragma unroll
			for (int qq = 0; qq < OUT_CHUNK; qq++)
				if (qq < cnt) out[i * O + q0 + qq] = acc[qq];
		}
	}
}

// interference_grad accumulates the MSE gradient (scale = 2/(n·O)) and the
// sum of squared residuals (column np) into per-warp partials
// part[col·rows + warp], rows = gridDim.x·blockDim.x/32; res is scratch for
// the n·O residuals. Block size: a multiple of 32.
extern "C" __global__ void interference_grad(const double *__restrict__ p, i64 d, i64 F, i64 O, double norm0,
                                             const double *__restrict__ in, i64 n, const double *__restrict__ y,
                                             double scale, double *__restrict__ res, double *__restrict__ part) {
	const ILayout l = ilayout(d, F, O);
	const i64 rows = (i64)gridDim.x * (blockDim.x / 32);
	const i64 wg = (i64)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
	const int lane = threadIdx.x & 31;
	for (i64 c = lane; c <= l.np; c += 32) part[c * rows + wg] = 0;
	__syncwarp();
	auto add = [&](i64 col, double val) {
		val = warp_sum(val);
		if (lane == 0) part[col * rows + wg] += val;
	};
	const i64 stride = (i64)gridDim.x * blockDim.x;
	for (i64 b0 = (i64)blockIdx.x * blockDim.x + (threadIdx.x & ~31); b0 < n; b0 += stride) {
		const i64 i = b0 + lane;
		const bool valid = i < n;
		const i64 ii = valid ? i : n - 1;
		const double t = in[d * n + ii];
		const double env = ienv(p, l, in, n, ii, t, norm0);

		// Forward: residuals and their squares.
		double sq = 0;
		for (i64 q0 = 0; q0 < O; q0 += OUT_CHUNK) {
			const i64 cnt = O - q0 < OUT_CHUNK ? O - q0 : OUT_CHUNK;
			double acc[OUT_CHUNK];
			iout(p, l, in, n, ii, t, env, q0, cnt, acc);
#pragma unroll
			for (int qq = 0; qq < OUT_CHUNK; qq++) {
				if (qq < cnt && valid) {
					const double r = acc[qq] - y[ii * O + q0 + qq];
					res[ii * O + q0 + qq] = r;
					sq += r * r;
				}
			}
		}
		add(l.np, sq);

		// Backward, field by field.
		double E = 0; // dL/d env
		for (i64 j = 0; j < F; j++) {
			double ct, st, sz, cz, cm, sm;
			ifield(p, l, in, n, ii, t, j, &ct, &st, &sz, &cz, &cm, &sm);
			const double A = p[l.a + j];
			const double amp = A * env * sz;
			const double re = amp * ct, im = amp * st;
			double dre = 0, dim = 0;
			for (i64 q = 0; q < O; q++) {
				const double r = valid ? scale * res[ii * O + q] : 0.0;
				const double *wq = p + l.w + q * 2 * F;
				dre += r * wq[j];
				dim += r * wq[F + j];
				add(l.w + q * 2 * F + j, r * re);
				add(l.w + q * 2 * F + F + j, r * im);
			}
			const double G = dre * ct + dim * st;  // coefficient of A·env·sz
			const double H = -dre * st + dim * ct; // derivative along θ
			add(l.a + j, G * env * sz);
			E += A * sz * G;
			const double dth = A * env * sz * H;
			add(l.om + j, -(dth * t));
			const double dz = A * env * G * cz;
			add(l.phi + j, dz);
			add(l.eps + j, dz * cm);
			const double dm = -dz * p[l.eps + j] * sm;
			for (i64 a = 0; a < d; a++) {
				const double x = in[a * n + ii];
				add(l.k + j * d + a, dth * x);
				add(l.lm + j * d + a, dm * x);
			}
		}
		for (i64 a = 0; a < d; a++) {
			const double es = exp(p[l.ls + a]);
			const double sig = fmax(es, SIGMA_FLOOR);
			const double u = in[a * n + ii] - p[l.v + a] * t;
			add(l.v + a, E * env * u * t / (sig * sig));
			if (es >= SIGMA_FLOOR) add(l.ls + a, E * env * (u * u / (sig * sig) - 1));
		}
	}
}
