package devicetest

import (
	"fmt"
	"math"

	"github.com/dredge-cli/dredge/accel"
)

func testInfo(h *harness) {
	info := h.dev.Info()
	if info.Kind != accel.KindCPU && info.Kind != accel.KindCUDA {
		h.t.Errorf("Info().Kind = %q, want %q or %q", info.Kind, accel.KindCPU, accel.KindCUDA)
	}
	if info.Name == "" {
		h.t.Error("Info().Name is empty")
	}
	if info.Workers < 0 {
		h.t.Errorf("Info().Workers = %d < 0", info.Workers)
	}
}

// special holds values that must survive a round trip bit for bit.
var special = []float64{
	0, math.Copysign(0, -1), 1, -1.5, math.Pi, math.MaxFloat64, math.SmallestNonzeroFloat64,
	math.Inf(1), math.Inf(-1), math.NaN(), math.Float64frombits(0x7ff8_0000_dead_beef),
}

func testAllocUploadDownload(h *harness) {
	for _, n := range []int{1, 2, 11, 1000, 100_003} {
		b, err := h.dev.Alloc(n)
		if err != nil {
			h.t.Fatalf("Alloc(%d): %v", n, err)
		}
		if b.Len() != n {
			h.t.Errorf("Alloc(%d).Len() = %d", n, b.Len())
		}
		if v := h.download(b); !equalBits(v, make([]float64, n)) {
			h.t.Errorf("Alloc(%d) is not zeroed", n)
		}
		r := newRand(uint64(n))
		src := uniform(r, n, -1e3, 1e3)
		copy(src, special)
		if err := h.dev.Upload(b, src); err != nil {
			h.t.Fatalf("Upload(%d values): %v", n, err)
		}
		if got := h.download(b); !equalBits(got, src) {
			h.t.Errorf("n=%d: Download after Upload does not give the values back bit for bit", n)
		}

		// A short upload writes the start and leaves the rest.
		k := (n + 1) / 2
		part := uniform(r, k, 5, 6)
		if err := h.dev.Upload(b, part); err != nil {
			h.t.Fatalf("Upload(%d of %d values): %v", k, n, err)
		}
		want := append(append([]float64(nil), part...), src[k:]...)
		if got := h.download(b); !equalBits(got, want) {
			h.t.Errorf("n=%d: Upload of %d values did not write just the start of the buffer", n, k)
		}
		// A short download reads the start.
		dst := make([]float64, k)
		if err := h.dev.Download(dst, b); err != nil {
			h.t.Fatalf("Download(%d of %d values): %v", k, n, err)
		}
		if !equalBits(dst, part) {
			h.t.Errorf("n=%d: Download of %d values did not read the start of the buffer", n, k)
		}
		// Too much either way is ErrShape.
		h.wantErr("Upload of more values than the buffer holds", call(func() error {
			return h.dev.Upload(b, make([]float64, n+1))
		}), accel.ErrShape)
		h.wantErr("Download of more values than the buffer holds", call(func() error {
			return h.dev.Download(make([]float64, n+1), b)
		}), accel.ErrShape)

		// A buffer allocated after a free is zeroed too, whatever the
		// device reuses.
		h.dev.Free(b)
		b2, err := h.dev.Alloc(n)
		if err != nil {
			h.t.Fatalf("Alloc(%d) after Free: %v", n, err)
		}
		if v := h.download(b2); !equalBits(v, make([]float64, n)) {
			h.t.Errorf("Alloc(%d) after Free is not zeroed", n)
		}
		h.dev.Free(b2)
	}
}

func testZeroAndNegativeLengths(h *harness) {
	var b accel.Buffer
	err := call(func() (err error) { b, err = h.dev.Alloc(0); return err })
	if err != nil {
		h.t.Fatalf("Alloc(0): %v", err)
	}
	if b == nil || b.Len() != 0 {
		h.t.Fatalf("Alloc(0) = %v, want a buffer of length 0", b)
	}
	h.check("Upload of nothing", call(func() error { return h.dev.Upload(b, nil) }))
	h.check("Upload of an empty slice", call(func() error { return h.dev.Upload(b, []float64{}) }))
	h.check("Download of nothing", call(func() error { return h.dev.Download(nil, b) }))
	h.wantErr("Upload of 1 value to a zero-length buffer", call(func() error {
		return h.dev.Upload(b, []float64{1})
	}), accel.ErrShape)
	h.wantErr("Download of 1 value from a zero-length buffer", call(func() error {
		return h.dev.Download([]float64{1}, b)
	}), accel.ErrShape)
	h.check("Free of a zero-length buffer", call(func() error { h.dev.Free(b); return nil }))

	for _, n := range []int{-1, -1000, math.MinInt} {
		var nb accel.Buffer
		err := call(func() (err error) { nb, err = h.dev.Alloc(n); return err })
		h.wantErr("Alloc(negative)", err, accel.ErrShape)
		if nb != nil && err != nil {
			h.t.Errorf("Alloc(%d) returned a buffer and an error", n)
		}
	}
}

func testView(h *harness) {
	const n = 12
	base := make([]float64, n)
	for i := range base {
		base[i] = float64(i)
	}
	parent := h.upload(base)
	view := func(b accel.Buffer, off, n int) accel.Buffer {
		h.t.Helper()
		var v accel.Buffer
		err := call(func() (err error) { v, err = h.dev.View(b, off, n); return err })
		if err != nil {
			h.t.Fatalf("View(off=%d, n=%d): %v", off, n, err)
		}
		if v.Len() != n {
			h.t.Fatalf("View(off=%d, n=%d).Len() = %d", off, n, v.Len())
		}
		return v
	}
	v := view(parent, 4, 5)
	if got := h.download(v); !equalBits(got, base[4:9]) {
		h.t.Errorf("Download of view [4, 9) = %v, want %v", got, base[4:9])
	}

	// An upload through the view shows in the parent.
	if err := h.dev.Upload(v, []float64{100, 101}); err != nil {
		h.t.Fatalf("Upload to a view: %v", err)
	}
	base[4], base[5] = 100, 101
	if got := h.download(parent); !equalBits(got, base) {
		h.t.Errorf("parent after an upload through a view = %v, want %v", got, base)
	}
	// A view of a view aliases the parent at the sum of the offsets.
	vv := view(v, 1, 2)
	if err := h.dev.Upload(vv, []float64{-7}); err != nil {
		h.t.Fatalf("Upload to a view of a view: %v", err)
	}
	base[5] = -7
	if got := h.download(parent); !equalBits(got, base) {
		h.t.Errorf("parent after an upload through a view of a view = %v, want %v", got, base)
	}

	// A kernel reading one view and writing another of the same parent.
	src, dst := view(parent, 0, 3), view(parent, 9, 3)
	if h.check("Activate between views", call(func() error { return h.dev.Activate(accel.Tanh, 0, src, 3, dst) })) {
		copy(base[9:], refActivate(accel.Tanh, 0, base[0:3]))
		h.compare("parent after Activate between views", h.download(parent), base, nil)
	}

	// A wave family's parameters inside a larger vector, its output into
	// the middle of another buffer.
	r := newRand(42)
	f := accel.WaveFamily{Dim: 1, Waves: 2, Head: true}
	p := waveParams(r, f)
	in := pointInputs(r, 1, 9)
	model := h.upload(append(append(uniform(r, 5, -1, 1), p...), uniform(r, 4, -1, 1)...))
	outAll := h.out(9 + 6)
	if h.check("WaveForward through views", call(func() error {
		return h.dev.WaveForward(f, view(model, 5, len(p)), h.upload(in), 9, view(outAll, 3, 9))
	})) {
		got := h.download(outAll)
		want, scale := refWaveFamily(f, p, in, 9)
		h.compare("WaveForward into a view", got[3:12], want, scale)
		for _, i := range []int{0, 1, 2, 12, 13, 14} {
			if !math.IsNaN(got[i]) {
				h.t.Errorf("WaveForward into a view wrote value %d of the parent, outside the view", i)
			}
		}
	}

	// Out-of-range views.
	for _, c := range []struct{ off, n int }{
		{-1, 1}, {0, -1}, {0, n + 1}, {n - 1, 2}, {n + 1, 0}, {n, 1},
		{math.MaxInt, 1}, {1, math.MaxInt}, {math.MinInt, 2},
	} {
		err := call(func() error { _, err := h.dev.View(parent, c.off, c.n); return err })
		h.wantErr(fmt.Sprintf("View(off=%d, n=%d) of %d values", c.off, c.n, n), err, accel.ErrShape)
	}
	// Ranges are checked against the view, not its parent.
	err := call(func() error { _, err := h.dev.View(v, 0, 6); return err })
	h.wantErr("View(off=0, n=6) of a view of 5 values", err, accel.ErrShape)
	err = call(func() error { _, err := h.dev.View(nil, 0, 0); return err })
	h.wantErr("View of nil", err, accel.ErrShape)
	err = call(func() error { _, err := h.dev.View(&foreignBuffer{n: n}, 0, 1); return err })
	h.wantErr("View of a foreign buffer", err, accel.ErrForeignBuffer)

	// Freeing a view releases nothing.
	h.check("Free of a view", call(func() error { h.dev.Free(v); h.dev.Free(vv); return nil }))
	if got := h.download(parent); !equalBits(got, base) {
		h.t.Errorf("parent after freeing its views = %v, want %v", got, base)
	}
}

func testFree(h *harness) {
	h.check("Free(nil)", call(func() error { h.dev.Free(nil); return nil }))
	b := h.upload([]float64{1, 2, 3})
	h.check("Free", call(func() error { h.dev.Free(b); return nil }))
	h.check("second Free", call(func() error { h.dev.Free(b); return nil }))
	h.check("Free of a foreign buffer", call(func() error { h.dev.Free(&foreignBuffer{n: 3}); return nil }))

	// Freeing another device's buffer does not release it.
	other := h.newDevice(h.t)
	ob, err := other.Alloc(3)
	if err != nil {
		h.t.Fatalf("Alloc on a second device: %v", err)
	}
	defer other.Free(ob)
	if err := other.Upload(ob, []float64{4, 5, 6}); err != nil {
		h.t.Fatalf("Upload on a second device: %v", err)
	}
	h.check("Free of another device's buffer", call(func() error { h.dev.Free(ob); return nil }))
	got := make([]float64, 3)
	if err := other.Download(got, ob); err != nil || !equalBits(got, []float64{4, 5, 6}) {
		h.t.Errorf("another device's buffer after Free by this device: %v, %v; want [4 5 6]", got, err)
	}
}
