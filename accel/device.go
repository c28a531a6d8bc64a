package accel

import (
	"errors"
	"fmt"
)

// Buffer is memory owned by a [Device]: a vector of float64 values that
// lives where the device computes. A Buffer is created by [Device.Alloc],
// filled by [Device.Upload], read by [Device.Download] and released by
// [Device.Free]. A Buffer must only be passed to the Device that made it.
//
// A Buffer is not safe for concurrent writes: kernels that write the same
// buffer must not run at the same time. Concurrent reads are safe.
type Buffer interface {
	// Len reports the number of float64 values the buffer holds.
	Len() int
}

// Info describes a device for capability reports.
type Info struct {
	// Kind is "cpu" or "cuda".
	Kind string `json:"kind"`
	// Name is the human-readable name of the processor or GPU.
	Name string `json:"name"`
	// Workers is the number of goroutines (CPU) or multiprocessors (GPU) used.
	Workers int `json:"workers"`
	// ComputeCapability is the GPU's compute capability ("9.0"), empty on CPU.
	ComputeCapability string `json:"compute_capability,omitempty"`
	// MemoryBytes is the device's total memory, 0 when unknown.
	MemoryBytes int64 `json:"memory_bytes,omitempty"`
	// Reason says why this device was chosen (for example a fallback).
	Reason string `json:"reason,omitempty"`
	// SIMD names the vector instructions the CPU's kernels use for their
	// sines, cosines, exponentials and tanh: "avx512" or "avx2"; empty for
	// the portable Go path (CPUConfig.Portable, DREDGE_CPU_SIMD=off, or a
	// CPU without them) and on a GPU.
	SIMD string `json:"simd,omitempty"`
}

// Activation names the element-wise function of [Device.Activate].
type Activation int

const (
	// Identity is y = x.
	Identity Activation = iota
	// Tanh is y = tanh(x).
	Tanh
	// Sine is y = sin(scale·x), the SIREN activation.
	Sine
)

// String returns the activation's name.
func (a Activation) String() string {
	switch a {
	case Identity:
		return "identity"
	case Tanh:
		return "tanh"
	case Sine:
		return "sine"
	}
	return fmt.Sprintf("Activation(%d)", int(a))
}

// WaveFamily describes a family of Quasimoto waves evaluated together: Waves
// waves over Dim spatial axes and time, optionally combined by a linear head.
//
// # Parameter layout
//
// The parameter buffer holds, for each wave in turn, [WaveFamily.PerWave]
// values in the order
//
//	A, k[0..Dim), omega, v[0..Dim), log_sigma, phi, epsilon, lmbda[0..Dim)
//
// followed, when Head is true, by Waves head weights and one head bias. The
// output at a point is ψ_0 without a head and bias + Σ_j weight_j·ψ_j with one.
//
// # Input layout
//
// Inputs are stored by column: Dim+1 columns of n values each, the spatial
// axes first and time last (column c occupies [c·n, (c+1)·n)).
type WaveFamily struct {
	Dim   int
	Waves int
	Head  bool
}

// PerWave reports the number of parameters of one wave: 3·Dim + 5.
func (f WaveFamily) PerWave() int { return 3*f.Dim + 5 }

// NumParams reports the length of the family's parameter buffer.
func (f WaveFamily) NumParams() int {
	n := f.Waves * f.PerWave()
	if f.Head {
		n += f.Waves + 1
	}
	return n
}

// Validate reports whether the family is well formed.
func (f WaveFamily) Validate() error {
	if f.Dim < 1 || f.Dim > MaxKernelSize {
		return fmt.Errorf("%w: wave dimension %d not in [1, %d]", ErrShape, f.Dim, MaxKernelSize)
	}
	if f.Waves < 1 || f.Waves > MaxKernelSize {
		return fmt.Errorf("%w: wave count %d not in [1, %d]", ErrShape, f.Waves, MaxKernelSize)
	}
	if !f.Head && f.Waves != 1 {
		return fmt.Errorf("%w: %d waves without a head", ErrShape, f.Waves)
	}
	return nil
}

// Interference describes a Quasimoto interference basis: Fields complex wave
// fields over Dim spatial axes sharing one Gaussian envelope, mixed by a
// linear layer without bias into Outputs values per point.
//
// # Parameter layout
//
//	log_sigma[Dim], v[Dim], A[F], k[F·Dim], omega[F], phi[F], epsilon[F],
//	lmbda[F·Dim], W[Outputs·2F]
//
// with k, lmbda and W row-major. The output row of a point is W·[Re ψ, Im ψ].
// Inputs use the column layout of [WaveFamily]; outputs are row-major
// (n rows of Outputs values).
type Interference struct {
	Dim     int
	Fields  int
	Outputs int
}

// NumParams reports the length of the basis's parameter buffer.
func (s Interference) NumParams() int {
	d, f := s.Dim, s.Fields
	return 2*d + 4*f + 2*f*d + s.Outputs*2*f
}

// Validate reports whether the basis is well formed.
func (s Interference) Validate() error {
	if s.Dim < 1 || s.Fields < 1 || s.Outputs < 1 || s.Dim > MaxKernelSize || s.Fields > MaxKernelSize || s.Outputs > MaxKernelSize {
		return fmt.Errorf("%w: interference basis dim %d, fields %d, outputs %d must be in [1, %d]", ErrShape, s.Dim, s.Fields, s.Outputs, MaxKernelSize)
	}
	return nil
}

// MaxKernelSize bounds each size of a [WaveFamily] or [Interference], so
// that their parameter counts cannot overflow.
const MaxKernelSize = 1 << 24

// Errors returned by devices.
var (
	// ErrShape reports buffers whose lengths do not fit the requested kernel.
	ErrShape = errors.New("accel: shape mismatch")
	// ErrForeignBuffer reports a Buffer made by another Device.
	ErrForeignBuffer = errors.New("accel: buffer belongs to another device")
	// ErrClosed reports use of a closed Device.
	ErrClosed = errors.New("accel: device closed")
	// ErrUnavailable reports a device kind that cannot be opened here.
	ErrUnavailable = errors.New("accel: device unavailable")
)

// Wrapper is implemented by devices whose buffers can alias host memory,
// as the CPU device's do. Wrap returns a buffer over v without copying it,
// for kernels that only read it (a model's parameters during inference):
// the caller must not change v while the buffer is in use. Freeing the
// buffer releases nothing.
type Wrapper interface {
	Wrap(v []float64) Buffer
}

// ActivateSaver is implemented by devices that can keep, from an
// activation's forward pass, what its backward pass needs, where
// evaluating that again costs as much as the forward pass: the CPU
// device, for Sine, whose cosine [Device.ActivateBackward] evaluates
// again (saving it took SIREN's 200 epochs from 0.136–0.148 s to
// 0.109–0.128 s, same run; a GPU's time goes to memory, not to the
// cosine). Trainers use it when the device has it and [Device.Activate]
// and [Device.ActivateBackward] otherwise; the results are the same.
type ActivateSaver interface {
	// ActivateSave computes y = act(x) as [Device.Activate] does and, in
	// the same pass, writes into saved n values of the device's choosing
	// from which [ActivateSaver.ActivateBackwardSaved] computes the
	// gradient. x and y may be the same buffer, and so may x and saved
	// (a trainer that needs x only for the backward pass saves into it),
	// but not y and saved.
	ActivateSave(act Activation, scale float64, x Buffer, n int, y, saved Buffer) error
	// ActivateBackwardSaved computes dx = dy·act′ over n values from
	// what [ActivateSaver.ActivateSave] saved, with the same act and scale.
	// dx may be dy.
	ActivateBackwardSaved(act Activation, scale float64, saved, dy Buffer, n int, dx Buffer) error
}

// Device is where the hot numeric kernels run. Implementations keep data in
// buffers they own and run coarse kernels that do a whole model's work per
// call, so that training can upload a data set once and run every epoch on
// device buffers.
//
// All methods are safe for concurrent use by multiple goroutines, provided
// that concurrent calls do not write the same Buffer. Kernels report
// [ErrShape] when buffer lengths do not match the sizes given, and never
// panic on such input.
type Device interface {
	// Info describes the device.
	Info() Info

	// Alloc returns a zeroed buffer of n values.
	Alloc(n int) (Buffer, error)
	// Upload copies src into the start of dst.
	Upload(dst Buffer, src []float64) error
	// Download copies the start of src into dst.
	Download(dst []float64, src Buffer) error
	// Free releases a buffer. Freeing nil or twice is a no-op. Freeing a
	// view returned by [Device.View] releases nothing.
	Free(b Buffer)
	// View returns a buffer aliasing n values of b starting at off, so that a
	// kernel can read or write part of a larger buffer (one layer's weights
	// inside a model's parameter vector, for example).
	View(b Buffer, off, n int) (Buffer, error)

	// WaveForward writes the family's output at n points into out (n values).
	WaveForward(f WaveFamily, params, inputs Buffer, n int, out Buffer) error
	// WaveLossGrad computes the mean squared error of the family's output at
	// n points against target and writes its gradient with respect to the
	// parameters into grad (f.NumParams() values). It returns the loss.
	WaveLossGrad(f WaveFamily, params, inputs, target Buffer, n int, grad Buffer) (float64, error)

	// InterferenceForward writes the basis's outputs at n points into out
	// (n·s.Outputs values, row-major).
	InterferenceForward(s Interference, params, inputs Buffer, n int, out Buffer) error
	// InterferenceLossGrad computes the mean squared error over all n·Outputs
	// values against target and writes the gradient into grad. It returns the loss.
	InterferenceLossGrad(s Interference, params, inputs, target Buffer, n int, grad Buffer) (float64, error)

	// Linear computes y = x·wᵀ + b for x of rows×in values (row-major), w of
	// out×in values and b of out values (b may be nil: no bias), writing
	// rows×out values to y.
	Linear(x Buffer, rows, in int, w, b Buffer, out int, y Buffer) error
	// LinearBackward computes, for the layer of [Device.Linear] and the
	// gradient dy of its output, dw = dyᵀ·x (out×in) and db = column sums of
	// dy (out), overwriting them, and dx = dy·w (rows×in). Any of dx, dw and
	// db may be nil when not wanted.
	LinearBackward(x Buffer, rows, in int, w Buffer, out int, dy, dx, dw, db Buffer) error

	// Activate computes y = act(x) element-wise over n values; Sine uses
	// y = sin(scale·x), the others ignore scale. x and y may be the same buffer.
	Activate(act Activation, scale float64, x Buffer, n int, y Buffer) error
	// ActivateBackward computes dx = dy·act′ over n values, where x is the
	// activation's input and y its output. dx must be a buffer of its own,
	// not x, y or dy.
	ActivateBackward(act Activation, scale float64, x, y, dy Buffer, n int, dx Buffer) error

	// BatchNorm normalises each of cols columns of x (rows×cols, row-major)
	// and writes gamma·x̂ + beta into y. In training mode it uses the batch
	// mean and biased variance, writes them as mean and 1/√(var+eps) into
	// saveMean and saveInvStd, and updates runMean and runVar in place with
	// the given momentum (unbiased variance), as PyTorch does. In inference
	// mode it uses runMean and runVar; saveMean and saveInvStd may be nil.
	BatchNorm(x Buffer, rows, cols int, gamma, beta, runMean, runVar Buffer, eps, momentum float64, train bool, y, saveMean, saveInvStd Buffer) error
	// BatchNormBackward is the gradient of training-mode [Device.BatchNorm]:
	// given dy it writes dx (rows×cols), dgamma and dbeta (cols each).
	BatchNormBackward(x Buffer, rows, cols int, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta Buffer) error

	// Fourier computes random Fourier features y = [sin(x·B), cos(x·B)] for x
	// of rows×in values and B of in×features values, writing rows×2·features values.
	Fourier(x Buffer, rows, in int, b Buffer, features int, y Buffer) error

	// MSE returns mean((pred − target)²) over n values and, when dpred is not
	// nil, writes its gradient 2(pred − target)/n into dpred.
	MSE(pred, target Buffer, n int, dpred Buffer) (float64, error)

	// Adam applies one step of the Adam optimiser, exactly as PyTorch's
	// torch.optim.Adam without weight decay, to n parameters: m and v are the
	// moment estimates, updated in place; step is the 1-based step number.
	Adam(params, grad, m, v Buffer, n, step int, lr, beta1, beta2, eps float64) error
}
