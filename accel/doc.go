// Package accel is where DREDGE's hot numeric kernels run.
//
// # Devices
//
// A [Device] owns buffers ([Device.Alloc], [Device.Upload],
// [Device.Download], [Device.Free], [Device.View]) and runs coarse kernels
// that each do a whole model's work per call: a wave family's forward pass
// over all points ([Device.WaveForward]) and its fused loss gradient
// ([Device.WaveLossGrad]), the interference basis, dense layers with their
// activations and batch normalisation, random Fourier features, the MSE
// loss and the Adam update. Training uploads a data set once and runs every
// epoch on device buffers; only the loss comes back per epoch.
//
// [CPU] is the pure-Go device: buffers are slices, dense algebra runs on
// gonum, sines, cosines, exponentials and tanh run vectorised (Go
// assembly for AVX-512 or AVX2, internal/vecmath) where the CPU has them
// unless [CPUConfig.Portable] or DREDGE_CPU_SIMD=off asks for the portable
// Go, and the wave kernels split points into chunks (their number set by
// the problem's size alone) run on up to [CPUConfig.Workers] goroutines
// (one per some 100 µs of work), with per-chunk accumulators reduced in
// order: results are the same bit for bit whatever the number of workers. The CUDA device lives in accel/cuda behind
// the build tag cuda and registers itself with [RegisterCUDA].
//
// # Choosing a device
//
// [Open] takes "auto", "cpu" or "cuda". "auto" picks CUDA when the build
// and the machine have it and the CPU otherwise; "cuda" without CUDA falls
// back to the CPU with a warning. [Info.Reason] says which device runs and why.
//
// # Layouts
//
// [WaveFamily] and [Interference] document their parameter and input
// layouts; dense kernels use row-major matrices with weights [out, in], as
// PyTorch stores them. Every implementation passes the shared suite in
// accel/devicetest.
package accel
