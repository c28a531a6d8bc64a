//go:build cuda

package cuda

import (
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/dredge-cli/dredge/accel"
	"gorgonia.org/cu"
)

func init() {
	accel.RegisterCUDA(func() (accel.Device, error) { return New(Config{}) })
}

// Config configures [New]. The zero value is the default: the first GPU.
type Config struct {
	// Ordinal is the index of the GPU among the CUDA devices (default 0).
	Ordinal int
	// Reason is reported in [accel.Info.Reason].
	Reason string
}

// Device is the CUDA [accel.Device]. It is safe for concurrent use; see
// the package documentation for how work is ordered.
type Device struct {
	g      *gpu
	reason string
	closed atomic.Bool

	mu   sync.Mutex
	live map[*allocation]struct{} // allocations not yet freed
}

var _ accel.Device = (*Device)(nil)

// New returns a device on the GPU that cfg names. It reports an error
// wrapping [accel.ErrUnavailable] when there is no such GPU or its context
// or the kernels cannot be loaded. Devices on one GPU share its context;
// each owns its buffers.
func New(cfg Config) (*Device, error) {
	g, err := openGPU(cfg.Ordinal)
	if err != nil {
		return nil, err
	}
	return &Device{g: g, reason: cfg.Reason, live: map[*allocation]struct{}{}}, nil
}

// Close frees the buffers of d still allocated. Later calls of d's methods
// report [accel.ErrClosed]. Close is idempotent. The GPU's context stays
// for other Devices.
func (d *Device) Close() error {
	if d.closed.Swap(true) {
		return nil
	}
	d.mu.Lock()
	var ptrs []cu.DevicePtr
	for a := range d.live {
		if !a.freed.Swap(true) && a.ptr != 0 {
			ptrs = append(ptrs, a.ptr)
		}
	}
	clear(d.live)
	d.mu.Unlock()
	if len(ptrs) == 0 {
		return nil
	}
	return d.g.do(func() error {
		if err := cu.Synchronize(); err != nil {
			return cudaErr("synchronize", err)
		}
		var first error
		for _, p := range ptrs {
			if err := cu.MemFree(p); err != nil && first == nil {
				first = cudaErr("free", err)
			}
		}
		return first
	})
}

func (d *Device) open() error {
	if d.closed.Load() {
		return accel.ErrClosed
	}
	return nil
}

// Info implements [accel.Device]: the GPU's name, compute capability,
// memory and multiprocessor count.
func (d *Device) Info() accel.Info {
	return accel.Info{
		Kind:              accel.KindCUDA,
		Name:              d.g.name,
		Workers:           d.g.sms,
		ComputeCapability: d.g.cc,
		MemoryBytes:       d.g.memory,
		Reason:            d.reason,
	}
}

// allocation is one device allocation, shared by a buffer and its views.
type allocation struct {
	ptr   cu.DevicePtr
	freed atomic.Bool
}

// buffer is a Buffer of a Device: n values from value off of an allocation.
type buffer struct {
	owner *Device
	mem   *allocation
	off   int
	n     int
	view  bool
}

// Len implements [accel.Buffer]; a freed buffer, and a view of one, holds
// no values.
func (b *buffer) Len() int {
	if b.mem.freed.Load() {
		return 0
	}
	return b.n
}

// ptr returns the device address of the buffer's first value.
func (b *buffer) ptr() cu.DevicePtr {
	if b == nil {
		return 0
	}
	return b.mem.ptr + cu.DevicePtr(8*b.off)
}

// maxValues bounds a buffer's length so that its size in bytes fits.
const maxValues = math.MaxInt64 / 8

// Alloc implements [accel.Device].
func (d *Device) Alloc(n int) (accel.Buffer, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	if n < 0 || n > maxValues {
		return nil, fmt.Errorf("%w: buffer length %d", accel.ErrShape, n)
	}
	a := &allocation{}
	if n > 0 {
		err := d.g.do(func() error {
			p, err := cu.MemAlloc(int64(n) * 8)
			if err != nil {
				return cudaErr(fmt.Sprintf("allocate %d values", n), err)
			}
			if err := zero(p, n); err != nil {
				cu.MemFree(p)
				return err
			}
			a.ptr = p
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	d.mu.Lock()
	d.live[a] = struct{}{}
	d.mu.Unlock()
	return &buffer{owner: d, mem: a, n: n}, nil
}

// Upload implements [accel.Device].
func (d *Device) Upload(dst accel.Buffer, src []float64) error {
	if err := d.open(); err != nil {
		return err
	}
	b, err := d.buf(dst, len(src), "upload destination")
	if err != nil {
		return err
	}
	if len(src) == 0 {
		return nil
	}
	return d.g.do(func() error {
		if err := cu.MemcpyHtoD(b.ptr(), unsafe.Pointer(&src[0]), int64(len(src))*8); err != nil {
			return cudaErr("upload", err)
		}
		return nil
	})
}

// Download implements [accel.Device]. It waits for the work queued before it.
func (d *Device) Download(dst []float64, src accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	b, err := d.buf(src, len(dst), "download source")
	if err != nil {
		return err
	}
	if len(dst) == 0 {
		return nil
	}
	return d.g.do(func() error {
		if err := cu.MemcpyDtoH(unsafe.Pointer(&dst[0]), b.ptr(), int64(len(dst))*8); err != nil {
			return cudaErr("download", err)
		}
		return nil
	})
}

// Free implements [accel.Device]. It waits for the work queued before it.
func (d *Device) Free(b accel.Buffer) {
	cb, ok := b.(*buffer)
	if !ok || cb == nil || cb.owner != d || cb.view {
		return
	}
	if cb.mem.freed.Swap(true) {
		return
	}
	d.mu.Lock()
	delete(d.live, cb.mem)
	d.mu.Unlock()
	if p := cb.mem.ptr; p != 0 {
		d.g.do(func() error {
			cu.Synchronize()
			return cu.MemFree(p)
		})
	}
}

// View implements [accel.Device].
func (d *Device) View(b accel.Buffer, off, n int) (accel.Buffer, error) {
	if err := d.open(); err != nil {
		return nil, err
	}
	cb, err := d.buf(b, 0, "view source")
	if err != nil {
		return nil, err
	}
	if off < 0 || n < 0 || off > cb.n || n > cb.n-off {
		return nil, fmt.Errorf("%w: view of %d values at %d of a buffer of %d values", accel.ErrShape, n, off, cb.n)
	}
	return &buffer{owner: d, mem: cb.mem, off: cb.off + off, n: n, view: true}, nil
}

// buf returns b as a buffer of d, checking ownership and a minimum length.
func (d *Device) buf(b accel.Buffer, min int, what string) (*buffer, error) {
	ck := d.check()
	cb := ck.Buf(b, min, what)
	return cb, ck.Err
}

// check returns the [accel.BufferCheck] of a kernel's buffers; it gives a
// nil *buffer (address 0) for an absent optional buffer.
func (d *Device) check() accel.BufferCheck[*buffer, *Device] {
	return accel.NewBufferCheck(d, (*Device).state)
}

// state tells an [accel.BufferCheck] whether d made b and whether b's
// allocation was freed.
func (d *Device) state(b *buffer) (owned, freed bool) { return b.owner == d, b.mem.freed.Load() }
