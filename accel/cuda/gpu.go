//go:build cuda

package cuda

import (
	_ "embed"
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"
	"unsafe"

	"github.com/dredge-cli/dredge/accel"
	"gorgonia.org/cu"
)

// fatbin is the module of every kernel, built by go generate from
// kernels/dredge.cu.
//
//go:embed kernels/dredge.fatbin
var fatbin string

// kernels holds the module's functions.
type kernels struct {
	waveEval     [6]cu.Function // by axes 1..5, then any
	waveGrad     [5]cu.Function // by axes 1..5
	waveGradN    cu.Function
	intForward   cu.Function
	intGrad      cu.Function
	reduce       cu.Function
	gemm         cu.Function
	colsum       cu.Function
	activate     cu.Function
	activateBack cu.Function
	bnStats      cu.Function
	bnApply      cu.Function
	bnBackStats  cu.Function
	bnBackApply  cu.Function
	fourier      cu.Function
	msePartial   cu.Function
	adam         cu.Function
}

func (k *kernels) load(mod cu.Module) error {
	fns := map[string]*cu.Function{
		"wave_eval_d1": &k.waveEval[0], "wave_eval_d2": &k.waveEval[1], "wave_eval_d3": &k.waveEval[2],
		"wave_eval_d4": &k.waveEval[3], "wave_eval_d5": &k.waveEval[4], "wave_eval_dn": &k.waveEval[5],
		"wave_grad_d1": &k.waveGrad[0], "wave_grad_d2": &k.waveGrad[1], "wave_grad_d3": &k.waveGrad[2],
		"wave_grad_d4": &k.waveGrad[3], "wave_grad_d5": &k.waveGrad[4], "wave_grad_dn": &k.waveGradN,
		"interference_forward": &k.intForward, "interference_grad": &k.intGrad,
		"reduce_columns": &k.reduce, "gemm": &k.gemm, "colsum": &k.colsum,
		"activate": &k.activate, "activate_backward": &k.activateBack,
		"bn_stats": &k.bnStats, "bn_apply": &k.bnApply,
		"bn_backward_stats": &k.bnBackStats, "bn_backward_apply": &k.bnBackApply,
		"fourier": &k.fourier, "mse_partial": &k.msePartial, "adam": &k.adam,
	}
	for name, fn := range fns {
		f, err := mod.Function(name)
		if err != nil {
			return fmt.Errorf("kernel %s: %w", name, err)
		}
		*fn = f
	}
	return nil
}

// Scratch buffers of a GPU, used by one call at a time (all calls run on
// the GPU's goroutine, in stream order).
const (
	scratchResidual = iota // residuals of the loss kernels
	scratchPartial         // per-warp or per-block partial sums
	scratchScalar          // the scalar a loss kernel copies back
	numScratch
)

// gpu is one GPU's context: a goroutine locked to an OS thread that owns
// the CUDA context and runs every CUDA call sent to it.
type gpu struct {
	work chan func()

	// Set up once by the goroutine, read-only afterwards.
	name    string
	cc      string
	memory  int64
	sms     int
	kernels kernels

	// Owned by the goroutine.
	scratch [numScratch]struct {
		ptr cu.DevicePtr
		n   int
	}
}

var (
	gpusMu sync.Mutex
	gpus   = map[int]*gpu{}
)

// openGPU returns the context of GPU ordinal, starting it on first use.
// The context lives as long as the process.
func openGPU(ordinal int) (*gpu, error) {
	gpusMu.Lock()
	defer gpusMu.Unlock()
	if g := gpus[ordinal]; g != nil {
		return g, nil
	}
	g := &gpu{work: make(chan func())}
	ready := make(chan error, 1)
	go g.loop(ordinal, ready)
	if err := <-ready; err != nil {
		return nil, err
	}
	gpus[ordinal] = g
	return g, nil
}

// loop is the GPU's goroutine. It never unlocks its thread: the thread
// holds the context.
func (g *gpu) loop(ordinal int, ready chan<- error) {
	runtime.LockOSThread()
	if err := g.setup(ordinal); err != nil {
		ready <- err
		return // the locked thread exits with the goroutine
	}
	ready <- nil
	for fn := range g.work {
		fn()
	}
}

func (g *gpu) setup(ordinal int) error {
	n, err := cu.NumDevices()
	if err != nil {
		return fmt.Errorf("%w: counting CUDA devices: %v", accel.ErrUnavailable, err)
	}
	if n == 0 {
		return fmt.Errorf("%w: no CUDA device", accel.ErrUnavailable)
	}
	if ordinal < 0 || ordinal >= n {
		return fmt.Errorf("%w: CUDA device %d requested, %d present", accel.ErrUnavailable, ordinal, n)
	}
	dev, err := cu.GetDevice(ordinal)
	if err != nil {
		return fmt.Errorf("%w: CUDA device %d: %v", accel.ErrUnavailable, ordinal, err)
	}
	if g.name, err = dev.Name(); err != nil {
		return fmt.Errorf("%w: CUDA device %d name: %v", accel.ErrUnavailable, ordinal, err)
	}
	major, minor, err := dev.ComputeCapability()
	if err != nil {
		return fmt.Errorf("%w: CUDA device %d compute capability: %v", accel.ErrUnavailable, ordinal, err)
	}
	g.cc = fmt.Sprintf("%d.%d", major, minor)
	if g.memory, err = dev.TotalMem(); err != nil {
		return fmt.Errorf("%w: CUDA device %d memory: %v", accel.ErrUnavailable, ordinal, err)
	}
	if g.sms, err = dev.Attribute(cu.MultiprocessorCount); err != nil || g.sms < 1 {
		return fmt.Errorf("%w: CUDA device %d multiprocessor count: %v", accel.ErrUnavailable, ordinal, err)
	}
	// Made current on this thread.
	if _, err := dev.MakeContext(cu.SchedAuto); err != nil {
		return fmt.Errorf("%w: CUDA context on device %d (%s): %v", accel.ErrUnavailable, ordinal, g.name, err)
	}
	mod, err := cu.LoadData(fatbin)
	if err != nil {
		return fmt.Errorf("%w: loading the kernels on %s (compute capability %s): %v", accel.ErrUnavailable, g.name, g.cc, err)
	}
	if err := g.kernels.load(mod); err != nil {
		return fmt.Errorf("%w: %v", accel.ErrUnavailable, err)
	}
	return nil
}

var errPanic = errors.New("cuda: panic in a CUDA call")

// do runs fn on the GPU's goroutine and returns its error.
func (g *gpu) do(fn func() error) error {
	done := make(chan error, 1)
	g.work <- func() {
		defer func() {
			if r := recover(); r != nil {
				done <- fmt.Errorf("%w: %v", errPanic, r)
			}
		}()
		done <- fn()
	}
	return <-done
}

// getScratch returns scratch buffer i with room for n values. Called on
// the GPU's goroutine only.
func (g *gpu) getScratch(i, n int) (cu.DevicePtr, error) {
	s := &g.scratch[i]
	if s.n >= n && s.ptr != 0 {
		return s.ptr, nil
	}
	if s.ptr != 0 {
		if err := cu.Synchronize(); err != nil {
			return 0, cudaErr("synchronize", err)
		}
		if err := cu.MemFree(s.ptr); err != nil {
			return 0, cudaErr("free scratch", err)
		}
		s.ptr, s.n = 0, 0
	}
	size := max(n, 2*s.n, 1024)
	p, err := cu.MemAlloc(int64(size) * 8)
	if err != nil {
		return 0, cudaErr(fmt.Sprintf("allocate %d values of scratch", size), err)
	}
	s.ptr, s.n = p, size
	return p, nil
}

// dim3 is a grid or block shape.
type dim3 struct{ x, y, z int }

// launch launches fn. Every argument becomes 8 bytes, as Function.Launch
// copies: device pointers, int (as a 64-bit integer), float64 and bool (0
// or 1).
func (g *gpu) launch(name string, fn cu.Function, grid, block dim3, shared int, args ...any) error {
	vals := make([]uint64, len(args))
	ptrs := make([]unsafe.Pointer, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case cu.DevicePtr:
			vals[i] = uint64(v)
		case int:
			vals[i] = uint64(int64(v))
		case float64:
			vals[i] = math.Float64bits(v)
		case bool:
			if v {
				vals[i] = 1
			}
		default:
			panic(fmt.Sprintf("cuda: kernel %s: argument %d of type %T", name, i, a))
		}
		ptrs[i] = unsafe.Pointer(&vals[i])
	}
	if err := fn.Launch(grid.x, max(grid.y, 1), max(grid.z, 1), block.x, max(block.y, 1), max(block.z, 1), shared, cu.NoStream, ptrs); err != nil {
		return cudaErr("launch "+name, err)
	}
	return nil
}

// copyScalar copies the scalar at p back to the host.
func copyScalar(p cu.DevicePtr) (float64, error) {
	var v float64
	if err := cu.MemcpyDtoH(unsafe.Pointer(&v), p, 8); err != nil {
		return 0, cudaErr("copy back", err)
	}
	return v, nil
}

// zero sets n values at p to +0.
func zero(p cu.DevicePtr, n int) error {
	if n == 0 {
		return nil
	}
	if err := cu.MemsetD32(p, 0, int64(n)*2); err != nil {
		return cudaErr("memset", err)
	}
	return nil
}

func cudaErr(op string, err error) error {
	return fmt.Errorf("cuda: %s: %w", op, err)
}

// Launch shapes.
const (
	blockSize = 256
	// maxGridX bounds grid-stride launches.
	maxGridX = 1 << 20
	// maxGridYZ is CUDA's limit on the y and z grid sizes.
	maxGridYZ = 65535
)

// blocks returns the blocks of a grid-stride launch over n items of
// per items each, at most limit.
func blocks(n, per, limit int) int {
	return max(1, min((n+per-1)/per, limit))
}
