package devicetest

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/dredge-cli/dredge/accel"
)

// Run runs the conformance suite against the devices that newDevice
// returns, as subtests of t. newDevice is called once per subtest, and a
// second time where a subtest needs another device of the same kind (to
// check that buffers are not shared between devices).
func Run(t *testing.T, newDevice func(t *testing.T) accel.Device) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(h *harness)
	}{
		{"Info", testInfo},
		{"AllocUploadDownload", testAllocUploadDownload},
		{"ZeroAndNegativeLengths", testZeroAndNegativeLengths},
		{"View", testView},
		{"Free", testFree},
		{"BufferErrors", testBufferErrors},
		{"InvalidSizes", testInvalidSizes},
		{"ZeroPoints", testZeroPoints},
		{"WaveForward", testWaveForward},
		{"WaveLossGrad", testWaveLossGrad},
		{"InterferenceForward", testInterferenceForward},
		{"InterferenceLossGrad", testInterferenceLossGrad},
		{"Linear", testLinear},
		{"LinearBackward", testLinearBackward},
		{"Activate", testActivate},
		{"ActivateBackward", testActivateBackward},
		{"ActivateSaved", testActivateSaved},
		{"BatchNorm", testBatchNorm},
		{"BatchNormBackward", testBatchNormBackward},
		{"Fourier", testFourier},
		{"MSE", testMSE},
		{"Adam", testAdam},
		{"Concurrent", testConcurrent},
		{"SizeOverflow", testSizeOverflow},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dev := newDevice(t)
			if dev == nil {
				t.Fatal("newDevice returned nil")
			}
			tt.fn(&harness{t: t, dev: dev, newDevice: newDevice})
		})
	}
}

// harness carries a subtest's device and the helpers every test uses.
type harness struct {
	t         *testing.T
	dev       accel.Device
	newDevice func(t *testing.T) accel.Device
}

// run runs fn as a subtest with a harness of its own on the same device.
func (h *harness) run(name string, fn func(h *harness)) {
	h.t.Helper()
	h.t.Run(name, func(t *testing.T) {
		fn(&harness{t: t, dev: h.dev, newDevice: h.newDevice})
	})
}

// Tolerances of the forward comparisons; see the package documentation.
const (
	relTol = 1e-9
	absTol = 1e-12
)

// pad is the number of values after a kernel's outputs that it must leave
// alone; sentinel fills outputs and padding alike, so that an output the
// kernel does not overwrite fails the comparison.
const pad = 3

var sentinel = math.NaN()

// upload allocates a buffer holding vals. The buffer is freed when the
// subtest ends.
func (h *harness) upload(vals []float64) accel.Buffer {
	h.t.Helper()
	b, err := h.dev.Alloc(len(vals))
	if err != nil {
		h.t.Fatalf("Alloc(%d): %v", len(vals), err)
	}
	h.t.Cleanup(func() { h.dev.Free(b) })
	if err := h.dev.Upload(b, vals); err != nil {
		h.t.Fatalf("Upload of %d values: %v", len(vals), err)
	}
	return b
}

// out allocates an output buffer of n values followed by pad values, all
// set to the sentinel NaN.
func (h *harness) out(n int) accel.Buffer {
	h.t.Helper()
	return h.upload(filled(n+pad, sentinel))
}

// download returns all the values of b.
func (h *harness) download(b accel.Buffer) []float64 {
	h.t.Helper()
	v := make([]float64, b.Len())
	if err := h.dev.Download(v, b); err != nil {
		h.t.Fatalf("Download of %d values: %v", len(v), err)
	}
	return v
}

// result downloads an output buffer made by [harness.out], checks that its
// padding is untouched and returns its first n values.
func (h *harness) result(what string, b accel.Buffer, n int) []float64 {
	h.t.Helper()
	v := h.download(b)
	for i := n; i < len(v); i++ {
		if !math.IsNaN(v[i]) {
			h.t.Errorf("%s: value %d after the %d outputs was overwritten with %g", what, i, n, v[i])
			break
		}
	}
	return v[:n]
}

// check reports a kernel's error; it returns true when there was none.
func (h *harness) check(what string, err error) bool {
	h.t.Helper()
	if err != nil {
		h.t.Errorf("%s: %v", what, err)
		return false
	}
	return true
}

// call runs fn, turning a panic into an error that says so.
func call(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errPanic, r)
		}
	}()
	return fn()
}

var errPanic = errors.New("panic")

// near reports whether got is within tolerance of want, a value whose
// terms have magnitudes summing to scale (at least |want|).
func near(got, want, scale float64) bool {
	d := math.Abs(got - want)
	return d <= absTol+relTol*math.Max(math.Abs(want), scale)
}

// compare reports the values of got that are not close to want; scale
// gives each value's scale (nil: |want|).
func (h *harness) compare(what string, got, want, scale []float64) {
	h.t.Helper()
	if msg := compareMsg(what, got, want, scale); msg != "" {
		h.t.Error(msg)
	}
}

// compareMsg is compare's report, "" when all values agree.
func compareMsg(what string, got, want, scale []float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%s: got %d values, want %d", what, len(got), len(want))
	}
	bad, msg := 0, ""
	for i := range want {
		s := 0.0
		if scale != nil {
			s = scale[i]
		}
		if near(got[i], want[i], s) {
			continue
		}
		if bad < 5 {
			msg += fmt.Sprintf("\n\t[%d] got %.17g, want %.17g (diff %.3g, scale %.3g)", i, got[i], want[i], got[i]-want[i], math.Max(s, math.Abs(want[i])))
		}
		bad++
	}
	if bad == 0 {
		return ""
	}
	return fmt.Sprintf("%s: %d of %d values differ from the reference beyond %g relative:%s", what, bad, len(want), relTol, msg)
}

// compareScalar reports a scalar result that is not close to want.
func (h *harness) compareScalar(what string, got, want, scale float64) {
	h.t.Helper()
	if !near(got, want, scale) {
		h.t.Errorf("%s = %.17g, want %.17g (diff %.3g)", what, got, want, got-want)
	}
}

// newRand returns the suite's generator for the given seed.
func newRand(seed uint64) *rand.Rand {
	return rand.New(rand.NewPCG(seed, 0x5eed_dee9_1ce))
}

// uniform returns n values drawn uniformly from [lo, hi).
func uniform(r *rand.Rand, n int, lo, hi float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = lo + (hi-lo)*r.Float64()
	}
	return v
}

// filled returns n copies of x.
func filled(n int, x float64) []float64 {
	v := make([]float64, n)
	for i := range v {
		v[i] = x
	}
	return v
}

// Finite differences: fourth-order central differences with step fdStep,
// compared with relative tolerance fdRel plus fdAbs times the largest
// component.
const (
	fdStep = 1e-5
	fdRel  = 1e-6
	fdAbs  = 1e-8
)

// numGradCache holds the finite-difference gradients already computed in
// this process, by key: they depend only on the seeded test data, so a
// test binary that runs the suite on several devices computes each once.
var numGradCache sync.Map // string → []float64

// cachedNumGrad is numGrad, cached under key.
func cachedNumGrad(key string, p []float64, loss func(p []float64) float64) []float64 {
	if g, ok := numGradCache.Load(key); ok {
		return g.([]float64)
	}
	g := numGrad(p, loss)
	numGradCache.Store(key, g)
	return g
}

// numGrad returns the gradient of loss at p by fourth-order central
// differences.
func numGrad(p []float64, loss func(p []float64) float64) []float64 {
	g := make([]float64, len(p))
	q := append([]float64(nil), p...)
	for j := range p {
		at := func(d float64) float64 {
			q[j] = p[j] + d
			return loss(q)
		}
		h := fdStep
		g[j] = (8*(at(h)-at(-h)) - (at(2*h) - at(-2*h))) / (12 * h)
		q[j] = p[j]
	}
	return g
}

// compareGrad reports the components of got that differ from the finite
// differences want beyond the finite-difference tolerance.
func (h *harness) compareGrad(what string, got, want []float64) {
	h.t.Helper()
	if len(got) != len(want) {
		h.t.Errorf("%s: got %d gradient values, want %d", what, len(got), len(want))
		return
	}
	gmax := 0.0
	for _, w := range want {
		gmax = math.Max(gmax, math.Abs(w))
	}
	bad, msg := 0, ""
	for i := range want {
		tol := fdRel*math.Abs(want[i]) + fdAbs*gmax + absTol
		if math.Abs(got[i]-want[i]) <= tol {
			continue
		}
		if bad < 5 {
			msg += fmt.Sprintf("\n\t[%d] got %.12g, finite differences %.12g (diff %.3g, tolerance %.3g)", i, got[i], want[i], got[i]-want[i], tol)
		}
		bad++
	}
	if bad > 0 {
		h.t.Errorf("%s: %d of %d gradient values differ from finite differences:%s", what, bad, len(want), msg)
	}
}

// wantErr reports a nil error, a panic, or an error that does not wrap
// want (any error will do when want is nil).
func (h *harness) wantErr(what string, err, want error) {
	h.t.Helper()
	switch {
	case err == nil:
		h.t.Errorf("%s: no error, want %v", what, want)
	case errors.Is(err, errPanic):
		h.t.Errorf("%s: %v, want %v", what, err, want)
	case want != nil && !errors.Is(err, want):
		h.t.Errorf("%s: error %q does not wrap %v", what, err, want)
	}
}
