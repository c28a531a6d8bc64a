//go:build cuda

package cuda

import (
	"math"

	"github.com/dredge-cli/dredge/accel"
	"gorgonia.org/cu"
)

// Wave kernels' shapes.
const (
	// maxWaveSlots bounds the wave slots of a wave_eval block.
	maxWaveSlots = 8
	// maxSharedParams bounds the parameters wave_eval keeps in shared
	// memory (32 KiB); larger families read them from global memory.
	maxSharedParams = 4096
	// gradBlocksPerSM bounds the grid rows of the gradient kernels.
	gradBlocksPerSM = 2
)

// begin makes the checks a wave or interference kernel starts with, in
// order: d is open, the family or basis s is valid, n is not negative.
func begin[S interface{ Validate() error }](d *Device, s S, n int) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := s.Validate(); err != nil {
		return err
	}
	return accel.CheckPoints(n)
}

// WaveForward implements [accel.Device].
func (d *Device) WaveForward(f accel.WaveFamily, params, inputs accel.Buffer, n int, out accel.Buffer) error {
	if err := begin(d, f, n); err != nil {
		return err
	}
	ck := d.check()
	p := ck.Buf(params, f.NumParams(), "wave parameters")
	in := ck.Buf(inputs, accel.MulSize(f.Dim+1, n), "wave inputs")
	o := ck.Buf(out, n, "wave output")
	if ck.Err != nil {
		return ck.Err
	}
	if n == 0 {
		return nil
	}
	return d.g.do(func() error {
		return d.g.waveEval(f, p.ptr(), in.ptr(), n, 0, o.ptr())
	})
}

// waveEval launches wave_eval: the output (y = 0) or the residual
// output − y at n points into out.
func (g *gpu) waveEval(f accel.WaveFamily, p, in cu.DevicePtr, n int, y, out cu.DevicePtr) error {
	fn := g.kernels.waveEval[5]
	if f.Dim <= 5 {
		fn = g.kernels.waveEval[f.Dim-1]
	}
	slots := min(f.Waves, maxWaveSlots)
	pts := max(32, blockSize/slots/32*32)
	np := f.NumParams()
	useShared := np <= maxSharedParams
	shared := pts * slots
	if useShared {
		shared += np
	}
	return g.launch("wave_eval", fn, dim3{blocks(n, pts, maxGridX), 1, 1}, dim3{pts, slots, 1}, shared*8,
		p, f.Dim, f.Waves, f.Head, useShared, in, n, y, out)
}

// WaveLossGrad implements [accel.Device]: wave_eval writes the residuals,
// wave_grad the per-warp partial sums of the gradient and of the squared
// residuals, reduce_columns their sums; only the loss comes back.
func (d *Device) WaveLossGrad(f accel.WaveFamily, params, inputs, target accel.Buffer, n int, grad accel.Buffer) (float64, error) {
	if err := begin(d, f, n); err != nil {
		return 0, err
	}
	np := f.NumParams()
	ck := d.check()
	p := ck.Buf(params, np, "wave parameters")
	in := ck.Buf(inputs, accel.MulSize(f.Dim+1, n), "wave inputs")
	y := ck.Buf(target, n, "wave target")
	gb := ck.Buf(grad, np, "wave gradient")
	if ck.Err != nil {
		return 0, ck.Err
	}
	var sq float64
	err := d.g.do(func() error {
		g := d.g
		if n == 0 {
			return zero(gb.ptr(), np)
		}
		res, err := g.getScratch(scratchResidual, n)
		if err != nil {
			return err
		}
		if err := g.waveEval(f, p.ptr(), in.ptr(), n, y.ptr(), res); err != nil {
			return err
		}
		gx, rows, part, err := g.gradPartials(n, np)
		if err != nil {
			return err
		}
		gy := min(f.Waves, maxGridYZ)
		gz := (f.Waves + gy - 1) / gy
		grid, block := dim3{gx, gy, gz}, dim3{blockSize, 1, 1}
		scale := 2 / float64(n)
		if f.Dim <= 5 {
			err = g.launch("wave_grad", g.kernels.waveGrad[f.Dim-1], grid, block, 0,
				p.ptr(), f.Waves, f.Head, in.ptr(), n, res, scale, part)
		} else {
			err = g.launch("wave_grad_dn", g.kernels.waveGradN, grid, block, 0,
				p.ptr(), f.Dim, f.Waves, f.Head, in.ptr(), n, res, scale, part)
		}
		if err != nil {
			return err
		}
		sq, err = g.reduceColumns(part, np+1, rows, gb.ptr(), np)
		return err
	})
	if err != nil || n == 0 {
		return 0, err
	}
	return sq / float64(n), nil
}

// gradPartials returns the grid width gx of a gradient kernel over n
// points, its rows of per-warp partial sums and the scratch part for np+1
// columns of them: the gradient, then the squared residuals. Called on the
// GPU's goroutine only.
func (g *gpu) gradPartials(n, np int) (gx, rows int, part cu.DevicePtr, err error) {
	gx = blocks(n, blockSize, gradBlocksPerSM*g.sms)
	rows = gx * blockSize / 32
	part, err = g.getScratch(scratchPartial, (np+1)*rows)
	return gx, rows, part, err
}

// reduceColumns sums cols columns of rows partials at part: the first nout
// into out, the next (at most one) is copied back and returned.
func (g *gpu) reduceColumns(part cu.DevicePtr, cols, rows int, out cu.DevicePtr, nout int) (float64, error) {
	tail, err := g.getScratch(scratchScalar, 1)
	if err != nil {
		return 0, err
	}
	if err := g.launch("reduce_columns", g.kernels.reduce, dim3{min(cols, maxGridX), 1, 1}, dim3{128, 1, 1}, 0,
		part, cols, rows, out, nout, tail); err != nil {
		return 0, err
	}
	if cols == nout {
		return 0, nil
	}
	return copyScalar(tail)
}

// InterferenceForward implements [accel.Device].
func (d *Device) InterferenceForward(s accel.Interference, params, inputs accel.Buffer, n int, out accel.Buffer) error {
	if err := begin(d, s, n); err != nil {
		return err
	}
	ck := d.check()
	p := ck.Buf(params, s.NumParams(), "interference parameters")
	in := ck.Buf(inputs, accel.MulSize(s.Dim+1, n), "interference inputs")
	o := ck.Buf(out, accel.MulSize(n, s.Outputs), "interference output")
	if ck.Err != nil {
		return ck.Err
	}
	if n == 0 {
		return nil
	}
	norm0 := math.Pow(2*math.Pi, float64(s.Dim)/2)
	return d.g.do(func() error {
		return d.g.launch("interference_forward", d.g.kernels.intForward,
			dim3{blocks(n, blockSize, maxGridX), 1, 1}, dim3{blockSize, 1, 1}, 0,
			p.ptr(), s.Dim, s.Fields, s.Outputs, norm0, in.ptr(), n, o.ptr())
	})
}

// InterferenceLossGrad implements [accel.Device].
func (d *Device) InterferenceLossGrad(s accel.Interference, params, inputs, target accel.Buffer, n int, grad accel.Buffer) (float64, error) {
	if err := begin(d, s, n); err != nil {
		return 0, err
	}
	np := s.NumParams()
	ck := d.check()
	p := ck.Buf(params, np, "interference parameters")
	in := ck.Buf(inputs, accel.MulSize(s.Dim+1, n), "interference inputs")
	y := ck.Buf(target, accel.MulSize(n, s.Outputs), "interference target")
	gb := ck.Buf(grad, np, "interference gradient")
	if ck.Err != nil {
		return 0, ck.Err
	}
	norm0 := math.Pow(2*math.Pi, float64(s.Dim)/2)
	var sq float64
	err := d.g.do(func() error {
		g := d.g
		if n == 0 {
			return zero(gb.ptr(), np)
		}
		res, err := g.getScratch(scratchResidual, n*s.Outputs)
		if err != nil {
			return err
		}
		gx, rows, part, err := g.gradPartials(n, np)
		if err != nil {
			return err
		}
		scale := 2 / float64(n*s.Outputs)
		if err := g.launch("interference_grad", g.kernels.intGrad, dim3{gx, 1, 1}, dim3{blockSize, 1, 1}, 0,
			p.ptr(), s.Dim, s.Fields, s.Outputs, norm0, in.ptr(), n, y.ptr(), scale, res, part); err != nil {
			return err
		}
		sq, err = g.reduceColumns(part, np+1, rows, gb.ptr(), np)
		return err
	})
	if err != nil || n == 0 {
		return 0, err
	}
	return sq / float64(n*s.Outputs), nil
}
