// Package devicetest is the conformance suite that every [accel.Device]
// implementation must pass, in the manner of testing/slogtest and gonum's
// blas/testblas.
//
// # Usage
//
// An implementation's tests call [Run] with a constructor:
//
//	func TestCPUDevice(t *testing.T) {
//		devicetest.Run(t, func(t *testing.T) accel.Device {
//			return accel.NewCPU(accel.CPUConfig{})
//		})
//	}
//
// Run calls the constructor once per subtest (and once more where a test
// needs a second device); a constructor that opens something to close
// registers the close with t.Cleanup.
//
// # What is checked
//
// Memory: [accel.Device.Alloc], [accel.Device.Upload] and
// [accel.Device.Download] round trips, zeroed allocations, zero-length
// buffers, negative lengths, [accel.Device.View] aliasing (a write through
// a view, by Upload or by a kernel, is visible in the parent) and
// out-of-range views, and [accel.Device.Free] of nil, of a view and twice.
//
// Errors: for every kernel and every buffer argument, a buffer one value too
// short, nil (where the argument is required) and a buffer that is not the
// device's ([accel.ErrForeignBuffer]) give an error instead of a panic, as
// do negative sizes and malformed [accel.WaveFamily] and
// [accel.Interference] descriptions ([accel.ErrShape]).
//
// Numbers: every kernel is compared with a scalar reference written in this
// package from the formulas (the layouts documented in package accel and
// the science in the project's specification), never with another device:
// the wave families of dimension 1, 3 and 5 with and without a head, the
// interference basis (including a width below the clamp at 10⁻³), dense
// layers and their backward pass with every combination of wanted
// gradients, the activations (in place too) and, on a device that is an
// [accel.ActivateSaver], the same saved for their backward pass (into a
// buffer of its own and into x), batch normalisation in training and
// inference modes with PyTorch's running statistics, random Fourier
// features, the MSE loss and several steps of PyTorch's Adam. Point
// counts include 1, odd sizes and a few thousand, so that the parallel
// paths of an implementation run. Gradients of the fused losses and of
// batch normalisation are checked against finite differences of the
// reference.
//
// Concurrency: kernels run from several goroutines at once on shared inputs
// and separate outputs (disjoint views of one buffer included); run the
// suite with -race.
//
// # Contract details the suite pins down
//
// Buffers may be longer than a kernel needs: kernels read and write the
// leading values only and leave the rest untouched. Outputs are overwritten,
// never accumulated into. [accel.Device.Alloc] of 0 values succeeds.
// A nil buffer where one is required wraps [accel.ErrShape].
//
// # Tolerances
//
// Forward kernels must agree with the reference within 1e-9 relative to
// the scale of the value (the sum of the magnitudes of the terms that make
// it, so that cancellation does not demand more than float64 can give) plus
// 1e-12 absolute. Gradients are checked against fourth-order central
// differences of the reference loss with relative tolerance
// 1e-6 plus 1e-8 times the largest gradient component.
package devicetest
