package stringtheory

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/dredge-cli/dredge/accel"
)

// Training limits and defaults.
const (
	// MaxEpochs bounds [TrainConfig.Epochs].
	MaxEpochs = 100_000
	// DefaultEpochs is the epoch count of a zero [TrainConfig.Epochs].
	DefaultEpochs = 100
	// DefaultLearningRate is the learning rate of a zero [TrainConfig.LearningRate].
	DefaultLearningRate = 1e-3
	// DefaultSamples is the sample count of a zero [TrainConfig.Samples].
	DefaultSamples = 10
)

// Adam's constants, PyTorch's defaults.
const (
	AdamBeta1 = 0.9
	AdamBeta2 = 0.999
	AdamEps   = 1e-8
)

// ErrDiverged reports a training run whose loss stopped being finite,
// usually because the learning rate is too large. It wraps
// [ErrInvalidArgument].
var ErrDiverged = fmt.Errorf("%w: training diverged", ErrInvalidArgument)

// TrainConfig configures [Train]. The zero value is the default: 100 epochs
// at learning rate 1e-3, 10 sampled losses.
type TrainConfig struct {
	// Epochs is the number of full-batch Adam steps, 1..MaxEpochs (default 100).
	Epochs int
	// LearningRate is Adam's learning rate, finite and positive (default 1e-3).
	LearningRate float64
	// Samples is the number of losses reported in [TrainResult.Sampled]
	// (default 10, at most Epochs).
	Samples int
	// OnEpoch, when not nil, is called after every step with the epoch's
	// index (from 0) and the loss before the step. It runs on the
	// training goroutine and must not modify the model.
	OnEpoch func(epoch int, loss float64)
}

// TrainResult reports a training run.
type TrainResult struct {
	// Epochs is the number of steps taken.
	Epochs int `json:"epochs"`
	// InitialLoss is the loss at the initial parameters.
	InitialLoss float64 `json:"initial_loss"`
	// FinalLoss is the loss after the last step.
	FinalLoss float64 `json:"final_loss"`
	// Losses holds the loss before each step (Epochs values).
	Losses []float64 `json:"-"`
	// Sampled holds Samples losses evenly spaced over Losses: Losses[i·Epochs/Samples].
	Sampled []float64 `json:"losses"`
	// Seconds is the wall time of the training loop alone (no set-up, upload or download).
	Seconds float64 `json:"seconds"`
	// Device is the kind of device that trained ([accel.Info.Kind]).
	Device string `json:"device"`
}

// withDefaults validates c and fills in its defaults.
func (c TrainConfig) withDefaults() (TrainConfig, error) {
	c.Epochs = cmp.Or(c.Epochs, DefaultEpochs)
	if c.Epochs < 1 || c.Epochs > MaxEpochs {
		return c, fieldErr("config.epochs", "must be between 1 and %d, got %d", MaxEpochs, c.Epochs)
	}
	c.LearningRate = cmp.Or(c.LearningRate, DefaultLearningRate)
	if !(c.LearningRate > 0) || math.IsInf(c.LearningRate, 0) {
		return c, fieldErr("config.learning_rate", "must be a finite positive number, got %v", c.LearningRate)
	}
	c.Samples = cmp.Or(c.Samples, DefaultSamples)
	if c.Samples < 0 {
		return c, fieldErr("config.samples", "must not be negative, got %d", c.Samples)
	}
	c.Samples = min(c.Samples, c.Epochs)
	return c, nil
}

// Train trains m on data with full-batch Adam (PyTorch's semantics: β1 0.9,
// β2 0.999, ε 1e-8, bias correction, no weight decay) and the mean squared
// error loss, on dev.
//
// The data set is uploaded once; every epoch runs on device buffers with
// exact gradients from the device's fused kernels, and only the loss comes
// back per epoch. On the CPU device a network's batch may run as two
// halves at once, on the calling goroutine and one that Train starts and
// ends (see the package documentation). On success the trained parameters
// replace m's (and batch-normalisation running statistics are updated as
// PyTorch's training mode does, once per step). Non-trainable tensors (the
// RFF matrix B) do not change. On any error m is left as it was.
//
// Cancelling ctx stops training between epochs with ctx.Err(). A loss that
// stops being finite stops training with an error wrapping [ErrDiverged].
// Bad configurations return a *[FieldError] naming config.epochs,
// config.learning_rate or config.samples; data that does not fit the model
// one naming the data field. Models other than those of [New] cannot be
// trained.
func Train(ctx context.Context, dev accel.Device, m Model, data Dataset, cfg TrainConfig) (TrainResult, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return TrainResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return TrainResult{}, err
	}
	s, err := newSession(dev, m, data)
	if err != nil {
		return TrainResult{}, err
	}
	defer s.free()
	res := TrainResult{Epochs: cfg.Epochs, Losses: make([]float64, cfg.Epochs), Device: dev.Info().Kind}
	start := time.Now()
	for e := 0; e < cfg.Epochs; e++ {
		if err := ctx.Err(); err != nil {
			return TrainResult{}, err
		}
		loss, err := s.lossGrad(true)
		if err != nil {
			return TrainResult{}, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			return TrainResult{}, fmt.Errorf("%w at epoch %d (loss %v): lower config.learning_rate", ErrDiverged, e, loss)
		}
		res.Losses[e] = loss
		if err := s.adam(e+1, cfg.LearningRate); err != nil {
			return TrainResult{}, err
		}
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(e, loss)
		}
	}
	final, err := s.lossGrad(false)
	if err != nil {
		return TrainResult{}, err
	}
	if math.IsNaN(final) || math.IsInf(final, 0) {
		return TrainResult{}, fmt.Errorf("%w after the last epoch (loss %v): lower config.learning_rate", ErrDiverged, final)
	}
	res.Seconds = time.Since(start).Seconds()
	res.InitialLoss, res.FinalLoss = res.Losses[0], final
	res.Sampled = make([]float64, cfg.Samples)
	for i := range res.Sampled {
		res.Sampled[i] = res.Losses[i*cfg.Epochs/cfg.Samples]
	}
	vals := make([]float64, s.np)
	if err := dev.Download(vals, s.params); err != nil {
		return TrainResult{}, err
	}
	if err := checkFinite("parameters", vals); err != nil {
		return TrainResult{}, fmt.Errorf("%w: %v", ErrDiverged, err)
	}
	if err := m.SetVector(vals); err != nil {
		return TrainResult{}, err
	}
	return res, nil
}

// session holds one model's training state on a device: the parameter
// vector, its gradient, Adam's moments, the uploaded data set and the
// model's intermediate buffers.
type session struct {
	dev    accel.Device
	r      run
	np     int
	params accel.Buffer
	grad   accel.Buffer
	// adamViews are views of params, grad and the two moments, one
	// quadruple per contiguous range of trainable values.
	adamViews [][4]accel.Buffer
	adamLens  []int
	// lossGrad evaluates the loss at the current parameters and, when
	// grad is true, writes its gradient into grad (training mode: batch
	// normalisation updates its running statistics only when grad is true).
	lossGrad func(grad bool) (float64, error)
	// helper runs the second half of a split batch (see trainLanes); nil
	// when the batch is not split or no core is free for it (takeSpinner).
	helper *spinner
}

func (s *session) free() {
	if s.helper != nil {
		s.helper.stop()
	}
	s.r.free()
}

func (s *session) adam(step int, lr float64) error {
	for i, v := range s.adamViews {
		if err := s.dev.Adam(v[0], v[1], v[2], v[3], s.adamLens[i], step, lr, AdamBeta1, AdamBeta2, AdamEps); err != nil {
			return err
		}
	}
	return nil
}

// newSession validates data against m, uploads both to dev and prepares
// every buffer training needs.
func newSession(dev accel.Device, m Model, data Dataset) (*session, error) {
	if err := checkDataset(m, data); err != nil {
		return nil, err
	}
	vals := m.Values()
	s := &session{dev: dev, r: run{dev: dev}, np: len(vals)}
	s.params = s.r.upload(vals)
	s.grad = s.r.alloc(len(vals))
	mom, vel := s.r.alloc(len(vals)), s.r.alloc(len(vals))
	for _, rg := range trainableRanges(m.Tensors()) {
		off, n := rg[0], rg[1]-rg[0]
		s.adamViews = append(s.adamViews, [4]accel.Buffer{
			s.r.view(s.params, off, n), s.r.view(s.grad, off, n), s.r.view(mom, off, n), s.r.view(vel, off, n),
		})
		s.adamLens = append(s.adamLens, n)
	}
	switch mm := m.(type) {
	case *Wave:
		s.waveSession(mm, data)
	case *Interference:
		s.interferenceSession(mm, data)
	case *Network:
		s.networkSession(mm, data)
	default:
		s.r.free()
		return nil, fieldErr("model_type", "model type %q cannot be trained", m.Type())
	}
	if s.r.err != nil {
		s.free()
		return nil, s.r.err
	}
	return s, nil
}

// checkDataset reports data that does not fit m.
func checkDataset(m Model, data Dataset) error {
	if data.N < 1 || data.N > MaxPoints {
		return fieldErr("data.n", "number of points must be between 1 and %d, got %d", MaxPoints, data.N)
	}
	if err := checkInputs(m.Inputs(), data.Inputs, data.N); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return &FieldError{Field: "data." + fe.Field, Reason: fe.Reason}
		}
		return err
	}
	if want := data.N * m.OutputWidth(); len(data.Target) != want {
		return fieldErr("data.target", "needs %d values (%d points × %d outputs), got %d", want, data.N, m.OutputWidth(), len(data.Target))
	}
	return checkFinite("data.target", data.Target)
}

// trainableRanges returns the [start, end) ranges of the flat vector held by
// trainable tensors, adjacent tensors merged.
func trainableRanges(ts []Tensor) [][2]int {
	var out [][2]int
	for _, t := range ts {
		if !t.Trainable || t.Size() == 0 {
			continue
		}
		lo, hi := t.Offset, t.Offset+t.Size()
		if k := len(out); k > 0 && out[k-1][1] == lo {
			out[k-1][1] = hi
			continue
		}
		out = append(out, [2]int{lo, hi})
	}
	return out
}

func (s *session) waveSession(w *Wave, data Dataset) {
	n, f := data.N, w.family
	x := s.r.upload(w.Columns(data.Inputs, n))
	y := s.r.upload(data.Target)
	s.lossGrad = func(bool) (float64, error) {
		return s.dev.WaveLossGrad(f, s.params, x, y, n, s.grad)
	}
}

func (s *session) interferenceSession(m *Interference, data Dataset) {
	n, shape := data.N, m.shape
	x := s.r.upload(m.Columns(data.Inputs, n))
	y := s.r.upload(data.Target)
	s.lossGrad = func(bool) (float64, error) {
		return s.dev.InterferenceLossGrad(shape, s.params, x, y, n, s.grad)
	}
}

// netLayer holds the device buffers of one dense layer during training,
// sized for one block of rows.
type netLayer struct {
	Layer
	in             accel.Buffer // the layer's input (block × In), owned by the previous layer
	w, b, dw, db   accel.Buffer // views of the parameters and their gradient
	z              accel.Buffer // linear output (block × Out)
	g, be, dg, dbe accel.Buffer // batch-norm views
	rm, rv         accel.Buffer
	bn             accel.Buffer // batch-norm output (block × Out)
	sm, si         accel.Buffer // batch-norm saved mean and inverse std
	pre            accel.Buffer // the activation's input: bn, or z without batch norm
	a              accel.Buffer // activation output (block × Out); z when Act is Identity
	da, dpre, dz   accel.Buffer // gradients with respect to a, the activation's input and z
	din            accel.Buffer // gradient with respect to in (nil for the first layer)
}

// trainRowValues is about how many values one row of a block costs
// network training: the input row, Fourier features, and per layer its
// linear output, activation and their gradients (two more with batch
// normalisation).
func (m *Network) trainRowValues() int {
	v := m.in + 2*m.features
	for _, l := range m.layers {
		v += 4 * l.Out
		if l.BatchNorm {
			v += 2 * l.Out
		}
	}
	return v
}

// trainBlockRows is the block of rows network training works through at
// a time: all n when the network has batch normalisation, whose training
// statistics are those of the whole batch, and when blocks would save
// less than the two host copies of the gradient that they cost.
func (m *Network) trainBlockRows(n int) int {
	if m.hasBatchNorm() {
		return n
	}
	rv := m.trainRowValues()
	block := blockRows(n, rv)
	if (n-block)*rv <= 2*len(m.values) {
		return n
	}
	return block
}

// TrainingBytes reports about how much memory [Train] of m on n points
// allocates while it runs: its copy of the parameters with their gradient
// and Adam's moments, the data set, and the intermediate rows of one block
// (network training works through its rows in blocks of about
// [BlockValues] values unless the network has batch normalisation; on the
// CPU a batch that fits one block may run as two halves at once, each
// with a gradient of its own, counted here whatever the device).
func TrainingBytes(m Model, n int) int64 {
	v := 4 * int64(len(m.Values()))
	width := 0
	for _, f := range m.Inputs() {
		width += f.Width
	}
	v += int64(n) * int64(width+m.OutputWidth())
	if nn, ok := m.(*Network); ok {
		block := nn.trainBlockRows(n)
		v += int64(block) * int64(nn.trainRowValues())
		switch {
		case nn.splits(n): // on the CPU, two halves of n: rows rounded up, a second gradient
			v += int64(n%2)*int64(nn.trainRowValues()) + 3*int64(len(m.Values()))
		case block < n:
			v += 2 * int64(len(m.Values())) // a block's gradient and the sum, on the host
		}
	} else {
		v += int64(n) * int64(width) // the column layout
	}
	return 8 * v
}

// splitMACs is the least work, in multiply-adds of one forward pass
// (rows × the layers' in·out), for which network training on the CPU
// splits its batch in two halves that run at once (see trainLanes).
// Changed by tests only.
var splitMACs = 1 << 17

// trainLanes returns how many halves of the batch network training runs
// at once on dev, and the rows of each: 2 on the CPU device when one block
// holds every row, there is no batch normalisation (whose statistics are
// the whole batch's) and the pass is large enough (splitMACs), else 1.
// Each half has buffers of its own and gives its own gradient, summed on
// the host weighted by its points, as blocks are, so that the two cores
// of a CPU each work through one half end to end: splitting each kernel
// between them instead made single kernels 1.5–1.7× faster but SIREN's
// epoch (2×64, 1,000 points) no faster, the rows likely moving between
// the cores' caches from kernel to kernel. It depends on the model, n and
// the device's kind only, never on its number of workers, so that results
// do not either.
func (m *Network) trainLanes(n int, dev accel.Device) (lanes, block int) {
	if dev.Info().Kind != "cpu" || !m.splits(n) {
		return 1, m.trainBlockRows(n)
	}
	return 2, (n + 1) / 2
}

// splits says whether training on n rows splits the batch in two halves
// on the CPU (trainLanes).
func (m *Network) splits(n int) bool {
	if n < 2 || m.hasBatchNorm() || m.trainBlockRows(n) < n {
		return false
	}
	macs := 0
	for _, l := range m.layers {
		macs += l.In * l.Out
	}
	return n*macs >= splitMACs
}

// netLane is one set of a network's training buffers: layers sized for a
// block of rows, the Fourier features of a block, and the gradient the
// layers write.
type netLane struct {
	layers []netLayer
	feats  accel.Buffer
	grad   accel.Buffer
}

func (s *session) networkSession(m *Network, data Dataset) {
	r := &s.r
	n := data.N
	lanes, block := m.trainLanes(n, s.dev)
	if n < 2 && m.hasBatchNorm() {
		r.do(fieldErr("data.n", "batch normalisation in training mode needs at least 2 rows, got %d", n))
	}
	x := r.upload(data.Inputs["x"][:n*m.in])
	y := r.upload(data.Target)
	var fb accel.Buffer
	if m.fourier != nil {
		fb = r.view(s.params, m.fourier.Offset, m.fourier.Size())
	}
	view := func(b accel.Buffer, t Tensor) accel.Buffer { return r.view(b, t.Offset, t.Size()) }
	// newLane allocates a lane's buffers, its gradient into grad.
	newLane := func(grad accel.Buffer) *netLane {
		ln := &netLane{grad: grad, layers: make([]netLayer, len(m.layers))}
		if m.fourier != nil {
			ln.feats = r.alloc(block * 2 * m.features)
		}
		var prev, prevDA accel.Buffer = ln.feats, nil
		for i, l := range m.layers {
			nl := &ln.layers[i]
			nl.Layer = l
			nl.in = prev // the first layer's input is set per block unless it is feats
			nl.din = prevDA
			nl.w, nl.b = view(s.params, l.Weight), view(s.params, l.Bias)
			nl.dw, nl.db = view(grad, l.Weight), view(grad, l.Bias)
			nl.z = r.alloc(block * l.Out)
			nl.dz = r.alloc(block * l.Out)
			nl.pre = nl.z
			if l.BatchNorm {
				nl.g, nl.be = view(s.params, l.Gamma), view(s.params, l.Beta)
				nl.dg, nl.dbe = view(grad, l.Gamma), view(grad, l.Beta)
				nl.rm, nl.rv = view(s.params, l.RunMean), view(s.params, l.RunVar)
				nl.bn = r.alloc(block * l.Out)
				nl.sm, nl.si = r.alloc(l.Out), r.alloc(l.Out)
				nl.dpre = r.alloc(block * l.Out)
				nl.pre = nl.bn
			} else {
				nl.dpre = nl.dz
			}
			if l.Act == accel.Identity {
				nl.a, nl.da = nl.pre, nl.dpre
			} else {
				nl.a, nl.da = r.alloc(block*l.Out), r.alloc(block*l.Out)
			}
			prev, prevDA = nl.a, nl.da
		}
		return ln
	}
	ls := []*netLane{newLane(s.grad)}
	if lanes == 2 {
		ls = append(ls, newLane(r.alloc(s.np)))
		s.helper = takeSpinner()
	}
	// A lane whose block is all its rows computes its features once: B
	// is fixed.
	featsOnce := m.fourier != nil && block*lanes >= n
	if featsOnce {
		for i, ln := range ls {
			lo, hi := i*block, min(n, (i+1)*block)
			xin := r.view(x, lo*m.in, (hi-lo)*m.in)
			if r.err == nil {
				r.do(s.dev.Fourier(xin, hi-lo, m.in, fb, m.features, ln.feats))
			}
		}
	}
	width := m.layers[len(m.layers)-1].Out
	dev := s.dev
	saver, _ := dev.(accel.ActivateSaver)
	// With more than one block, each block's gradient is downloaded and
	// added on the host, weighted by its share of the points, so that the
	// sum is the whole batch's mean-squared-error gradient.
	var blockGrad, sumGrad []float64
	if block < n {
		blockGrad, sumGrad = make([]float64, s.np), make([]float64, s.np)
	}
	// step runs the forward pass and, when grad is true, the backward pass
	// over rows [lo, hi) on lane ln, writing the parameters' gradient into
	// ln.grad.
	step := func(ln *netLane, lo, hi int, grad bool) (float64, error) {
		layers := ln.layers
		out := &layers[len(layers)-1]
		rows := hi - lo
		mom := BatchNormMomentum
		if !grad {
			mom = 0 // evaluation only: leave the running statistics alone
		}
		xin, err := dev.View(x, lo*m.in, rows*m.in)
		if err != nil {
			return 0, err
		}
		switch {
		case m.fourier == nil:
			layers[0].in = xin
		case !featsOnce:
			if err := dev.Fourier(xin, rows, m.in, fb, m.features, ln.feats); err != nil {
				return 0, err
			}
		}
		for i := range layers {
			l := &layers[i]
			if err := dev.Linear(l.in, rows, l.In, l.w, l.b, l.Out, l.z); err != nil {
				return 0, err
			}
			if l.BatchNorm {
				if err := dev.BatchNorm(l.z, rows, l.Out, l.g, l.be, l.rm, l.rv, BatchNormEps, mom, true, l.bn, l.sm, l.si); err != nil {
					return 0, err
				}
			}
			switch {
			case l.Act == accel.Identity:
			case grad && saver != nil:
				// pre is not needed again: what the backward pass
				// needs is saved into it.
				if err := saver.ActivateSave(l.Act, l.Scale, l.pre, rows*l.Out, l.a, l.pre); err != nil {
					return 0, err
				}
			default:
				if err := dev.Activate(l.Act, l.Scale, l.pre, rows*l.Out, l.a); err != nil {
					return 0, err
				}
			}
		}
		target, err := dev.View(y, lo*width, rows*width)
		if err != nil {
			return 0, err
		}
		if !grad {
			return dev.MSE(out.a, target, rows*width, nil)
		}
		loss, err := dev.MSE(out.a, target, rows*width, out.da)
		if err != nil {
			return 0, err
		}
		for i := len(layers) - 1; i >= 0; i-- {
			l := &layers[i]
			switch {
			case l.Act == accel.Identity:
			case saver != nil:
				if err := saver.ActivateBackwardSaved(l.Act, l.Scale, l.pre, l.da, rows*l.Out, l.dpre); err != nil {
					return 0, err
				}
			default:
				if err := dev.ActivateBackward(l.Act, l.Scale, l.pre, l.a, l.da, rows*l.Out, l.dpre); err != nil {
					return 0, err
				}
			}
			if l.BatchNorm {
				if err := dev.BatchNormBackward(l.z, rows, l.Out, l.g, l.sm, l.si, l.dpre, l.dz, l.dg, l.dbe); err != nil {
					return 0, err
				}
			}
			if err := dev.LinearBackward(l.in, rows, l.In, l.w, l.Out, l.dz, l.din, l.dw, l.db); err != nil {
				return 0, err
			}
		}
		return loss, nil
	}
	// add adds lane ln's gradient, weighted by share, into sumGrad.
	add := func(ln *netLane, share float64) error {
		if err := dev.Download(blockGrad, ln.grad); err != nil {
			return err
		}
		for i, g := range blockGrad {
			sumGrad[i] += share * g
		}
		return nil
	}
	s.lossGrad = func(grad bool) (float64, error) {
		if block >= n {
			return step(ls[0], 0, n, grad)
		}
		if grad {
			clear(sumGrad)
		}
		total := 0.0
		var losses [2]float64
		var errs [2]error
		// Blocks in turn, as many at once as there are lanes: the second
		// lane's on the helper (or after the first's, without one). The
		// gradients are added in block order whatever ran when.
		for lo := 0; lo < n; lo += lanes * block {
			// lane i's rows [from(i), from(i)+rows(i))
			from := func(i int) int { return min(n, lo+i*block) }
			rows := func(i int) int { return min(n, from(i)+block) - from(i) }
			run := func(i int) { losses[i], errs[i] = step(ls[i], from(i), from(i)+rows(i), grad) }
			switch {
			case lanes == 1:
				run(0)
			case s.helper != nil:
				s.helper.start(func() { run(1) })
				run(0)
				s.helper.wait()
			default:
				run(0)
				run(1)
			}
			for i := range lanes {
				if errs[i] != nil {
					return 0, errs[i]
				}
				share := float64(rows(i)) / float64(n)
				total += share * losses[i]
				if grad {
					if err := add(ls[i], share); err != nil {
						return 0, err
					}
				}
			}
		}
		if grad {
			if err := dev.Upload(s.grad, sumGrad); err != nil {
				return 0, err
			}
		}
		return total, nil
	}
}

// hasBatchNorm reports whether any layer normalises its batch.
func (m *Network) hasBatchNorm() bool {
	for _, l := range m.layers {
		if l.BatchNorm {
			return true
		}
	}
	return false
}
