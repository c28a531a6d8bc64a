package stringtheory

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"

	"github.com/dredge-cli/dredge/accel"
)

// Model types, the names used by the operation table.
const (
	TypeWave1D            = "quasimoto_1d"
	TypeWave4D            = "quasimoto_4d"
	TypeWave6D            = "quasimoto_6d"
	TypeEnsemble1D        = "quasimoto_ensemble"
	TypeEnsemble4D        = "quasimoto_ensemble_4d"
	TypeEnsemble6D        = "quasimoto_ensemble_6d"
	TypeInterferenceBasis = "interference_basis"
	TypeSIREN             = "siren"
	TypeRFF               = "rff"
	TypeStringNN          = "string_theory"
)

// ModelTypes lists every model type, in the order capabilities report them.
var ModelTypes = []string{
	TypeWave1D, TypeWave4D, TypeWave6D,
	TypeEnsemble1D, TypeEnsemble4D, TypeEnsemble6D,
	TypeInterferenceBasis, TypeSIREN, TypeRFF, TypeStringNN,
}

// InputField describes one named input of a model: Width values per point
// (1 for a scalar column such as "t", the row width for "x" of the MLP).
type InputField struct {
	Name  string
	Width int
}

// Model is a model with named parameters that runs on an [accel.Device].
//
// A Model is safe for concurrent use by readers (Forward, Tensors, Values);
// methods that change parameters (SetValues, SetVector, training) must not
// run concurrently with anything else on the same model.
type Model interface {
	// Type is the model type, one of [ModelTypes].
	Type() string
	// Config reports the model's configuration as the operation table shows it.
	Config() map[string]any
	// Tensors lists the named tensors in canonical order.
	Tensors() []Tensor
	// Values returns a copy of the flat vector of all tensors.
	Values() []float64
	// NumParameters reports the number of trainable values.
	NumParameters() int
	// SetValues replaces named tensors (see [Tensor.Name]).
	SetValues(map[string][]float64) error
	// SetVector replaces the whole flat vector.
	SetVector([]float64) error
	// Inputs lists the model's inputs in order.
	Inputs() []InputField
	// OutputWidth is the number of output values per point.
	OutputWidth() int
	// Forward evaluates the model at n points: in[f.Name] holds n·f.Width
	// values (row-major) for each input f. It returns n·OutputWidth() values.
	// It works through the points in blocks (see [BlockValues]), so that
	// its memory beyond inputs and output does not grow with n, and stops
	// with ctx.Err() when ctx is done before a block.
	Forward(ctx context.Context, dev accel.Device, in map[string][]float64, n int) ([]float64, error)
}

// Config configures a model built by [New]. Zero fields take the model
// type's defaults; fields a type does not use are ignored.
type Config struct {
	// NWaves is the ensemble size (default 16 for 1D, 8 for 4D, 6 for 6D).
	NWaves int
	// Dimensions is the MLP's input width (default 10).
	Dimensions int
	// HiddenSize is the hidden width of the MLP (default 64) and SIREN (default 64).
	HiddenSize int
	// NumLayers is the number of hidden layers of the MLP (default 2) and of
	// sine layers of SIREN (default 2), 1..10.
	NumLayers int
	// UseBatchNorm adds batch normalisation before each tanh of the MLP.
	UseBatchNorm bool
	// Dim is the spatial dimension of the interference basis (default 1).
	Dim int
	// NumFields is the interference basis's field count (default 8).
	NumFields int
	// OutFeatures is the interference basis's output width (default 1).
	OutFeatures int
	// InputDim is the input width of SIREN and RFF (default 1).
	InputDim int
	// NumFeatures is the RFF frequency count (default 128).
	NumFeatures int
	// Sigma is the RFF frequency scale (default 5).
	Sigma float64
	// W0 is SIREN's frequency factor (default 30).
	W0 float64
	// Seed seeds the initial parameters (default 0: a fixed seed).
	Seed uint64
}

// New builds a model of the given type with seeded initial parameters.
// Invalid configurations, and models larger than [MaxParameters] values,
// return a *[FieldError] naming the config field before anything of the
// model's size is allocated (see [PlanFor]).
func New(modelType string, cfg Config) (Model, error) {
	p, err := PlanFor(modelType, cfg)
	if err != nil {
		return nil, err
	}
	return p.Build(), nil
}

// uniform fills v with U(−b, b) values.
func uniform(rng *rand.Rand, v []float64, b float64) {
	for i := range v {
		v[i] = (2*rng.Float64() - 1) * b
	}
}

// normal fills v with N(0, s²) values.
func normal(rng *rand.Rand, v []float64, s float64) {
	for i := range v {
		v[i] = rng.NormFloat64() * s
	}
}

// checkInputs validates in against fields for n points.
func checkInputs(fields []InputField, in map[string][]float64, n int) error {
	if n < 1 || n > MaxPoints {
		return fieldErr("inputs", "number of points must be between 1 and %d, got %d", MaxPoints, n)
	}
	for _, f := range fields {
		v, ok := in[f.Name]
		if !ok {
			return fieldErr("inputs."+f.Name, "is required")
		}
		if len(v) != n*f.Width {
			return fieldErr("inputs."+f.Name, "needs %d values (%d points × %d), got %d", n*f.Width, n, f.Width, len(v))
		}
		if err := checkFinite("inputs."+f.Name, v); err != nil {
			return err
		}
	}
	return nil
}

// run uploads host slices, runs fn on device buffers, and frees them.
type run struct {
	dev  accel.Device
	bufs []accel.Buffer
	err  error
}

func (r *run) upload(v []float64) accel.Buffer {
	b := r.alloc(len(v))
	if r.err == nil {
		r.err = r.dev.Upload(b, v)
	}
	return b
}

// params returns the model's values v on the device for reading only:
// without a copy where the device can wrap host memory ([accel.Wrapper]).
func (r *run) params(v []float64) accel.Buffer {
	if w, ok := r.dev.(accel.Wrapper); ok && r.err == nil {
		return w.Wrap(v)
	}
	return r.upload(v)
}

func (r *run) alloc(n int) accel.Buffer {
	if r.err != nil {
		return nil
	}
	b, err := r.dev.Alloc(n)
	if err != nil {
		r.err = err
		return nil
	}
	r.bufs = append(r.bufs, b)
	return b
}

func (r *run) view(b accel.Buffer, off, n int) accel.Buffer {
	if r.err != nil {
		return nil
	}
	v, err := r.dev.View(b, off, n)
	if err != nil {
		r.err = err
	}
	return v
}

func (r *run) do(err error) {
	if r.err == nil {
		r.err = err
	}
}

// BlockValues is about how many values of intermediate rows a forward
// pass holds at once: [Model.Forward] works through its points in blocks
// of BlockValues / (values per row) rows, at least one row.
const BlockValues = 1 << 20

// blockValues is BlockValues, changed by tests and benchmarks only.
var blockValues = BlockValues

// blockRows is the block size in rows for n points of rowValues values each.
func blockRows(n, rowValues int) int {
	return max(1, min(n, blockValues/max(1, rowValues)))
}

// blocks runs fn over the ranges [lo, hi) of n points, block points at a
// time, unless an earlier step failed; it stops at the first error, or
// with ctx.Err() when ctx is done before a block.
func (r *run) blocks(ctx context.Context, n, block int, fn func(lo, hi int) error) {
	for lo := 0; lo < n && r.err == nil; lo += block {
		if err := ctx.Err(); err != nil {
			r.err = err
			return
		}
		r.err = fn(lo, min(n, lo+block))
	}
}

func (r *run) free() {
	for _, b := range r.bufs {
		r.dev.Free(b)
	}
}

// Wave is a single Quasimoto wave or an ensemble of them with a linear
// head, in 1, 3 or 5 spatial dimensions (the 1D, 4D and 6D models).
type Wave struct {
	params
	typ    string
	family accel.WaveFamily
	cols   []string
}

var axisNames = map[int][]string{
	1: {"x"},
	3: {"x", "y", "z"},
	5: {"x1", "x2", "x3", "x4", "x5"},
}

// waveParamNames returns the names of one wave's parameters in layout order.
func waveParamNames(dim int) []string {
	var k, v, l []string
	switch dim {
	case 1:
		k, v, l = []string{"k"}, []string{"v"}, []string{"lmbda"}
	case 3:
		for _, a := range []string{"x", "y", "z"} {
			k, v, l = append(k, "k"+a), append(v, "v"+a), append(l, "lmbda_"+a)
		}
	default:
		for i := 1; i <= dim; i++ {
			s := strconv.Itoa(i)
			k, v, l = append(k, "k"+s), append(v, "v"+s), append(l, "lmbda_"+s)
		}
	}
	names := []string{"A"}
	names = append(names, k...)
	names = append(names, "omega")
	names = append(names, v...)
	names = append(names, "log_sigma", "phi", "epsilon")
	return append(names, l...)
}

// initWave builds a wave family with the initial distributions
//
//	A = 1, log_sigma = 0, phi = 0, epsilon = 0.1,
//	k ~ N(0, 2²) for one axis and N(0, 1) per axis otherwise,
//	omega, v, lmbda ~ N(0, 1),
//	head.weight ~ U(±1/√n), head.bias = 0,
//
// drawn from rng in parameter order. The head's bias starts at 0 rather
// than nn.Linear's U(±1/√n): the data sets have mean near 0, and a random
// offset of up to 1/√n takes Adam at 1e-3 hundreds of epochs to remove
// (the 4D paper row's median loss falls from about 6e-3 to 8e-5 over five
// seeds in 300 epochs).
func initWave(w *Wave, typ string, f accel.WaveFamily, rng *rand.Rand) {
	dim, waves, head := f.Dim, f.Waves, f.Head
	w.typ, w.family = typ, f
	w.cols = append(slices.Clone(axisNames[dim]), "t")
	names := waveParamNames(dim)
	for j := 0; j < waves; j++ {
		prefix := ""
		if head {
			prefix = "waves." + strconv.Itoa(j) + "."
		}
		for _, n := range names {
			v := w.add(prefix+n, true, 1)
			switch {
			case n == "A":
				v[0] = 1
			case n == "log_sigma", n == "phi":
				v[0] = 0
			case n == "epsilon":
				v[0] = 0.1
			case n == "k" && dim == 1:
				v[0] = waveFrequency1D * rng.NormFloat64()
			default:
				v[0] = rng.NormFloat64()
			}
		}
	}
	if head {
		b := 1 / math.Sqrt(float64(waves))
		uniform(rng, w.add("head.weight", true, 1, waves), b)
		w.add("head.bias", true, 1) // 0: see initWave
	}
}

// waveFrequency1D is the standard deviation of the initial wave numbers k
// of one-axis waves (those of more axes use 1): the glitchy chirp's local
// frequency reaches about 5 where its envelope still matters, and Adam at
// the paper's learning rate moves a parameter by at most about 1 in 1,000
// epochs, so the spread must be there from the start.
const waveFrequency1D = 2

// Type implements [Model].
func (w *Wave) Type() string { return w.typ }

// Family reports the device kernel's description of the model.
func (w *Wave) Family() accel.WaveFamily { return w.family }

// Config implements [Model].
func (w *Wave) Config() map[string]any {
	c := map[string]any{"dimensions": w.family.Dim + 1}
	if w.family.Head {
		c["n_waves"] = w.family.Waves
	}
	return c
}

// Inputs implements [Model]: the spatial axes, then "t".
func (w *Wave) Inputs() []InputField {
	f := make([]InputField, len(w.cols))
	for i, c := range w.cols {
		f[i] = InputField{Name: c, Width: 1}
	}
	return f
}

// OutputWidth implements [Model].
func (w *Wave) OutputWidth() int { return 1 }

// Columns packs inputs into the column layout of [accel.WaveFamily].
func (w *Wave) Columns(in map[string][]float64, n int) []float64 {
	return w.columns(nil, in, 0, n)
}

// columns appends the column layout of points [lo, hi) to dst[:0].
func (w *Wave) columns(dst []float64, in map[string][]float64, lo, hi int) []float64 {
	dst = dst[:0]
	for _, c := range w.cols {
		dst = append(dst, in[c][lo:hi]...)
	}
	return dst
}

// Forward implements [Model].
func (w *Wave) Forward(ctx context.Context, dev accel.Device, in map[string][]float64, n int) ([]float64, error) {
	if err := checkInputs(w.Inputs(), in, n); err != nil {
		return nil, err
	}
	block := blockRows(n, waveRowValues(w.family.Dim))
	r := run{dev: dev}
	defer r.free()
	p := r.params(w.values)
	x := r.alloc(block * len(w.cols))
	out := r.alloc(block)
	res := make([]float64, n)
	var cols []float64
	r.blocks(ctx, n, block, func(lo, hi int) error {
		cols = w.columns(cols, in, lo, hi)
		if err := dev.Upload(x, cols); err != nil {
			return err
		}
		if err := dev.WaveForward(w.family, p, x, hi-lo, out); err != nil {
			return err
		}
		return dev.Download(res[lo:hi], out)
	})
	return res, r.err
}

// Interference is the Quasimoto interference basis: complex wave fields
// sharing one normalised Gaussian envelope, mixed by a linear layer.
type Interference struct {
	params
	shape accel.Interference
}

func initInterference(m *Interference, d, f, o int, rng *rand.Rand) {
	m.shape = accel.Interference{Dim: d, Fields: f, Outputs: o}
	m.add("log_sigma", true, d)
	m.add("v", true, d)
	a := m.add("A", true, f)
	for i := range a {
		a[i] = 1
	}
	normal(rng, m.add("k", true, f, d), 1)
	normal(rng, m.add("omega", true, f), 1)
	m.add("phi", true, f)
	e := m.add("epsilon", true, f)
	for i := range e {
		e[i] = 0.1
	}
	normal(rng, m.add("lmbda", true, f, d), 1)
	uniform(rng, m.add("superposition.weight", true, o, 2*f), 1/math.Sqrt(float64(2*f)))
}

// Type implements [Model].
func (m *Interference) Type() string { return TypeInterferenceBasis }

// Shape reports the device kernel's description of the model.
func (m *Interference) Shape() accel.Interference { return m.shape }

// Config implements [Model].
func (m *Interference) Config() map[string]any {
	return map[string]any{"dim": m.shape.Dim, "num_fields": m.shape.Fields, "out_features": m.shape.Outputs}
}

// Inputs implements [Model]: "x" (Dim values per point) and "t".
func (m *Interference) Inputs() []InputField {
	return []InputField{{Name: "x", Width: m.shape.Dim}, {Name: "t", Width: 1}}
}

// OutputWidth implements [Model].
func (m *Interference) OutputWidth() int { return m.shape.Outputs }

// Columns packs inputs into the column layout of [accel.Interference].
func (m *Interference) Columns(in map[string][]float64, n int) []float64 {
	return m.columns(nil, in, 0, n)
}

// columns writes the column layout of points [lo, hi) into dst, grown as needed.
func (m *Interference) columns(dst []float64, in map[string][]float64, lo, hi int) []float64 {
	d, n := m.shape.Dim, hi-lo
	dst = slices.Grow(dst[:0], (d+1)*n)[:(d+1)*n]
	x := in["x"][lo*d : hi*d]
	for i := 0; i < n; i++ {
		for a := 0; a < d; a++ {
			dst[a*n+i] = x[i*d+a]
		}
	}
	copy(dst[d*n:], in["t"][lo:hi])
	return dst
}

// Forward implements [Model].
func (m *Interference) Forward(ctx context.Context, dev accel.Device, in map[string][]float64, n int) ([]float64, error) {
	if err := checkInputs(m.Inputs(), in, n); err != nil {
		return nil, err
	}
	o := m.shape.Outputs
	block := blockRows(n, interferenceRowValues(m.shape))
	r := run{dev: dev}
	defer r.free()
	p := r.params(m.values)
	x := r.alloc(block * (m.shape.Dim + 1))
	out := r.alloc(block * o)
	res := make([]float64, n*o)
	var cols []float64
	r.blocks(ctx, n, block, func(lo, hi int) error {
		cols = m.columns(cols, in, lo, hi)
		if err := dev.Upload(x, cols); err != nil {
			return err
		}
		if err := dev.InterferenceForward(m.shape, p, x, hi-lo, out); err != nil {
			return err
		}
		return dev.Download(res[lo*o:hi*o], out)
	})
	return res, r.err
}

// Layer is one dense layer of a [Network]: a linear map with its weight and
// bias tensors, an optional batch normalisation, and an activation.
type Layer struct {
	In, Out      int
	Weight, Bias Tensor
	BatchNorm    bool
	Gamma, Beta  Tensor // batch-norm affine parameters
	RunMean      Tensor // batch-norm running mean (a buffer)
	RunVar       Tensor // batch-norm running variance (a buffer)
	Act          accel.Activation
	Scale        float64 // activation scale (SIREN's w0)
}

// Network is a feed-forward model made of dense layers: the string-theory
// MLP, SIREN and the head of random Fourier features.
type Network struct {
	params
	typ    string
	config map[string]any
	in     int
	layers []Layer
	// fourier, when set, maps inputs through fixed random Fourier features first.
	fourier  *Tensor
	features int
}

// Layers describes the network's layers in order.
func (m *Network) Layers() []Layer { return slices.Clone(m.layers) }

// Type implements [Model].
func (m *Network) Type() string { return m.typ }

// Config implements [Model].
func (m *Network) Config() map[string]any { return m.config }

// Inputs implements [Model]: "x", rows of the input width.
func (m *Network) Inputs() []InputField { return []InputField{{Name: "x", Width: m.in}} }

// OutputWidth implements [Model].
func (m *Network) OutputWidth() int { return m.layers[len(m.layers)-1].Out }

// Fourier reports the RFF matrix tensor and feature count, if the network has one.
func (m *Network) Fourier() (Tensor, int, bool) {
	if m.fourier == nil {
		return Tensor{}, 0, false
	}
	return *m.fourier, m.features, true
}

func (m *Network) tensor(i int) Tensor { return m.tensors[i] }

// linear adds a linear layer's tensors under the given prefix, initialised
// as PyTorch's nn.Linear: U(−1/√in, 1/√in) for weight and bias.
func (m *Network) linear(rng *rand.Rand, prefix string, in, out int, act accel.Activation) *Layer {
	b := 1 / math.Sqrt(float64(in))
	uniform(rng, m.add(prefix+"weight", true, out, in), b)
	m.layers = append(m.layers, Layer{In: in, Out: out, Weight: m.tensor(len(m.tensors) - 1), Act: act})
	uniform(rng, m.add(prefix+"bias", true, out), b)
	l := &m.layers[len(m.layers)-1]
	l.Bias = m.tensor(len(m.tensors) - 1)
	return l
}

func initStringNN(m *Network, d, h, layers int, bn bool, rng *rand.Rand) {
	m.typ, m.in, m.config = TypeStringNN, d, map[string]any{
		"dimensions": d, "hidden_size": h, "num_layers": layers, "use_batch_norm": bn,
	}
	idx := 0
	in := d
	for i := 0; i < layers; i++ {
		l := m.linear(rng, "network."+strconv.Itoa(idx)+".", in, h, accel.Tanh)
		idx++
		if bn {
			l.BatchNorm = true
			p := "network." + strconv.Itoa(idx) + "."
			g := m.add(p+"weight", true, h)
			for j := range g {
				g[j] = 1
			}
			l = &m.layers[len(m.layers)-1]
			l.Gamma = m.tensor(len(m.tensors) - 1)
			m.add(p+"bias", true, h)
			l.Beta = m.tensor(len(m.tensors) - 1)
			m.add(p+"running_mean", false, h)
			l.RunMean = m.tensor(len(m.tensors) - 1)
			rv := m.add(p+"running_var", false, h)
			for j := range rv {
				rv[j] = 1
			}
			l.RunVar = m.tensor(len(m.tensors) - 1)
			idx++
		}
		idx++ // the Tanh module
		in = h
	}
	m.linear(rng, "network."+strconv.Itoa(idx)+".", in, 1, accel.Identity)
}

func initSIREN(m *Network, in, h, layers int, w0 float64, rng *rand.Rand) {
	m.typ, m.in, m.config = TypeSIREN, in, map[string]any{
		"input_dim": in, "hidden_size": h, "num_layers": layers, "w0": w0,
	}
	prev := in
	for i := 0; i < layers; i++ {
		l := m.linear(rng, strconv.Itoa(i)+".linear.", prev, h, accel.Sine)
		l.Scale = w0
		wv := m.values[l.Weight.Offset : l.Weight.Offset+l.Weight.Size()]
		if i == 0 {
			uniform(rng, wv, 1/float64(prev))
		} else {
			uniform(rng, wv, math.Sqrt(6/float64(prev))/w0)
		}
		prev = h
	}
	m.linear(rng, strconv.Itoa(layers)+".", prev, 1, accel.Identity)
}

func initRFF(m *Network, in, features int, sigma float64, rng *rand.Rand) {
	m.typ, m.in, m.features, m.config = TypeRFF, in, features, map[string]any{
		"input_dim": in, "num_features": features, "sigma": sigma,
	}
	normal(rng, m.add("B", false, in, features), sigma)
	t := m.tensor(0)
	m.fourier = &t
	m.linear(rng, "linear.", 2*features, 1, accel.Identity)
}

// Forward implements [Model]. Batch normalisation uses its running
// statistics (inference mode).
func (m *Network) Forward(ctx context.Context, dev accel.Device, in map[string][]float64, n int) ([]float64, error) {
	return m.forward(ctx, dev, in, n, false)
}

// ForwardTraining evaluates the network as in training mode: batch
// normalisation uses the batch's mean and biased variance (n must be ≥ 2
// when the network has batch normalisation), so the n points are one
// block. The model is not changed.
func (m *Network) ForwardTraining(ctx context.Context, dev accel.Device, in map[string][]float64, n int) ([]float64, error) {
	return m.forward(ctx, dev, in, n, true)
}

// rowValues is about how many values one row costs a forward pass.
func (m *Network) rowValues() int {
	outs := 0
	for _, l := range m.layers {
		outs += l.Out
	}
	return networkRowValues(m.in, m.features, outs)
}

func (m *Network) forward(ctx context.Context, dev accel.Device, in map[string][]float64, n int, train bool) ([]float64, error) {
	if err := checkInputs(m.Inputs(), in, n); err != nil {
		return nil, err
	}
	if train && n < 2 && m.hasBatchNorm() {
		return nil, fieldErr("inputs.x", "batch normalisation in training mode needs at least 2 rows, got %d", n)
	}
	block := n
	if !train {
		block = blockRows(n, m.rowValues())
	}
	r := run{dev: dev}
	defer r.free()
	// Training mode updates the batch-norm running statistics of p: a
	// copy, so that the model does not change.
	var p accel.Buffer
	if train {
		p = r.upload(m.values)
	} else {
		p = r.params(m.values)
	}
	x := r.alloc(block * m.in)
	var fb, feats accel.Buffer
	if m.fourier != nil {
		fb = r.view(p, m.fourier.Offset, m.fourier.Size())
		feats = r.alloc(block * 2 * m.features)
	}
	type layerBufs struct{ w, b, g, be, rm, rv, sm, si, y accel.Buffer }
	bufs := make([]layerBufs, len(m.layers))
	for i, l := range m.layers {
		lb := &bufs[i]
		lb.w, lb.b = r.view(p, l.Weight.Offset, l.Weight.Size()), r.view(p, l.Bias.Offset, l.Bias.Size())
		lb.y = r.alloc(block * l.Out)
		if l.BatchNorm {
			lb.g, lb.be = r.view(p, l.Gamma.Offset, l.Gamma.Size()), r.view(p, l.Beta.Offset, l.Beta.Size())
			lb.rm, lb.rv = r.view(p, l.RunMean.Offset, l.RunMean.Size()), r.view(p, l.RunVar.Offset, l.RunVar.Size())
			if train {
				lb.sm, lb.si = r.alloc(l.Out), r.alloc(l.Out)
			}
		}
	}
	outW := m.OutputWidth()
	res := make([]float64, n*outW)
	r.blocks(ctx, n, block, func(lo, hi int) error {
		rows := hi - lo
		if err := dev.Upload(x, in["x"][lo*m.in:hi*m.in]); err != nil {
			return err
		}
		cur, width := x, m.in
		if m.fourier != nil {
			if err := dev.Fourier(x, rows, m.in, fb, m.features, feats); err != nil {
				return err
			}
			cur, width = feats, 2*m.features
		}
		for i, l := range m.layers {
			lb := &bufs[i]
			if err := dev.Linear(cur, rows, width, lb.w, lb.b, l.Out, lb.y); err != nil {
				return err
			}
			if l.BatchNorm {
				if err := dev.BatchNorm(lb.y, rows, l.Out, lb.g, lb.be, lb.rm, lb.rv, BatchNormEps, BatchNormMomentum, train, lb.y, lb.sm, lb.si); err != nil {
					return err
				}
			}
			if l.Act != accel.Identity {
				if err := dev.Activate(l.Act, l.Scale, lb.y, rows*l.Out, lb.y); err != nil {
					return err
				}
			}
			cur, width = lb.y, l.Out
		}
		return dev.Download(res[lo*outW:hi*outW], cur)
	})
	return res, r.err
}

// Batch normalisation constants, as PyTorch's BatchNorm1d defaults.
const (
	BatchNormEps      = 1e-5
	BatchNormMomentum = 0.1
)
