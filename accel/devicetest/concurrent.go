package devicetest

import (
	"errors"
	"fmt"
	"math"
	"sync"

	"github.com/dredge-cli/dredge/accel"
)

// testConcurrent runs kernels from several goroutines at once: they share
// read-only inputs and write separate buffers, some of them disjoint views
// of one shared buffer.
func testConcurrent(h *harness) {
	const (
		goroutines = 6
		rounds     = 3
	)
	r := newRand(1400)

	f := accel.WaveFamily{Dim: 3, Waves: 3, Head: true}
	const n = 1200
	wp := waveParams(r, f)
	win := pointInputs(r, f.Dim, n)
	wy := uniform(r, n, -0.5, 0.5)
	wantWave, waveScale := refWaveFamily(f, wp, win, n)
	wantLoss := refMSE(wantWave, wy)
	wpb, winb, wyb := h.upload(wp), h.upload(win), h.upload(wy)
	baseGradBuf := h.out(len(wp))
	if _, err := h.dev.WaveLossGrad(f, wpb, winb, wyb, n, baseGradBuf); err != nil {
		h.t.Fatalf("WaveLossGrad: %v", err)
	}
	baseGrad := h.result("WaveLossGrad gradient", baseGradBuf, len(wp))

	s := accel.Interference{Dim: 2, Fields: 3, Outputs: 2}
	sp, sin := interferenceData(r, interferenceCase{s: s, n: 700})
	wantInt, intScale := refInterference(s, sp, sin, 700)
	spb, sinb := h.upload(sp), h.upload(sin)

	const rows, in, out = 64, 16, 8
	lx := uniform(r, rows*in, -1, 1)
	lw := uniform(r, out*in, -1, 1)
	lb := uniform(r, out, -1, 1)
	wantLin, linScale := refLinear(lx, rows, in, lw, lb, out)
	wantTanh := refActivate(accel.Tanh, 0, lx)
	lxb, lwb, lbb := h.upload(lx), h.upload(lw), h.upload(lb)

	shared := h.out(goroutines * n)

	worker := func(g int) error {
		dev := h.dev
		var errs []error
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("goroutine %d: "+format, append([]any{g}, args...)...))
		}
		alloc := func(n int) accel.Buffer {
			b, err := dev.Alloc(n)
			if err != nil {
				fail("Alloc(%d): %v", n, err)
				return nil
			}
			return b
		}
		download := func(b accel.Buffer) []float64 {
			v := make([]float64, b.Len())
			if err := dev.Download(v, b); err != nil {
				fail("Download: %v", err)
			}
			return v
		}
		check := func(what string, got, want, scale []float64) {
			if msg := compareMsg(what, got, want, scale); msg != "" {
				fail("%s", msg)
			}
		}
		waveOut, grad := alloc(n), alloc(len(wp))
		intOut, linOut, tanhOut := alloc(700*s.Outputs), alloc(rows*out), alloc(rows*in)
		params, m, v := alloc(len(wp)), alloc(len(wp)), alloc(len(wp))
		if len(errs) > 0 {
			return errors.Join(errs...)
		}
		defer func() {
			for _, b := range []accel.Buffer{waveOut, grad, intOut, linOut, tanhOut, params, m, v} {
				dev.Free(b)
			}
		}()
		view, err := dev.View(shared, g*n, n)
		if err != nil {
			return fmt.Errorf("goroutine %d: View: %w", g, err)
		}
		if err := dev.Upload(params, wp); err != nil {
			return fmt.Errorf("goroutine %d: Upload: %w", g, err)
		}
		adam := newAdamRef(wp, 1e-3, 0.9, 0.999, 1e-8)
		for round := 1; round <= rounds && len(errs) == 0; round++ {
			if err := dev.WaveForward(f, wpb, winb, n, waveOut); err != nil {
				fail("WaveForward: %v", err)
			} else {
				check("WaveForward", download(waveOut), wantWave, waveScale)
			}
			if err := dev.WaveForward(f, wpb, winb, n, view); err != nil {
				fail("WaveForward into a view: %v", err)
			}
			loss, err := dev.WaveLossGrad(f, wpb, winb, wyb, n, grad)
			if err != nil {
				fail("WaveLossGrad: %v", err)
			} else {
				if !near(loss, wantLoss, 0) {
					fail("WaveLossGrad loss = %.17g, want %.17g", loss, wantLoss)
				}
				got := download(grad)
				gmax := 0.0
				for _, x := range baseGrad {
					gmax = math.Max(gmax, math.Abs(x))
				}
				for i := range got {
					if math.Abs(got[i]-baseGrad[i]) > absTol+relTol*gmax {
						fail("WaveLossGrad gradient[%d] = %.17g, alone it was %.17g", i, got[i], baseGrad[i])
						break
					}
				}
				if err := dev.Adam(params, grad, m, v, len(wp), round, 1e-3, 0.9, 0.999, 1e-8); err != nil {
					fail("Adam: %v", err)
				} else {
					adam.update(got)
					check("Adam parameters", download(params), adam.params, adam.pScale)
				}
			}
			mse, err := dev.MSE(waveOut, wyb, n, nil)
			if err != nil {
				fail("MSE: %v", err)
			} else if !near(mse, wantLoss, 0) {
				fail("MSE = %.17g, want %.17g", mse, wantLoss)
			}
			if err := dev.InterferenceForward(s, spb, sinb, 700, intOut); err != nil {
				fail("InterferenceForward: %v", err)
			} else {
				check("InterferenceForward", download(intOut), wantInt, intScale)
			}
			if err := dev.Linear(lxb, rows, in, lwb, lbb, out, linOut); err != nil {
				fail("Linear: %v", err)
			} else {
				check("Linear", download(linOut), wantLin, linScale)
			}
			if err := dev.Activate(accel.Tanh, 0, lxb, rows*in, tanhOut); err != nil {
				fail("Activate: %v", err)
			} else {
				check("Activate", download(tanhOut), wantTanh, nil)
			}
		}
		return errors.Join(errs...)
	}

	var wg sync.WaitGroup
	errs := make([]error, goroutines)
	for g := range goroutines {
		wg.Go(func() {
			errs[g] = call(func() error { return worker(g) })
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			h.t.Error(err)
		}
	}
	got := h.result("shared buffer", shared, goroutines*n)
	for g := range goroutines {
		h.compare(fmt.Sprintf("WaveForward into view %d of a shared buffer", g), got[g*n:(g+1)*n], wantWave, waveScale)
	}
}
