// Shared helpers of DREDGE's CUDA kernels: 64-bit sizes, deterministic
// warp and block sums, and the column reduction of per-block partial sums.
//
// Every kernel argument is 8 bytes wide (a pointer, a long long or a
// double): gorgonia.org/cu's Function.Launch copies 8 bytes per argument.
#ifndef DREDGE_COMMON_CUH
#define DREDGE_COMMON_CUH

typedef long long i64;

// DYNAMIC_SHARED declares the block's dynamic shared memory as an array of
// type named name. (The CPU emulator in ../testdata/emu defines it first.)
#ifndef DYNAMIC_SHARED
#define DYNAMIC_SHARED(type, name) extern __shared__ type name[]
#endif

// warp_sum returns, in lane 0, the sum of v over the 32 lanes of a warp,
// always in the same order. Every lane of the warp must call it.
__device__ __forceinline__ double warp_sum(double v) {
#pragma unroll
	for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
	return v;
}

// block_sum returns, in thread 0, the sum of v over the block, in a fixed
// order. The block's size must be a multiple of 32 (at most 1024), every
// thread must call it, and sh must hold 32 values of shared memory.
__device__ __forceinline__ double block_sum(double v, double *sh) {
	int tid = threadIdx.x + blockDim.x * (threadIdx.y + blockDim.y * threadIdx.z);
	int nt = blockDim.x * blockDim.y * blockDim.z;
	int lane = tid & 31, warp = tid >> 5;
	v = warp_sum(v);
	__syncthreads(); // sh may still be read by a previous call
	if (lane == 0) sh[warp] = v;
	__syncthreads();
	double r = 0;
	if (warp == 0) {
		r = lane < (nt + 31) / 32 ? sh[lane] : 0.0;
		r = warp_sum(r);
	}
	return r;
}

// global_index and global_stride return the global thread index and the grid's stride
// for one-dimensional launches.
__device__ __forceinline__ i64 global_index() { return (i64)blockIdx.x * blockDim.x + threadIdx.x; }
__device__ __forceinline__ i64 global_stride() { return (i64)gridDim.x * blockDim.x; }

// reduce_columns sums the partials of cols columns, each of rows values
// stored contiguously (column c at part[c·rows, (c+1)·rows)), in a fixed
// order: column c's sum goes to out[c] when c < nout and to tail[c − nout]
// otherwise. One block per column (grid-stride over columns), any block
// size that is a multiple of 32.
extern "C" __global__ void reduce_columns(const double *__restrict__ part, i64 cols, i64 rows,
                                          double *__restrict__ out, i64 nout, double *__restrict__ tail) {
	__shared__ double sh[32];
	for (i64 c = blockIdx.x; c < cols; c += gridDim.x) {
		double s = 0;
		for (i64 g = threadIdx.x; g < rows; g += blockDim.x) s += part[c * rows + g];
		s = block_sum(s, sh);
		if (threadIdx.x == 0) {
			if (c < nout)
				out[c] = s;
			else
				tail[c - nout] = s;
		}
	}
}

#endif
