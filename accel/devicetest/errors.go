package devicetest

import (
	"errors"
	"fmt"
	"math"

	"github.com/dredge-cli/dredge/accel"
)

// foreignBuffer is a Buffer no device made.
type foreignBuffer struct{ n int }

func (b *foreignBuffer) Len() int { return b.n }

// need says how a kernel uses a buffer argument.
type need int

const (
	required need = iota // a buffer of at least the given length
	optional             // nil, or a buffer of at least the given length
	ignored              // the kernel may ignore it in this call
)

type argSpec struct {
	name string
	n    int
	need need
}

// kernelSpec is a valid call of one kernel on small buffers, described so
// that each buffer argument can be replaced by a bad one.
type kernelSpec struct {
	name string
	args []argSpec
	call func(d accel.Device, b []accel.Buffer) error
}

// Small shapes of the kernel specs.
var (
	specWave  = accel.WaveFamily{Dim: 2, Waves: 2, Head: true}
	specInt   = accel.Interference{Dim: 2, Fields: 3, Outputs: 2}
	specWaveN = 5
	specIntN  = 4
)

func kernelSpecs() []kernelSpec {
	wp, wn := specWave.NumParams(), specWaveN
	ip, in := specInt.NumParams(), specIntN
	const rows, lin, lout = 3, 4, 2
	const bnRows, bnCols = 4, 3
	const frows, fin, ffeat = 3, 2, 4
	const n = 6
	specs := []kernelSpec{
		{
			name: "WaveForward",
			args: []argSpec{{"params", wp, required}, {"inputs", 3 * wn, required}, {"out", wn, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.WaveForward(specWave, b[0], b[1], wn, b[2])
			},
		},
		{
			name: "WaveLossGrad",
			args: []argSpec{{"params", wp, required}, {"inputs", 3 * wn, required}, {"target", wn, required}, {"grad", wp, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				_, err := d.WaveLossGrad(specWave, b[0], b[1], b[2], wn, b[3])
				return err
			},
		},
		{
			name: "InterferenceForward",
			args: []argSpec{{"params", ip, required}, {"inputs", 3 * in, required}, {"out", in * specInt.Outputs, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.InterferenceForward(specInt, b[0], b[1], in, b[2])
			},
		},
		{
			name: "InterferenceLossGrad",
			args: []argSpec{{"params", ip, required}, {"inputs", 3 * in, required}, {"target", in * specInt.Outputs, required}, {"grad", ip, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				_, err := d.InterferenceLossGrad(specInt, b[0], b[1], b[2], in, b[3])
				return err
			},
		},
		{
			name: "Linear",
			args: []argSpec{{"x", rows * lin, required}, {"w", lout * lin, required}, {"b", lout, optional}, {"y", rows * lout, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.Linear(b[0], rows, lin, b[1], b[2], lout, b[3])
			},
		},
		{
			name: "LinearBackward",
			args: []argSpec{{"x", rows * lin, required}, {"w", lout * lin, required}, {"dy", rows * lout, required},
				{"dx", rows * lin, optional}, {"dw", lout * lin, optional}, {"db", lout, optional}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.LinearBackward(b[0], rows, lin, b[1], lout, b[2], b[3], b[4], b[5])
			},
		},
	}
	for _, act := range []accel.Activation{accel.Identity, accel.Tanh, accel.Sine} {
		specs = append(specs, kernelSpec{
			name: "Activate/" + act.String(),
			args: []argSpec{{"x", n, required}, {"y", n, required}},
			call: func(d accel.Device, b []accel.Buffer) error { return d.Activate(act, 2, b[0], n, b[1]) },
		})
		x, y := ignored, ignored
		switch act {
		case accel.Tanh:
			y = required
		case accel.Sine:
			x = required
		}
		specs = append(specs, kernelSpec{
			name: "ActivateBackward/" + act.String(),
			args: []argSpec{{"x", n, x}, {"y", n, y}, {"dy", n, required}, {"dx", n, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.ActivateBackward(act, 2, b[0], b[1], b[2], n, b[3])
			},
		})
	}
	bnArgs := func(train bool) []argSpec {
		save := required
		if !train {
			save = ignored
		}
		return []argSpec{
			{"x", bnRows * bnCols, required}, {"gamma", bnCols, required}, {"beta", bnCols, required},
			{"runMean", bnCols, required}, {"runVar", bnCols, required}, {"y", bnRows * bnCols, required},
			{"saveMean", bnCols, save}, {"saveInvStd", bnCols, save},
		}
	}
	for _, train := range []bool{true, false} {
		specs = append(specs, kernelSpec{
			name: fmt.Sprintf("BatchNorm/train=%v", train),
			args: bnArgs(train),
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.BatchNorm(b[0], bnRows, bnCols, b[1], b[2], b[3], b[4], 1e-5, 0.1, train, b[5], b[6], b[7])
			},
		})
	}
	specs = append(specs,
		kernelSpec{
			name: "BatchNormBackward",
			args: []argSpec{
				{"x", bnRows * bnCols, required}, {"gamma", bnCols, required}, {"saveMean", bnCols, required},
				{"saveInvStd", bnCols, required}, {"dy", bnRows * bnCols, required}, {"dx", bnRows * bnCols, required},
				{"dgamma", bnCols, required}, {"dbeta", bnCols, required},
			},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.BatchNormBackward(b[0], bnRows, bnCols, b[1], b[2], b[3], b[4], b[5], b[6], b[7])
			},
		},
		kernelSpec{
			name: "Fourier",
			args: []argSpec{{"x", frows * fin, required}, {"b", fin * ffeat, required}, {"y", frows * 2 * ffeat, required}},
			call: func(d accel.Device, b []accel.Buffer) error { return d.Fourier(b[0], frows, fin, b[1], ffeat, b[2]) },
		},
		kernelSpec{
			name: "MSE",
			args: []argSpec{{"pred", n, required}, {"target", n, required}, {"dpred", n, optional}},
			call: func(d accel.Device, b []accel.Buffer) error { _, err := d.MSE(b[0], b[1], n, b[2]); return err },
		},
		kernelSpec{
			name: "Adam",
			args: []argSpec{{"params", n, required}, {"grad", n, required}, {"m", n, required}, {"v", n, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.Adam(b[0], b[1], b[2], b[3], n, 1, 1e-3, 0.9, 0.999, 1e-8)
			},
		},
	)
	return specs
}

// specBuffers allocates the buffers of a valid call of spec on dev, filled
// with small positive values.
func (h *harness) specBuffers(dev accel.Device, spec kernelSpec) []accel.Buffer {
	h.t.Helper()
	bufs := make([]accel.Buffer, len(spec.args))
	for i, a := range spec.args {
		bufs[i] = h.bufferOn(dev, a.n)
	}
	return bufs
}

// bufferOn allocates n values on dev, freed when the subtest ends.
func (h *harness) bufferOn(dev accel.Device, n int) accel.Buffer {
	h.t.Helper()
	b, err := dev.Alloc(n)
	if err != nil {
		h.t.Fatalf("Alloc(%d): %v", n, err)
	}
	h.t.Cleanup(func() { dev.Free(b) })
	v := make([]float64, n)
	for i := range v {
		v[i] = 0.25 + 0.125*float64(i%5)
	}
	if err := dev.Upload(b, v); err != nil {
		h.t.Fatalf("Upload(%d values): %v", n, err)
	}
	return b
}

// testBufferErrors replaces each buffer argument of each kernel in turn by a
// buffer one value too short, by nil and by buffers the device did not make.
func testBufferErrors(h *harness) {
	other := h.newDevice(h.t)
	specs := kernelSpecs()
	if _, ok := h.dev.(accel.ActivateSaver); ok {
		specs = append(specs, saverSpecs()...)
	}
	for _, spec := range specs {
		h.run(spec.name, func(h *harness) {
			valid := h.specBuffers(h.dev, spec)
			if err := call(func() error { return spec.call(h.dev, valid) }); err != nil {
				h.t.Fatalf("valid call: %v", err)
			}
			for i, a := range spec.args {
				if a.need == ignored {
					continue
				}
				try := func(what string, b accel.Buffer, want error) {
					h.t.Helper()
					bufs := append([]accel.Buffer(nil), valid...)
					bufs[i] = b
					err := call(func() error { return spec.call(h.dev, bufs) })
					h.wantErr(fmt.Sprintf("%s %s (%d values needed)", a.name, what, a.n), err, want)
				}
				try("one value short", h.bufferOn(h.dev, a.n-1), accel.ErrShape)
				if a.need == required {
					try("nil", nil, accel.ErrShape)
				}
				try("not made by a device", &foreignBuffer{n: a.n}, accel.ErrForeignBuffer)
				try("made by another device", h.bufferOn(other, a.n), accel.ErrForeignBuffer)
			}
		})
	}
}

// saverSpecs are the kernels of an [accel.ActivateSaver], for devices
// that are one.
func saverSpecs() []kernelSpec {
	const n = 6
	var specs []kernelSpec
	for _, act := range []accel.Activation{accel.Identity, accel.Tanh, accel.Sine} {
		saved := required
		if act == accel.Identity {
			saved = ignored
		}
		specs = append(specs, kernelSpec{
			name: "ActivateSave/" + act.String(),
			args: []argSpec{{"x", n, required}, {"y", n, required}, {"saved", n, saved}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.(accel.ActivateSaver).ActivateSave(act, 2, b[0], n, b[1], b[2])
			},
		}, kernelSpec{
			name: "ActivateBackwardSaved/" + act.String(),
			args: []argSpec{{"saved", n, saved}, {"dy", n, required}, {"dx", n, required}},
			call: func(d accel.Device, b []accel.Buffer) error {
				return d.(accel.ActivateSaver).ActivateBackwardSaved(act, 2, b[0], b[1], n, b[2])
			},
		})
	}
	return specs
}

// testInvalidSizes calls each kernel with sizes that no buffer can fit:
// negative counts, zero widths and malformed families. The buffers are
// large enough for the valid shapes.
func testInvalidSizes(h *harness) {
	big := func() accel.Buffer { return h.bufferOn(h.dev, 256) }
	b := make([]accel.Buffer, 10)
	for i := range b {
		b[i] = big()
	}
	lossGrad := func(f accel.WaveFamily, n int) error {
		_, err := h.dev.WaveLossGrad(f, b[0], b[1], b[2], n, b[3])
		return err
	}
	intLossGrad := func(s accel.Interference, n int) error {
		_, err := h.dev.InterferenceLossGrad(s, b[0], b[1], b[2], n, b[3])
		return err
	}
	cases := []struct {
		name string
		call func() error
		want error // nil: any error
	}{
		{"WaveForward/n=-1", func() error { return h.dev.WaveForward(specWave, b[0], b[1], -1, b[2]) }, accel.ErrShape},
		{"WaveForward/dim=0", func() error {
			return h.dev.WaveForward(accel.WaveFamily{Dim: 0, Waves: 1}, b[0], b[1], 3, b[2])
		}, accel.ErrShape},
		{"WaveForward/waves=0", func() error {
			return h.dev.WaveForward(accel.WaveFamily{Dim: 1, Waves: 0, Head: true}, b[0], b[1], 3, b[2])
		}, accel.ErrShape},
		{"WaveForward/2 waves without head", func() error {
			return h.dev.WaveForward(accel.WaveFamily{Dim: 1, Waves: 2}, b[0], b[1], 3, b[2])
		}, accel.ErrShape},
		{"WaveLossGrad/n=-1", func() error { return lossGrad(specWave, -1) }, accel.ErrShape},
		{"WaveLossGrad/dim=-1", func() error { return lossGrad(accel.WaveFamily{Dim: -1, Waves: 1}, 3) }, accel.ErrShape},
		{"WaveLossGrad/2 waves without head", func() error { return lossGrad(accel.WaveFamily{Dim: 1, Waves: 2}, 3) }, accel.ErrShape},
		{"InterferenceForward/n=-1", func() error { return h.dev.InterferenceForward(specInt, b[0], b[1], -1, b[2]) }, accel.ErrShape},
		{"InterferenceForward/dim=0", func() error {
			return h.dev.InterferenceForward(accel.Interference{Dim: 0, Fields: 1, Outputs: 1}, b[0], b[1], 3, b[2])
		}, accel.ErrShape},
		{"InterferenceForward/fields=0", func() error {
			return h.dev.InterferenceForward(accel.Interference{Dim: 1, Fields: 0, Outputs: 1}, b[0], b[1], 3, b[2])
		}, accel.ErrShape},
		{"InterferenceForward/outputs=0", func() error {
			return h.dev.InterferenceForward(accel.Interference{Dim: 1, Fields: 1, Outputs: 0}, b[0], b[1], 3, b[2])
		}, accel.ErrShape},
		{"InterferenceLossGrad/n=-1", func() error { return intLossGrad(specInt, -1) }, accel.ErrShape},
		{"InterferenceLossGrad/outputs=-1", func() error {
			return intLossGrad(accel.Interference{Dim: 1, Fields: 1, Outputs: -1}, 3)
		}, accel.ErrShape},
		{"Linear/rows=-1", func() error { return h.dev.Linear(b[0], -1, 2, b[1], nil, 2, b[2]) }, accel.ErrShape},
		{"Linear/in=0", func() error { return h.dev.Linear(b[0], 2, 0, b[1], nil, 2, b[2]) }, accel.ErrShape},
		{"Linear/out=0", func() error { return h.dev.Linear(b[0], 2, 2, b[1], nil, 0, b[2]) }, accel.ErrShape},
		{"Linear/out=-2", func() error { return h.dev.Linear(b[0], 2, 2, b[1], nil, -2, b[2]) }, accel.ErrShape},
		{"LinearBackward/rows=-1", func() error {
			return h.dev.LinearBackward(b[0], -1, 2, b[1], 2, b[2], b[3], b[4], b[5])
		}, accel.ErrShape},
		{"LinearBackward/in=-1", func() error {
			return h.dev.LinearBackward(b[0], 2, -1, b[1], 2, b[2], b[3], b[4], b[5])
		}, accel.ErrShape},
		{"Activate/n=-1", func() error { return h.dev.Activate(accel.Tanh, 1, b[0], -1, b[1]) }, accel.ErrShape},
		{"Activate/identity/n=-1", func() error { return h.dev.Activate(accel.Identity, 1, b[0], -1, b[1]) }, accel.ErrShape},
		{"Activate/unknown activation", func() error { return h.dev.Activate(accel.Activation(99), 1, b[0], 4, b[1]) }, nil},
		{"ActivateBackward/n=-1", func() error {
			return h.dev.ActivateBackward(accel.Tanh, 1, b[0], b[1], b[2], -1, b[3])
		}, accel.ErrShape},
		{"ActivateBackward/identity/n=-1", func() error {
			return h.dev.ActivateBackward(accel.Identity, 1, b[0], b[1], b[2], -1, b[3])
		}, accel.ErrShape},
		{"ActivateBackward/unknown activation", func() error {
			return h.dev.ActivateBackward(accel.Activation(-1), 1, b[0], b[1], b[2], 4, b[3])
		}, nil},
		{"BatchNorm/rows=-1", func() error {
			return h.dev.BatchNorm(b[0], -1, 2, b[1], b[2], b[3], b[4], 1e-5, 0.1, false, b[5], nil, nil)
		}, accel.ErrShape},
		{"BatchNorm/cols=0", func() error {
			return h.dev.BatchNorm(b[0], 4, 0, b[1], b[2], b[3], b[4], 1e-5, 0.1, true, b[5], b[6], b[7])
		}, accel.ErrShape},
		// The unbiased variance of one row is undefined (PyTorch refuses too).
		{"BatchNorm/train/rows=1", func() error {
			return h.dev.BatchNorm(b[0], 1, 2, b[1], b[2], b[3], b[4], 1e-5, 0.1, true, b[5], b[6], b[7])
		}, accel.ErrShape},
		{"BatchNormBackward/rows=-1", func() error {
			return h.dev.BatchNormBackward(b[0], -1, 2, b[1], b[2], b[3], b[4], b[5], b[6], b[7])
		}, accel.ErrShape},
		{"BatchNormBackward/cols=-1", func() error {
			return h.dev.BatchNormBackward(b[0], 2, -1, b[1], b[2], b[3], b[4], b[5], b[6], b[7])
		}, accel.ErrShape},
		{"Fourier/rows=-1", func() error { return h.dev.Fourier(b[0], -1, 2, b[1], 2, b[2]) }, accel.ErrShape},
		{"Fourier/in=0", func() error { return h.dev.Fourier(b[0], 2, 0, b[1], 2, b[2]) }, accel.ErrShape},
		{"Fourier/features=0", func() error { return h.dev.Fourier(b[0], 2, 2, b[1], 0, b[2]) }, accel.ErrShape},
		{"MSE/n=-1", func() error { _, err := h.dev.MSE(b[0], b[1], -1, nil); return err }, accel.ErrShape},
		{"Adam/n=-1", func() error { return h.dev.Adam(b[0], b[1], b[2], b[3], -1, 1, 1e-3, 0.9, 0.999, 1e-8) }, accel.ErrShape},
		{"Adam/step=0", func() error { return h.dev.Adam(b[0], b[1], b[2], b[3], 4, 0, 1e-3, 0.9, 0.999, 1e-8) }, accel.ErrShape},
	}
	for _, c := range cases {
		h.wantErr(c.name, call(c.call), c.want)
	}
}

// testZeroPoints runs every kernel over nothing: kernels whose result is
// well defined over no values succeed; the others may report ErrShape but
// must not panic.
func testZeroPoints(h *harness) {
	b := make([]accel.Buffer, 8)
	for i := range b {
		b[i] = h.bufferOn(h.dev, 64)
	}
	must := func(what string, err error) {
		h.t.Helper()
		h.check(what+" over nothing", err)
	}
	may := func(what string, err error) {
		h.t.Helper()
		if err != nil && (errors.Is(err, errPanic) || !errors.Is(err, accel.ErrShape)) {
			h.t.Errorf("%s over nothing: %v, want nil or ErrShape", what, err)
		}
	}
	zeroGrad := func(what string, loss float64, err error, g accel.Buffer, n int) {
		h.t.Helper()
		may(what, err)
		if err != nil {
			return
		}
		if loss != 0 {
			h.t.Errorf("%s over nothing: loss %g, want 0", what, loss)
		}
		if got := h.download(g)[:n]; !equalBits(got, make([]float64, n)) {
			h.t.Errorf("%s over nothing: gradient %v, want zeros", what, got)
		}
	}
	must("WaveForward", call(func() error { return h.dev.WaveForward(specWave, b[0], b[1], 0, b[2]) }))
	must("InterferenceForward", call(func() error { return h.dev.InterferenceForward(specInt, b[0], b[1], 0, b[2]) }))
	must("Linear", call(func() error { return h.dev.Linear(b[0], 0, 3, b[1], b[2], 2, b[3]) }))
	must("Activate", call(func() error { return h.dev.Activate(accel.Sine, 1, b[0], 0, b[1]) }))
	must("Activate identity", call(func() error { return h.dev.Activate(accel.Identity, 1, b[0], 0, b[1]) }))
	must("ActivateBackward", call(func() error { return h.dev.ActivateBackward(accel.Tanh, 1, b[0], b[1], b[2], 0, b[3]) }))
	must("Fourier", call(func() error { return h.dev.Fourier(b[0], 0, 2, b[1], 3, b[2]) }))
	must("Adam", call(func() error { return h.dev.Adam(b[0], b[1], b[2], b[3], 0, 1, 1e-3, 0.9, 0.999, 1e-8) }))

	var loss float64
	err := call(func() (err error) { loss, err = h.dev.WaveLossGrad(specWave, b[0], b[1], b[2], 0, b[3]); return err })
	zeroGrad("WaveLossGrad", loss, err, b[3], specWave.NumParams())
	err = call(func() (err error) {
		loss, err = h.dev.InterferenceLossGrad(specInt, b[0], b[1], b[2], 0, b[4])
		return err
	})
	zeroGrad("InterferenceLossGrad", loss, err, b[4], specInt.NumParams())

	err = call(func() error { return h.dev.LinearBackward(b[0], 0, 3, b[1], 2, b[2], b[3], b[4], b[5]) })
	may("LinearBackward", err)
	if err == nil {
		if got := h.download(b[4])[:6]; !equalBits(got, make([]float64, 6)) {
			h.t.Errorf("LinearBackward over no rows: dw = %v, want zeros", got)
		}
		if got := h.download(b[5])[:2]; !equalBits(got, make([]float64, 2)) {
			h.t.Errorf("LinearBackward over no rows: db = %v, want zeros", got)
		}
	}
	may("BatchNorm inference", call(func() error {
		return h.dev.BatchNorm(b[0], 0, 2, b[1], b[2], b[3], b[4], 1e-5, 0.1, false, b[5], nil, nil)
	}))
	may("BatchNorm training", call(func() error {
		return h.dev.BatchNorm(b[0], 0, 2, b[1], b[2], b[3], b[4], 1e-5, 0.1, true, b[5], b[6], b[7])
	}))
	may("BatchNormBackward", call(func() error {
		return h.dev.BatchNormBackward(b[0], 0, 2, b[1], b[2], b[3], b[4], b[5], b[6], b[7])
	}))
	err = call(func() (err error) { _, err = h.dev.MSE(b[0], b[1], 0, b[2]); return err })
	may("MSE", err)
}

// testSizeOverflow calls the kernels with sizes whose products wrap around
// in int arithmetic (to MinInt or 0), which a length check on the product
// alone lets through. It runs last: a kernel that indexes with such sizes
// on a goroutine of its own crashes the test binary.
func testSizeOverflow(h *harness) {
	b := make([]accel.Buffer, 8)
	for i := range b {
		b[i] = h.bufferOn(h.dev, 256)
	}
	const huge = math.MaxInt/4 + 1 // 2⁶¹: 4·huge wraps to MinInt, 8·huge to 0
	cases := []struct {
		name string
		call func() error
	}{
		{"Linear/rows·in overflows", func() error { return h.dev.Linear(b[0], huge, 4, b[1], nil, 4, b[2]) }},
		{"LinearBackward/rows·in overflows", func() error {
			return h.dev.LinearBackward(b[0], huge, 4, b[1], 4, b[2], b[3], b[4], b[5])
		}},
		{"BatchNorm/rows·cols overflows", func() error {
			return h.dev.BatchNorm(b[0], huge, 4, b[1], b[2], b[3], b[4], 1e-5, 0.1, false, b[5], nil, nil)
		}},
		{"BatchNormBackward/rows·cols overflows", func() error {
			return h.dev.BatchNormBackward(b[0], huge, 4, b[1], b[2], b[3], b[4], b[5], b[6], b[7])
		}},
		{"Fourier/rows·features overflows", func() error { return h.dev.Fourier(b[0], huge, 4, b[1], 2, b[2]) }},
		{"InterferenceForward/n·outputs overflows", func() error {
			return h.dev.InterferenceForward(accel.Interference{Dim: 3, Fields: 1, Outputs: 4}, b[0], b[1], huge, b[2])
		}},
		{"InterferenceLossGrad/n·outputs overflows", func() error {
			_, err := h.dev.InterferenceLossGrad(accel.Interference{Dim: 3, Fields: 1, Outputs: 4}, b[0], b[1], b[2], huge, b[3])
			return err
		}},
		{"WaveForward/parameter count overflows", func() error {
			return h.dev.WaveForward(accel.WaveFamily{Dim: huge, Waves: 1}, b[0], b[1], 2, b[2])
		}},
		{"WaveLossGrad/parameter count overflows", func() error {
			_, err := h.dev.WaveLossGrad(accel.WaveFamily{Dim: 1, Waves: huge, Head: true}, b[0], b[1], b[2], 2, b[3])
			return err
		}},
		{"InterferenceForward/parameter count overflows", func() error {
			return h.dev.InterferenceForward(accel.Interference{Dim: 1, Fields: huge, Outputs: 1}, b[0], b[1], 2, b[2])
		}},
		{"WaveForward/(dim+1)·n overflows", func() error {
			return h.dev.WaveForward(accel.WaveFamily{Dim: 3, Waves: 1}, b[0], b[1], huge, b[2])
		}},
	}
	for _, c := range cases {
		h.wantErr(c.name, call(c.call), accel.ErrShape)
	}
}
