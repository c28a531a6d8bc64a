package accel

import (
	"fmt"
	"math"
)

// Argument checks shared by the implementations of [Device] (the CPU
// device and accel/cuda), so that every device rejects the same arguments
// with the same errors.

// BufferCheck checks a kernel's buffer arguments in turn, for a device D
// whose buffers have the type B. After the first failure it checks nothing
// more and Err keeps that failure, so the buffer reported is the first that
// fails. It lives on the stack:
//
//	ck := accel.NewBufferCheck(d, (*Device).state)
//	xs := ck.Buf(x, n, "input")
//	bs := ck.Opt(b, n, "bias")
//	if ck.Err != nil {
//		return ck.Err
//	}
type BufferCheck[B interface {
	comparable
	Buffer
}, D any] struct {
	dev   D
	state func(D, B) (owned, freed bool)
	// Err is the first failure, nil while every buffer passed.
	Err error
}

// NewBufferCheck returns a BufferCheck for dev, where state reports, for
// a buffer of type B that is not nil, whether dev made it and whether it
// has been freed. A method expression such as (*Device).state keeps the
// check free of allocations.
func NewBufferCheck[B interface {
	comparable
	Buffer
}, D any](dev D, state func(D, B) (owned, freed bool)) BufferCheck[B, D] {
	return BufferCheck[B, D]{dev: dev, state: state}
}

// Buf returns b as a B holding at least min values (min is negative when
// the size overflowed, see [MulSize]), or the zero B once a check has
// failed. It reports [ErrShape] for a nil, freed or short buffer or a
// negative min, and [ErrForeignBuffer] for a buffer of another device.
func (k *BufferCheck[B, D]) Buf(b Buffer, min int, what string) B {
	var zero B
	if k.Err != nil {
		return zero
	}
	cb, ok := b.(B)
	switch {
	case b == nil:
		k.Err = fmt.Errorf("%w: %s is nil", ErrShape, what)
	case !ok || cb == zero:
		k.Err = fmt.Errorf("%w: %s", ErrForeignBuffer, what)
	default:
		owned, freed := k.state(k.dev, cb)
		switch {
		case !owned:
			k.Err = fmt.Errorf("%w: %s", ErrForeignBuffer, what)
		case min < 0:
			k.Err = fmt.Errorf("%w: %s size is negative or overflows", ErrShape, what)
		case freed:
			k.Err = fmt.Errorf("%w: %s was freed", ErrShape, what)
		case cb.Len() < min:
			k.Err = fmt.Errorf("%w: %s holds %d values, need %d", ErrShape, what, cb.Len(), min)
		default:
			return cb
		}
	}
	return zero
}

// Opt is Buf for optional buffers: nil (untyped or a nil B) gives the zero
// B and passes.
func (k *BufferCheck[B, D]) Opt(b Buffer, min int, what string) B {
	var zero B
	if cb, ok := b.(B); b == nil || ok && cb == zero {
		return zero
	}
	return k.Buf(b, min, what)
}

// MulSize returns a·b, or −1 when either is negative or the product
// overflows ([BufferCheck.Buf] rejects a negative length).
func MulSize(a, b int) int {
	if a < 0 || b < 0 || (a != 0 && b > math.MaxInt/a) {
		return -1
	}
	return a * b
}

// CheckPoints reports [ErrShape] for a negative point count.
func CheckPoints(n int) error {
	if n < 0 {
		return fmt.Errorf("%w: negative point count %d", ErrShape, n)
	}
	return nil
}

// CheckLinear checks the sizes of [Device.Linear] and [Device.LinearBackward].
func CheckLinear(rows, in, out int) error {
	if rows < 0 || in < 1 || out < 1 {
		return fmt.Errorf("%w: linear layer rows %d, in %d, out %d", ErrShape, rows, in, out)
	}
	return nil
}

// CheckActivation reports [ErrShape] for an unknown activation.
func CheckActivation(act Activation) error {
	switch act {
	case Identity, Tanh, Sine:
		return nil
	}
	return fmt.Errorf("%w: unknown activation %v", ErrShape, act)
}

// CheckBatchNorm checks the sizes of [Device.BatchNorm].
func CheckBatchNorm(rows, cols int, train bool) error {
	if rows < 0 || cols < 1 {
		return fmt.Errorf("%w: batch norm rows %d, cols %d", ErrShape, rows, cols)
	}
	if train && rows < 2 {
		return fmt.Errorf("%w: batch normalisation in training mode needs at least 2 rows, got %d", ErrShape, rows)
	}
	return nil
}

// CheckBatchNormBackward checks the sizes of [Device.BatchNormBackward].
func CheckBatchNormBackward(rows, cols int) error {
	if rows < 1 || cols < 1 {
		return fmt.Errorf("%w: batch norm rows %d, cols %d", ErrShape, rows, cols)
	}
	return nil
}

// CheckFourier checks the sizes of [Device.Fourier].
func CheckFourier(rows, in, features int) error {
	if rows < 0 || in < 1 || features < 1 {
		return fmt.Errorf("%w: fourier features rows %d, in %d, features %d", ErrShape, rows, in, features)
	}
	return nil
}

// CheckMSE checks the size of [Device.MSE].
func CheckMSE(n int) error {
	if n < 1 {
		return fmt.Errorf("%w: mean squared error over %d values", ErrShape, n)
	}
	return nil
}

// CheckAdam checks the size and step of [Device.Adam].
func CheckAdam(n, step int) error {
	if n < 0 || step < 1 {
		return fmt.Errorf("%w: adam over %d values at step %d", ErrShape, n, step)
	}
	return nil
}
