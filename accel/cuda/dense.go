//go:build cuda

package cuda

import (
	"math"

	"github.com/dredge-cli/dredge/accel"
	"gorgonia.org/cu"
)

// gemmTile is the tile of the gemm kernel (TILE in dense.cu).
const gemmTile = 16

// gemm launches C = op(A)·op(B) (+ bias) for op(A) of m×k and op(B) of
// k×n (see dense.cu).
func (g *gpu) gemm(m, n, k int, a cu.DevicePtr, lda int, ta bool, b cu.DevicePtr, ldb int, tb bool, bias, c cu.DevicePtr, ldc int) error {
	grid := dim3{blocks(n, gemmTile, maxGridYZ), blocks(m, gemmTile, maxGridYZ), 1}
	return g.launch("gemm", g.kernels.gemm, grid, dim3{gemmTile, gemmTile, 1}, 0,
		m, n, k, a, lda, ta, b, ldb, tb, bias, c, ldc)
}

// elementwise returns the grid of a grid-stride launch over n values.
func (g *gpu) elementwise(n int) dim3 {
	return dim3{blocks(n, blockSize, 32*g.sms), 1, 1}
}

// Linear implements [accel.Device]: gemm with the bias.
func (d *Device) Linear(x accel.Buffer, rows, in int, w, b accel.Buffer, out int, y accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckLinear(rows, in, out); err != nil {
		return err
	}
	ck := d.check()
	xs := ck.Buf(x, accel.MulSize(rows, in), "linear input")
	ws := ck.Buf(w, accel.MulSize(out, in), "linear weight")
	bs := ck.Opt(b, out, "linear bias")
	ys := ck.Buf(y, accel.MulSize(rows, out), "linear output")
	if ck.Err != nil {
		return ck.Err
	}
	if rows == 0 {
		return nil
	}
	return d.g.do(func() error {
		return d.g.gemm(rows, out, in, xs.ptr(), in, false, ws.ptr(), in, true, bs.ptr(), ys.ptr(), out)
	})
}

// LinearBackward implements [accel.Device]: dw = dyᵀ·x and dx = dy·w with
// gemm, db with colsum.
func (d *Device) LinearBackward(x accel.Buffer, rows, in int, w accel.Buffer, out int, dy, dx, dw, db accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckLinear(rows, in, out); err != nil {
		return err
	}
	ck := d.check()
	xs := ck.Buf(x, accel.MulSize(rows, in), "linear input")
	ws := ck.Buf(w, accel.MulSize(out, in), "linear weight")
	dys := ck.Buf(dy, accel.MulSize(rows, out), "linear output gradient")
	dxs := ck.Opt(dx, accel.MulSize(rows, in), "linear input gradient")
	dws := ck.Opt(dw, accel.MulSize(out, in), "linear weight gradient")
	dbs := ck.Opt(db, out, "linear bias gradient")
	if ck.Err != nil {
		return ck.Err
	}
	return d.g.do(func() error {
		g := d.g
		if dws != nil {
			// K = rows = 0 writes zeros.
			if err := g.gemm(out, in, rows, dys.ptr(), out, true, xs.ptr(), in, false, 0, dws.ptr(), in); err != nil {
				return err
			}
		}
		if dbs != nil {
			grid := dim3{blocks(out, 32, maxGridX), 1, 1}
			if err := g.launch("colsum", g.kernels.colsum, grid, dim3{32, 8, 1}, 0, dys.ptr(), rows, out, dbs.ptr()); err != nil {
				return err
			}
		}
		if dxs != nil && rows > 0 {
			return g.gemm(rows, in, out, dys.ptr(), out, false, ws.ptr(), in, false, 0, dxs.ptr(), in)
		}
		return nil
	})
}

// Activate implements [accel.Device].
func (d *Device) Activate(act accel.Activation, scale float64, x accel.Buffer, n int, y accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckPoints(n); err != nil {
		return err
	}
	ck := d.check()
	xs := ck.Buf(x, n, "activation input")
	ys := ck.Buf(y, n, "activation output")
	if ck.Err != nil {
		return ck.Err
	}
	if err := accel.CheckActivation(act); err != nil {
		return err
	}
	if n == 0 {
		return nil
	}
	return d.g.do(func() error {
		return d.g.launch("activate", d.g.kernels.activate, d.g.elementwise(n), dim3{blockSize, 1, 1}, 0,
			int(act), scale, xs.ptr(), n, ys.ptr())
	})
}

// ActivateBackward implements [accel.Device].
func (d *Device) ActivateBackward(act accel.Activation, scale float64, x, y, dy accel.Buffer, n int, dx accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckPoints(n); err != nil {
		return err
	}
	ck := d.check()
	dys := ck.Buf(dy, n, "activation output gradient")
	dxs := ck.Buf(dx, n, "activation input gradient")
	if ck.Err != nil {
		return ck.Err
	}
	var xs, ys *buffer
	switch act {
	case accel.Identity:
	case accel.Tanh:
		ys = ck.Buf(y, n, "activation output")
	case accel.Sine:
		xs = ck.Buf(x, n, "activation input")
	default:
		return accel.CheckActivation(act)
	}
	if ck.Err != nil {
		return ck.Err
	}
	if n == 0 {
		return nil
	}
	return d.g.do(func() error {
		return d.g.launch("activate_backward", d.g.kernels.activateBack, d.g.elementwise(n), dim3{blockSize, 1, 1}, 0,
			int(act), scale, xs.ptr(), ys.ptr(), dys.ptr(), n, dxs.ptr())
	})
}

// BatchNorm implements [accel.Device]: bn_stats then bn_apply in training
// mode, bn_apply alone in inference mode.
func (d *Device) BatchNorm(x accel.Buffer, rows, cols int, gamma, beta, runMean, runVar accel.Buffer, eps, momentum float64, train bool, y, saveMean, saveInvStd accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckBatchNorm(rows, cols, train); err != nil {
		return err
	}
	ck := d.check()
	xs := ck.Buf(x, accel.MulSize(rows, cols), "batch norm input")
	gs := ck.Buf(gamma, cols, "batch norm weight")
	bs := ck.Buf(beta, cols, "batch norm bias")
	rm := ck.Buf(runMean, cols, "batch norm running mean")
	rv := ck.Buf(runVar, cols, "batch norm running variance")
	ys := ck.Buf(y, accel.MulSize(rows, cols), "batch norm output")
	var sm, si *buffer
	if train {
		sm = ck.Buf(saveMean, cols, "batch norm saved mean")
		si = ck.Buf(saveInvStd, cols, "batch norm saved inverse std")
	}
	if ck.Err != nil {
		return ck.Err
	}
	if rows == 0 {
		return nil
	}
	return d.g.do(func() error {
		g := d.g
		mu, sv := rm.ptr(), rv.ptr()
		if train {
			if err := g.launch("bn_stats", g.kernels.bnStats, dim3{min(cols, maxGridX), 1, 1}, dim3{blockSize, 1, 1}, 0,
				xs.ptr(), rows, cols, eps, momentum, sm.ptr(), si.ptr(), rm.ptr(), rv.ptr()); err != nil {
				return err
			}
			mu, sv = sm.ptr(), si.ptr()
		}
		return g.launch("bn_apply", g.kernels.bnApply, g.elementwise(rows*cols), dim3{blockSize, 1, 1}, 0,
			xs.ptr(), rows, cols, gs.ptr(), bs.ptr(), mu, sv, train, eps, ys.ptr())
	})
}

// BatchNormBackward implements [accel.Device]: bn_backward_stats then
// bn_backward_apply.
func (d *Device) BatchNormBackward(x accel.Buffer, rows, cols int, gamma, saveMean, saveInvStd, dy, dx, dgamma, dbeta accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckBatchNormBackward(rows, cols); err != nil {
		return err
	}
	ck := d.check()
	xs := ck.Buf(x, accel.MulSize(rows, cols), "batch norm input")
	gs := ck.Buf(gamma, cols, "batch norm weight")
	sm := ck.Buf(saveMean, cols, "batch norm saved mean")
	si := ck.Buf(saveInvStd, cols, "batch norm saved inverse std")
	dys := ck.Buf(dy, accel.MulSize(rows, cols), "batch norm output gradient")
	dxs := ck.Buf(dx, accel.MulSize(rows, cols), "batch norm input gradient")
	dg := ck.Buf(dgamma, cols, "batch norm weight gradient")
	db := ck.Buf(dbeta, cols, "batch norm bias gradient")
	if ck.Err != nil {
		return ck.Err
	}
	return d.g.do(func() error {
		g := d.g
		if err := g.launch("bn_backward_stats", g.kernels.bnBackStats, dim3{min(cols, maxGridX), 1, 1}, dim3{blockSize, 1, 1}, 0,
			xs.ptr(), dys.ptr(), rows, cols, sm.ptr(), si.ptr(), dg.ptr(), db.ptr()); err != nil {
			return err
		}
		return g.launch("bn_backward_apply", g.kernels.bnBackApply, g.elementwise(rows*cols), dim3{blockSize, 1, 1}, 0,
			xs.ptr(), dys.ptr(), rows, cols, gs.ptr(), sm.ptr(), si.ptr(), dg.ptr(), db.ptr(), dxs.ptr())
	})
}

// Fourier implements [accel.Device].
func (d *Device) Fourier(x accel.Buffer, rows, in int, b accel.Buffer, features int, y accel.Buffer) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckFourier(rows, in, features); err != nil {
		return err
	}
	ck := d.check()
	xs := ck.Buf(x, accel.MulSize(rows, in), "fourier input")
	bs := ck.Buf(b, accel.MulSize(in, features), "fourier matrix")
	ys := ck.Buf(y, accel.MulSize(rows, accel.MulSize(2, features)), "fourier output")
	if ck.Err != nil {
		return ck.Err
	}
	if rows == 0 {
		return nil
	}
	return d.g.do(func() error {
		return d.g.launch("fourier", d.g.kernels.fourier, d.g.elementwise(rows*features), dim3{blockSize, 1, 1}, 0,
			xs.ptr(), rows, in, bs.ptr(), features, ys.ptr())
	})
}

// MSE implements [accel.Device]: mse_partial then reduce_columns; only the
// loss comes back.
func (d *Device) MSE(pred, target accel.Buffer, n int, dpred accel.Buffer) (float64, error) {
	if err := d.open(); err != nil {
		return 0, err
	}
	if err := accel.CheckMSE(n); err != nil {
		return 0, err
	}
	ck := d.check()
	ps := ck.Buf(pred, n, "prediction")
	ts := ck.Buf(target, n, "target")
	ds := ck.Opt(dpred, n, "prediction gradient")
	if ck.Err != nil {
		return 0, ck.Err
	}
	var s float64
	err := d.g.do(func() error {
		g := d.g
		gx := blocks(n, blockSize, 4*g.sms)
		part, err := g.getScratch(scratchPartial, gx)
		if err != nil {
			return err
		}
		if err := g.launch("mse_partial", g.kernels.msePartial, dim3{gx, 1, 1}, dim3{blockSize, 1, 1}, 0,
			ps.ptr(), ts.ptr(), n, 2/float64(n), ds.ptr(), part); err != nil {
			return err
		}
		s, err = g.reduceColumns(part, 1, gx, 0, 0)
		return err
	})
	if err != nil {
		return 0, err
	}
	return s / float64(n), nil
}

// Adam implements [accel.Device]; the bias corrections are computed on the
// host, as the CPU device computes them.
func (d *Device) Adam(params, grad, m, v accel.Buffer, n, step int, lr, beta1, beta2, eps float64) error {
	if err := d.open(); err != nil {
		return err
	}
	if err := accel.CheckAdam(n, step); err != nil {
		return err
	}
	ck := d.check()
	ps := ck.Buf(params, n, "adam parameters")
	gs := ck.Buf(grad, n, "adam gradient")
	ms := ck.Buf(m, n, "adam first moment")
	vs := ck.Buf(v, n, "adam second moment")
	if ck.Err != nil {
		return ck.Err
	}
	if n == 0 {
		return nil
	}
	bc1 := 1 - math.Pow(beta1, float64(step))
	bc2 := 1 - math.Pow(beta2, float64(step))
	stepSize := lr / bc1
	bc2s := math.Sqrt(bc2)
	return d.g.do(func() error {
		return d.g.launch("adam", d.g.kernels.adam, d.g.elementwise(n), dim3{blockSize, 1, 1}, 0,
			ps.ptr(), gs.ptr(), ms.ptr(), vs.ptr(), n, beta1, beta2, stepSize, bc2s, eps)
	})
}
