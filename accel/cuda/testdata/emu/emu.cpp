// A stand-in for the CUDA driver (libcuda.so.1) that runs DREDGE's kernels
// on the CPU, so that the cuda-tagged Go code, its kernels and the shared
// device suite can be exercised on a machine without a GPU:
//
//	accel/cuda/testdata/emu/build.sh out/emu      # builds out/emu/libcuda.so.1
//	LD_LIBRARY_PATH=out/emu out/cuda.test -test.run 'Device|MatchCPU'
//
// It implements the driver calls the Go code makes (cuInit, device queries,
// a context, cuModuleLoadData and cuModuleGetFunction by kernel name,
// allocation, copies, memset, cuLaunchKernel, synchronisation); the others
// are absent and would fail to resolve if called. The kernels are compiled
// from the same sources (kernels/dredge.cu) as host C++. A launch runs its
// blocks one after another; each CUDA thread is a ucontext fiber, and
// __syncthreads, __syncwarp and __shfl_down_sync are barriers over the
// block's or the warp's fibers, scheduled cooperatively. It checks launch
// limits (block ≤ 1024 threads, grid y and z ≤ 65535, shared memory ≤ 48
// KiB), that barriers and warp shuffles are reached by every thread they
// need, and fills dynamic shared memory with NaN. Device allocations end
// at a page boundary followed by an inaccessible page, so that reading or
// writing past the end of one crashes at once.
//
// What it cannot show: timing, register limits, data races between threads
// (fibers switch only at barriers), and the last bits of CUDA's math
// functions (it uses glibc's).
#include <cuda.h>

#include <setjmp.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace emu {

struct dim3e {
	unsigned x, y, z;
};

enum State { RUN, BAR, WARPBAR, DONE };

struct Fiber {
	ucontext_t ctx; // to start the fiber
	jmp_buf jb;     // to resume it
	bool started;
	dim3e tid;
	int linear;
	State state;
	char *stack;
};

static jmp_buf sched;
static Fiber *cur;
static std::vector<Fiber> fibers;
static std::vector<double> shfl;
static std::vector<double> dyn_shared;
static std::function<void()> body;
static dim3e block_idx, block_dim, grid_dim;
static const size_t stack_size = 256 << 10;

[[noreturn]] static void fail(const char *what) {
	fprintf(stderr, "cuda emulator: %s (block %u,%u,%u)\n", what, block_idx.x, block_idx.y, block_idx.z);
	abort();
}

// Fibers start with makecontext and swapcontext, then switch with
// _setjmp and _longjmp, which do not save the signal mask (no system call).
static void yield(State s) {
	cur->state = s;
	if (!_setjmp(cur->jb)) _longjmp(sched, 1);
}

static void trampoline() {
	body();
	cur->state = DONE;
	_longjmp(sched, 1);
}

static void resume(Fiber &f) {
	cur = &f;
	if (_setjmp(sched)) return;
	if (f.started) _longjmp(f.jb, 1);
	f.started = true;
	ucontext_t from;
	swapcontext(&from, &f.ctx);
}

// run_block runs every thread of the current block to completion.
static void run_block() {
	int n = block_dim.x * block_dim.y * block_dim.z;
	if ((int)fibers.size() < n) fibers.resize(n);
	for (int i = 0; i < n; i++) {
		Fiber &f = fibers[i];
		if (!f.stack) f.stack = (char *)malloc(stack_size);
		f.linear = i;
		f.tid = {(unsigned)(i % block_dim.x), (unsigned)(i / block_dim.x % block_dim.y),
		         (unsigned)(i / (block_dim.x * block_dim.y))};
		f.state = RUN;
		f.started = false;
		getcontext(&f.ctx);
		f.ctx.uc_stack.ss_sp = f.stack;
		f.ctx.uc_stack.ss_size = stack_size;
		f.ctx.uc_link = nullptr;
		makecontext(&f.ctx, trampoline, 0);
	}
	int warps = (n + 31) / 32;
	for (;;) {
		for (int i = 0; i < n; i++) {
			if (fibers[i].state == RUN) resume(fibers[i]);
		}
		// Every fiber now waits at a barrier or is done.
		int done = 0, bar = 0;
		for (int i = 0; i < n; i++) {
			done += fibers[i].state == DONE;
			bar += fibers[i].state == BAR;
		}
		if (done == n) return;
		bool released = false;
		for (int w = 0; w < warps; w++) {
			int lo = 32 * w, hi = lo + 32 < n ? lo + 32 : n;
			int wb = 0, wd = 0;
			for (int i = lo; i < hi; i++) {
				wb += fibers[i].state == WARPBAR;
				wd += fibers[i].state == DONE;
			}
			if (wb == 0) continue;
			if (wd > 0) fail("warp shuffle or __syncwarp with exited lanes");
			if (hi - lo != 32) fail("warp shuffle in a partial warp");
			if (wb == hi - lo) {
				for (int i = lo; i < hi; i++) fibers[i].state = RUN;
				released = true;
			}
		}
		if (released) continue;
		if (bar > 0) {
			if (bar + done != n || done > 0) fail("__syncthreads not reached by every thread of the block");
			for (int i = 0; i < n; i++) fibers[i].state = RUN;
			continue;
		}
		fail("deadlock");
	}
}

} // namespace emu

// The CUDA built-ins the kernels use.
#define __global__
#define __device__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (emu::cur->tid)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)
#define DYNAMIC_SHARED(type, name) type *name = (type *)emu::dyn_shared.data()

static inline void __syncthreads() { emu::yield(emu::BAR); }
static inline void __syncwarp(unsigned = 0xffffffffu) { emu::yield(emu::WARPBAR); }
static inline double __shfl_down_sync(unsigned, double v, unsigned delta) {
	int lane = emu::cur->linear & 31, base = emu::cur->linear - lane;
	emu::shfl[emu::cur->linear] = v;
	emu::yield(emu::WARPBAR);
	double r = lane + delta < 32 ? emu::shfl[base + lane + delta] : v;
	emu::yield(emu::WARPBAR);
	return r;
}

#include "../../kernels/dredge.cu"

namespace emu {

struct Kernel {
	std::string name;
	std::function<void(void **)> launch; // runs the kernel's body in the current fiber
};

template <typename... A, size_t... I>
static void call(void (*fn)(A...), void **p, std::index_sequence<I...>) {
	fn(*static_cast<A *>(p[I])...);
}

template <typename... A>
static Kernel kernel(const char *name, void (*fn)(A...)) {
	return Kernel{name, [fn](void **p) { call(fn, p, std::index_sequence_for<A...>{}); }};
}

#define K(name) {#name, kernel(#name, name)}
static std::map<std::string, Kernel> kernels = {
    K(wave_eval_d1),       K(wave_eval_d2),         K(wave_eval_d3),  K(wave_eval_d4),     K(wave_eval_d5),
    K(wave_eval_dn),       K(wave_grad_d1),         K(wave_grad_d2),  K(wave_grad_d3),     K(wave_grad_d4),
    K(wave_grad_d5),       K(wave_grad_dn),         K(reduce_columns), K(interference_forward),
    K(interference_grad),  K(gemm),                 K(colsum),        K(activate),         K(activate_backward),
    K(bn_stats),           K(bn_apply),             K(bn_backward_stats), K(bn_backward_apply),
    K(fourier),            K(mse_partial),          K(adam),
};

// Allocations end at a page boundary, before an inaccessible page.
struct Alloc {
	char *base;
	size_t len;
};
static std::map<uintptr_t, Alloc> allocs;

static int env_int(const char *name, int def) {
	const char *v = getenv(name);
	return v ? atoi(v) : def;
}

} // namespace emu

extern "C" {

CUresult cuInit(unsigned) { return CUDA_SUCCESS; }

CUresult cuDeviceGetCount(int *n) {
	*n = 1;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice *d, int ordinal) {
	if (ordinal != 0) return CUDA_ERROR_INVALID_DEVICE;
	*d = 0;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char *name, int len, CUdevice) {
	snprintf(name, len, "CUDA emulator (CPU)");
	return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem(size_t *bytes, CUdevice) {
	*bytes = size_t(8) << 30;
	return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int *v, CUdevice_attribute a, CUdevice) {
	switch (a) {
	case CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT:
		*v = emu::env_int("CUDA_EMU_SMS", 2);
		break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR:
		*v = 9;
		break;
	case CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR:
		*v = 0;
		break;
	default:
		*v = 0;
	}
	return CUDA_SUCCESS;
}

CUresult cuCtxCreate(CUcontext *ctx, unsigned, CUdevice) {
	static int dummy;
	*ctx = (CUcontext)&dummy;
	return CUDA_SUCCESS;
}

CUresult cuCtxSynchronize() { return CUDA_SUCCESS; }

CUresult cuModuleLoadData(CUmodule *m, const void *image) {
	// The embedded image must be the fatbin nvcc wrote.
	uint32_t magic;
	memcpy(&magic, image, 4);
	if (magic != 0xBA55ED50u) return CUDA_ERROR_INVALID_IMAGE;
	static int dummy;
	*m = (CUmodule)&dummy;
	return CUDA_SUCCESS;
}

CUresult cuModuleGetFunction(CUfunction *f, CUmodule, const char *name) {
	auto it = emu::kernels.find(name);
	if (it == emu::kernels.end()) return CUDA_ERROR_NOT_FOUND;
	*f = (CUfunction)&it->second;
	return CUDA_SUCCESS;
}

CUresult cuMemAlloc(CUdeviceptr *p, size_t bytes) {
	if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
	size_t page = sysconf(_SC_PAGESIZE);
	size_t len = (bytes + page - 1) / page * page + page;
	char *base = (char *)mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED) return CUDA_ERROR_OUT_OF_MEMORY;
	mprotect(base + len - page, page, PROT_NONE);
	char *ptr = base + len - page - (bytes + 7) / 8 * 8;
	memset(ptr, 0xA5, bytes); // cuMemAlloc does not zero
	emu::allocs[(uintptr_t)ptr] = {base, len};
	*p = (CUdeviceptr)ptr;
	return CUDA_SUCCESS;
}

CUresult cuMemFree(CUdeviceptr p) {
	auto it = emu::allocs.find((uintptr_t)p);
	if (it == emu::allocs.end()) return CUDA_ERROR_INVALID_VALUE;
	munmap(it->second.base, it->second.len);
	emu::allocs.erase(it);
	return CUDA_SUCCESS;
}

CUresult cuMemsetD32(CUdeviceptr p, unsigned v, size_t n) {
	uint32_t *q = (uint32_t *)p;
	for (size_t i = 0; i < n; i++) q[i] = v;
	return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoD(CUdeviceptr dst, const void *src, size_t n) {
	memcpy((void *)dst, src, n);
	return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH(void *dst, CUdeviceptr src, size_t n) {
	memcpy(dst, (const void *)src, n);
	return CUDA_SUCCESS;
}

CUresult cuLaunchKernel(CUfunction f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, CUstream, void **params, void **extra) {
	if (extra) return CUDA_ERROR_INVALID_VALUE;
	if (!gx || !gy || !gz || !bx || !by || !bz) return CUDA_ERROR_INVALID_VALUE;
	if (gx > 0x7fffffffu || gy > 65535 || gz > 65535) return CUDA_ERROR_INVALID_VALUE;
	if (bx > 1024 || by > 1024 || bz > 64 || (size_t)bx * by * bz > 1024) return CUDA_ERROR_INVALID_VALUE;
	if (shared > 48 * 1024) return CUDA_ERROR_INVALID_VALUE;
	emu::Kernel *k = (emu::Kernel *)f;
	emu::grid_dim = {gx, gy, gz};
	emu::block_dim = {bx, by, bz};
	emu::shfl.assign((size_t)bx * by * bz, 0);
	emu::body = [k, params] { k->launch(params); };
	for (unsigned z = 0; z < gz; z++)
		for (unsigned y = 0; y < gy; y++)
			for (unsigned x = 0; x < gx; x++) {
				emu::block_idx = {x, y, z};
				emu::dyn_shared.assign(shared / 8, NAN);
				emu::run_block();
			}
	return CUDA_SUCCESS;
}

} // extern "C"
