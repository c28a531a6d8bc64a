// Package cuda is the CUDA [accel.Device]: float64 kernels written for
// DREDGE (Quasimoto waves, the interference basis, dense layers, batch
// normalisation, random Fourier features, MSE and Adam) run on an NVIDIA
// GPU through gorgonia.org/cu, the CUDA driver API.
//
// The package is built only with the build tag cuda:
//
//	go build -tags cuda -o http-service ./examples/http-service
//	DEVICE=cuda ./http-service   # or DEVICE=auto (the default), which picks the GPU
//
// Without the tag the package is empty and nothing links against CUDA;
// [accel.Open] then falls back to the CPU device. With the tag, the
// package's init registers New with [accel.RegisterCUDA], so that
// accel.Open("auto") and accel.Open("cuda") return the GPU when there is
// one. Building needs cgo, the header cuda.h and libcuda (Debian's
// nvidia-cuda-dev; see scripts/install-cuda.sh), but not nvcc: the kernels
// are compiled ahead of time into kernels/dredge.fatbin and embedded.
//
// # Requirements at run time
//
// gorgonia.org/cu calls cuInit from its package init and exits the process
// when that fails (no NVIDIA driver, or no GPU). A binary built with -tags
// cuda is therefore for GPU hosts; the default build runs anywhere.
// Where the driver initialises, New reports a missing or unusable GPU as
// an error wrapping [accel.ErrUnavailable] instead of exiting.
//
// # Design
//
// CUDA contexts are bound to OS threads, so each GPU gets one goroutine,
// locked to its thread, that creates the context, loads the module and
// then runs every CUDA call sent to it over a channel. A Device method
// validates its arguments on the caller's goroutine (the same checks, in
// the same order, as the CPU device: [accel.ErrShape],
// [accel.ErrForeignBuffer], never a panic) and sends one closure with all
// its CUDA calls. All work goes to the context's default stream, in the
// order it was sent: kernels that return nothing are queued and return at
// once; Download, the kernels that return a loss (they copy back that one
// scalar) and Free wait for the work before them. An error of a queued
// kernel is reported by a later call.
//
// Buffers are device allocations (zeroed by Alloc); a view is an offset
// into its parent. Several Devices may share one GPU: each owns its
// buffers, and Device.Close frees those still allocated. The context
// itself lives as long as the process.
//
// # Kernels
//
// The sources are in kernels/*.cu (one translation unit, kernels/dredge.cu):
//
//   - WaveForward: wave_eval_d{1..5,n}, one thread per point and wave
//     slot (up to 8 slots, summed in slot order), specialised for 1 to 5
//     spatial axes.
//   - WaveLossGrad: wave_eval writes the residual to scratch; wave_grad
//     (one grid row per wave, one thread per point, gradient in registers)
//     writes one partial sum per warp and parameter; reduce_columns sums
//     the partials in a fixed order. Results are deterministic; only the
//     scalar loss is copied back.
//   - InterferenceForward, InterferenceLossGrad: one thread per point; the
//     gradient is summed per warp into per-warp partials, then
//     reduce_columns. Widths are clamped at 1e-3 with zero gradient when
//     clamped, as on the CPU.
//   - Linear, LinearBackward: gemm (16×16 shared-memory tiles, transposes
//     by flag, optional bias) for y = x·wᵀ + b, dw = dyᵀ·x and dx = dy·w;
//     colsum for db.
//   - Activate, ActivateBackward: activate, activate_backward.
//   - BatchNorm: bn_stats (two-pass batch statistics, PyTorch's running
//     statistics with unbiased variance) and bn_apply; BatchNormBackward:
//     bn_backward_stats and bn_backward_apply.
//   - Fourier: fourier; MSE: mse_partial and reduce_columns; Adam: adam.
//
// Results agree with the CPU device within 1e-9 relative (the shared suite
// accel/devicetest): the formulas and the order of operations are the
// CPU device's, but CUDA's sin, cos and exp differ from Go's in the last
// bits, nvcc contracts multiply-adds, and the reductions are trees.
//
// # Testing
//
// The tests (cuda tag) run the shared suite accel/devicetest against the
// CUDA device, compare it with the CPU device on large random problems and
// in training every model type, and benchmark the forward pass over 10⁸
// points and the training epochs of the 1D and 4D ensembles against the
// CPU. scripts/gpu-check.sh builds the test binaries where Go is and runs
// them on a GPU machine. Without a GPU, testdata/emu builds a stand-in for
// the CUDA driver (libcuda.so.1) that runs the same kernels on the CPU:
//
//	go test -c -tags cuda -o out/cuda.test ./accel/cuda/
//	accel/cuda/testdata/emu/build.sh out/emu
//	LD_LIBRARY_PATH=out/emu out/cuda.test -test.run 'Device|CPU'
//
// # Regenerating the kernels
//
// go generate ./accel/cuda/ runs nvcc (CUDA 11.8 or later, see
// scripts/install-cuda.sh) on kernels/dredge.cu and writes
// kernels/dredge.fatbin: SASS for sm_80 (A100) and sm_90 (H100), PTX for
// compute_90 (JIT-compiled by newer drivers for newer GPUs) and for
// compute_60 (older GPUs), compressed. The file is committed, so that
// building needs no nvcc.
package cuda

//go:generate nvcc --fatbin -O3 -std=c++14 -Xfatbin -compress-all -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=[sm_90,compute_90] -gencode arch=compute_60,code=compute_60 -o kernels/dredge.fatbin kernels/dredge.cu
