// Dense kernels of the MLP baselines, in float64, with the formulas of the
// CPU device (accel/cpu.go): a tiled matrix multiply with an optional bias
// (Linear and the three products of LinearBackward), column sums, the
// activations and their derivatives, batch normalisation (PyTorch's
// semantics), random Fourier features, the MSE loss and Adam.
#include "common.cuh"

#define TILE 16

// gemm computes C = op(A)·op(B) (+ bias broadcast over rows when bias is
// not null) for op(A) of M×K and op(B) of K×N, all row-major; ta/tb select
// the transpose (op(A)[r][k] = A[k·lda + r]). Block (16, 16); the grid
// strides over the tiles of C. K = 0 gives C = bias (or zeros).
extern "C" __global__ void gemm(i64 M, i64 N, i64 K, const double *__restrict__ A, i64 lda, i64 ta,
                                const double *__restrict__ B, i64 ldb, i64 tb, const double *__restrict__ bias,
                                double *__restrict__ C, i64 ldc) {
	__shared__ double As[TILE][TILE + 1], Bs[TILE][TILE + 1];
	const int tx = threadIdx.x, ty = threadIdx.y;
	for (i64 r0 = (i64)blockIdx.y * TILE; r0 < M; r0 += (i64)gridDim.y * TILE) {
		for (i64 c0 = (i64)blockIdx.x * TILE; c0 < N; c0 += (i64)gridDim.x * TILE) {
			double acc = 0;
			for (i64 k0 = 0; k0 < K; k0 += TILE) {
				// Loads are coalesced along tx in both layouts.
				if (ta) {
					const i64 r = r0 + tx, k = k0 + ty;
					As[tx][ty] = (r < M && k < K) ? A[k * lda + r] : 0.0;
				} else {
					const i64 r = r0 + ty, k = k0 + tx;
					As[ty][tx] = (r < M && k < K) ? A[r * lda + k] : 0.0;
				}
				if (tb) {
					const i64 k = k0 + tx, c = c0 + ty;
					Bs[tx][ty] = (k < K && c < N) ? B[c * ldb + k] : 0.0;
				} else {
					const i64 k = k0 + ty, c = c0 + tx;
					Bs[ty][tx] = (k < K && c < N) ? B[k * ldb + c] : 0.0;
				}
				__syncthreads();
#pragma unroll
				for (int kk = 0; kk < TILE; kk++) acc += As[ty][kk] * Bs[kk][tx];
				__syncthreads();
			}
			const i64 row = r0 + ty, col = c0 + tx;
			if (row < M && col < N) C[row * ldc + col] = bias ? bias[col] + acc : acc;
		}
	}
}

// colsum writes the sums of the cols columns of X (rows×cols) into out, in
// a fixed order. Block (32, 8); the grid strides over groups of 32 columns.
extern "C" __global__ void colsum(const double *__restrict__ X, i64 rows, i64 cols, double *__restrict__ out) {
	__shared__ double s[8][33];
	const int tx = threadIdx.x, ty = threadIdx.y;
	for (i64 c0 = (i64)blockIdx.x * 32; c0 < cols; c0 += (i64)gridDim.x * 32) {
		const i64 c = c0 + tx;
		double v = 0;
		if (c < cols)
			for (i64 r = ty; r < rows; r += 8) v += X[r * cols + c];
		s[ty][tx] = v;
		__syncthreads();
		if (ty == 0 && c < cols) {
			double t = 0;
			for (int k = 0; k < 8; k++) t += s[k][tx];
			out[c] = t;
		}
		__syncthreads();
	}
}

// Activations, as accel.Activation numbers them.
#define ACT_IDENTITY 0
#define ACT_TANH 1
#define ACT_SINE 2

// activate computes y = act(x) over n values; x and y may be the same.
extern "C" __global__ void activate(i64 act, double scale, const double *x, i64 n, double *y) {
	for (i64 i = global_index(); i < n; i += global_stride()) {
		const double v = x[i];
		switch (act) {
		case ACT_TANH:
			y[i] = tanh(v);
			break;
		case ACT_SINE:
			y[i] = sin(scale * v);
			break;
		default:
			y[i] = v;
		}
	}
}

// activate_backward computes dx = dy·act′ over n values (x is the
// activation's input, y its output; the one not needed may be null).
extern "C" __global__ void activate_backward(i64 act, double scale, const double *x, const double *y,
                                             const double *dy, i64 n, double *dx) {
	for (i64 i = global_index(); i < n; i += global_stride()) {
		switch (act) {
		case ACT_TANH:
			dx[i] = dy[i] * (1 - y[i] * y[i]);
			break;
		case ACT_SINE:
			dx[i] = dy[i] * scale * cos(scale * x[i]);
			break;
		default:
			dx[i] = dy[i];
		}
	}
}

// bn_stats computes, per column of x (rows×cols), the batch mean and
// 1/√(biased variance + eps) into sm and si, and updates the running
// statistics rm and rv with momentum (unbiased variance), as PyTorch's
// training mode does. One block per column (grid-stride), two passes.
extern "C" __global__ void bn_stats(const double *__restrict__ x, i64 rows, i64 cols, double eps, double momentum,
                                    double *__restrict__ sm, double *__restrict__ si, double *__restrict__ rm,
                                    double *__restrict__ rv) {
	__shared__ double sh[32];
	__shared__ double meanS;
	for (i64 c = blockIdx.x; c < cols; c += gridDim.x) {
		double s = 0;
		for (i64 r = threadIdx.x; r < rows; r += blockDim.x) s += x[r * cols + c];
		s = block_sum(s, sh);
		if (threadIdx.x == 0) meanS = s / (double)rows;
		__syncthreads();
		const double mean = meanS;
		double v = 0;
		for (i64 r = threadIdx.x; r < rows; r += blockDim.x) {
			const double dd = x[r * cols + c] - mean;
			v += dd * dd;
		}
		v = block_sum(v, sh);
		if (threadIdx.x == 0) {
			const double biased = v / (double)rows;
			sm[c] = mean;
			si[c] = 1 / sqrt(biased + eps);
			rm[c] = (1 - momentum) * rm[c] + momentum * mean;
			rv[c] = (1 - momentum) * rv[c] + momentum * v / (double)(rows - 1);
		}
		__syncthreads();
	}
}

// bn_apply writes y = (x − mean)·inv·gamma + beta over rows×cols values:
// in training mode (train ≠ 0) mean and inv are mu and sv (the saved
// batch statistics), otherwise mu is the running mean and sv the running
// variance (inv = 1/√(var + eps)).
extern "C" __global__ void bn_apply(const double *__restrict__ x, i64 rows, i64 cols, const double *__restrict__ gamma,
                                    const double *__restrict__ beta, const double *__restrict__ mu,
                                    const double *__restrict__ sv, i64 train, double eps, double *__restrict__ y) {
	const i64 total = rows * cols;
	for (i64 i = global_index(); i < total; i += global_stride()) {
		const i64 c = i % cols;
		const double mean = mu[c];
		const double inv = train ? sv[c] : 1 / sqrt(sv[c] + eps);
		y[i] = (x[i] - mean) * inv * gamma[c] + beta[c];
	}
}

// bn_backward_stats writes, per column, dbeta = Σ dy and dgamma = Σ dy·x̂.
extern "C" __global__ void bn_backward_stats(const double *__restrict__ x, const double *__restrict__ dy, i64 rows,
                                             i64 cols, const double *__restrict__ sm, const double *__restrict__ si,
                                             double *__restrict__ dgamma, double *__restrict__ dbeta) {
	__shared__ double sh[32];
	for (i64 c = blockIdx.x; c < cols; c += gridDim.x) {
		const double mean = sm[c], inv = si[c];
		double sdy = 0, sdyx = 0;
		for (i64 r = threadIdx.x; r < rows; r += blockDim.x) {
			const double d = dy[r * cols + c];
			const double xh = (x[r * cols + c] - mean) * inv;
			sdy += d;
			sdyx += d * xh;
		}
		sdy = block_sum(sdy, sh);
		sdyx = block_sum(sdyx, sh);
		if (threadIdx.x == 0) {
			dgamma[c] = sdyx;
			dbeta[c] = sdy;
		}
	}
}

// bn_backward_apply writes dx = gamma·inv/n · (n·dy − Σdy − x̂·Σdy·x̂),
// reading the sums from dgamma and dbeta.
extern "C" __global__ void bn_backward_apply(const double *__restrict__ x, const double *__restrict__ dy, i64 rows,
                                             i64 cols, const double *__restrict__ gamma,
                                             const double *__restrict__ sm, const double *__restrict__ si,
                                             const double *__restrict__ dgamma, const double *__restrict__ dbeta,
                                             double *__restrict__ dx) {
	const i64 total = rows * cols;
	const double nf = (double)rows;
	for (i64 i = global_index(); i < total; i += global_stride()) {
		const i64 c = i % cols;
		const double mean = sm[c], inv = si[c];
		const double k = gamma[c] * inv / nf;
		const double xh = (x[i] - mean) * inv;
		dx[i] = k * (nf * dy[i] - dbeta[c] - xh * dgamma[c]);
	}
}

// fourier writes y = [sin(x·B), cos(x·B)] for x of rows×in and B of
// in×F: one thread per (row, feature).
extern "C" __global__ void fourier(const double *__restrict__ x, i64 rows, i64 in, const double *__restrict__ B, i64 F,
                                   double *__restrict__ y) {
	const i64 total = rows * F;
	for (i64 idx = global_index(); idx < total; idx += global_stride()) {
		const i64 r = idx / F, f = idx % F;
		double z = 0;
		for (i64 a = 0; a < in; a++) z += x[r * in + a] * B[a * F + f];
		double s, c;
		sincos(z, &s, &c);
		y[r * 2 * F + f] = s;
		y[r * 2 * F + F + f] = c;
	}
}

// mse_partial writes each block's sum of (pred − target)² to
// part[blockIdx.x] and, when dpred is not null, k·(pred − target) to dpred.
extern "C" __global__ void mse_partial(const double *__restrict__ pred, const double *__restrict__ target, i64 n,
                                       double k, double *__restrict__ dpred, double *__restrict__ part) {
	__shared__ double sh[32];
	double s = 0;
	for (i64 i = global_index(); i < n; i += global_stride()) {
		const double r = pred[i] - target[i];
		s += r * r;
		if (dpred) dpred[i] = k * r;
	}
	s = block_sum(s, sh);
	if (threadIdx.x == 0) part[blockIdx.x] = s;
}

// adam applies one step of PyTorch's Adam (no weight decay) to n values;
// step_size = lr/(1 − β1^t) and bc2s = √(1 − β2^t) come from the host.
extern "C" __global__ void adam(double *__restrict__ p, const double *__restrict__ g, double *__restrict__ m,
                                double *__restrict__ v, i64 n, double beta1, double beta2, double step_size,
                                double bc2s, double eps) {
	for (i64 i = global_index(); i < n; i += global_stride()) {
		const double gi = g[i];
		const double mi = m[i] + (gi - m[i]) * (1 - beta1);
		const double vi = v[i] * beta2 + (1 - beta2) * gi * gi;
		m[i] = mi;
		v[i] = vi;
		const double den = sqrt(vi) / bc2s + eps;
		p[i] -= step_size * mi / den;
	}
}
