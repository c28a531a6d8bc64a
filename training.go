package dredge

import (
	"context"
	"fmt"
	"slices"

	"github.com/dredge-cli/dredge/stringtheory"
)

// ---- benchmark ----

// BenchmarkParams are benchmark's parameters.
type BenchmarkParams struct {
	ModelType string      `json:"model_type,omitempty" jsonschema:"model type to train (required unless model_id is given)"`
	ModelID   string      `json:"model_id,omitempty" jsonschema:"train this loaded model in place instead of a new one"`
	Config    ModelConfig `json:"config,omitzero" jsonschema:"model configuration plus epochs (default 100) and learning_rate (default 0.01)"`
}

// benchmark's parameters besides the model's.
var (
	paramEpochs       = intParam("config.epochs", 1, stringtheory.MaxEpochs, 100)
	paramLearningRate = positiveParam("config.learning_rate", 0.01)
	benchmarkFacts    = append(slices.Clip(modelFacts), paramEpochs, paramLearningRate)
)

// BenchmarkResult is benchmark's result.
type BenchmarkResult struct {
	Success     bool      `json:"success"`
	ModelType   string    `json:"model_type"`
	ModelID     string    `json:"model_id,omitempty"`
	NParameters int       `json:"n_parameters"`
	Epochs      int       `json:"epochs"`
	InitialLoss float64   `json:"initial_loss"`
	FinalLoss   float64   `json:"final_loss"`
	Losses      []float64 `json:"losses"`
	Device      string    `json:"device"`
	Seconds     float64   `json:"seconds"`
}

// Benchmark trains a model with full-batch Adam on its default data set
// (the glitchy chirp, the 4D or 6D grid, or the MLP's synthetic set) and
// reports the losses and the training time. With ModelID it trains that
// loaded model on a copy and then stores the trained parameters on it (an
// inference cache entry of the model becomes stale and is not served).
// Defaults: 100 epochs, learning rate 0.01, 16 waves for the 1D ensemble.
func (e *Engine) Benchmark(ctx context.Context, p *BenchmarkParams) (*BenchmarkResult, error) {
	return opBenchmark.run(ctx, e, p)
}

func (e *Engine) benchmark(ctx context.Context, p *BenchmarkParams) (*BenchmarkResult, error) {
	epochs, err := paramEpochs.intOf(p.Config.Epochs)
	if err != nil {
		return nil, err
	}
	lr, err := paramLearningRate.floatOf(p.Config.LearningRate)
	if err != nil {
		return nil, err
	}
	var (
		plan stringtheory.Plan
		ent  *entry
		typ  = p.ModelType
	)
	if p.ModelID != "" {
		if ent, err = e.model(ctx, p.ModelID); err != nil {
			return nil, err
		}
		if typ != "" && typ != ent.typ {
			return nil, invalid("model_type", "is %q but model %s is a %q", typ, ent.id, ent.typ)
		}
		typ = ent.typ
		plan, err = stringtheory.PlanFor(ent.typ, ent.cfg)
	} else {
		plan, err = e.planModel(typ, &p.Config)
	}
	if err != nil {
		return nil, err
	}
	// The working copy, its gradient and Adam's moments are charged while
	// the training runs; so are its data set and a block of intermediate
	// rows (stringtheory.TrainingBytes), once the data set is known.
	done, err := e.tenants.startTraining(TenantOf(ctx))
	if err != nil {
		return nil, err
	}
	defer done()
	what := fmt.Sprintf("training a %s model of %d values", typ, plan.Values)
	charge := TrainingBytesPerValue * int64(plan.Values)
	if err := e.budget.reserve("config", what, charge); err != nil {
		return nil, err
	}
	defer func() { e.budget.release(charge) }()
	var m stringtheory.Model
	if ent != nil {
		m = plan.Build()
		ent.mu.RLock()
		err = m.SetVector(ent.model.Values())
		ent.mu.RUnlock()
	} else {
		m, err = buildModel(plan, &p.Config)
	}
	if err != nil {
		return nil, err
	}
	data, err := stringtheory.DatasetFor(m)
	if err != nil {
		return nil, err
	}
	work := float64(epochs) * float64(data.N) * float64(plan.Parameters)
	if err := checkWork("config.epochs", work, "lower config.epochs"); err != nil {
		return nil, err
	}
	// The whole charge at once, so that a refusal names it.
	e.budget.release(charge)
	charge = plan.Bytes() + stringtheory.TrainingBytes(m, data.N)
	if err := e.budget.reserve("config", what, charge); err != nil {
		charge = 0
		return nil, err
	}
	if err := e.heavy.take(ctx); err != nil {
		return nil, err
	}
	defer e.heavy.give()
	tc := stringtheory.TrainConfig{Epochs: epochs, LearningRate: lr, Samples: 10}
	if rep := newProgress(ctx, int64(epochs), "training "+typ); rep != nil {
		tc.OnEpoch = func(epoch int, loss float64) { rep.report(int64(epoch)+1, loss) }
	}
	res, err := stringtheory.Train(ctx, e.dev, m, data, tc)
	if err != nil {
		return nil, stopped("benchmark", err)
	}
	e.trainingEpochs(res.Epochs)
	out := &BenchmarkResult{
		Success: true, ModelType: typ, NParameters: m.NumParameters(), Epochs: res.Epochs,
		InitialLoss: res.InitialLoss, FinalLoss: res.FinalLoss, Losses: res.Sampled,
		Device: res.Device, Seconds: res.Seconds,
	}
	if ent != nil {
		if e.modelStore != nil {
			err = e.storeTrained(ctx, ent, m.Values())
		} else {
			ent.mu.Lock()
			err = ent.model.SetVector(m.Values())
			ent.changed()
			ent.mu.Unlock()
		}
		if err != nil {
			return nil, err
		}
		out.ModelID = ent.id
	}
	return out, nil
}

// ---- the training set, for plots ----

// DataSlice is the points of a model type's training set that lie on a line
// along one input axis, the other inputs fixed: what a plot of a model's fit
// shows. Inputs can be given to inference as they are.
type DataSlice struct {
	Success   bool                 `json:"success"`
	ModelType string               `json:"model_type"`
	Name      string               `json:"name"` // the data set: glitchy_chirp, grid_4d or grid_6d
	N         int                  `json:"n"`    // the points of the whole set
	Axis      string               `json:"axis"`
	Fixed     map[string]float64   `json:"fixed"`
	Inputs    map[string][]float64 `json:"inputs"`
	Target    []float64            `json:"target"`
}

// TrainingSlice returns the points of the data set that benchmark trains a
// model of modelType (default configuration) on that lie on a line along
// its first input (x, or x1 in 6D), the other inputs fixed: all of the
// glitchy chirp, and of the 4D and 6D grids the line whose targets spread
// the most (the largest variance; the first of equals), the one with the
// most to fit. A type trained on rows of synthetic inputs (string_theory,
// and siren, rff or interference_basis of more than one input) has no such
// line: an invalid_argument error names model_type.
func (e *Engine) TrainingSlice(modelType string) (*DataSlice, error) {
	plan, err := e.planModel(modelType, &ModelConfig{})
	if err != nil {
		return nil, err
	}
	m := plan.Build()
	data, err := stringtheory.DatasetFor(m)
	if err != nil {
		return nil, err
	}
	fields := m.Inputs()
	cols := make([][]float64, len(fields))
	for i, f := range fields {
		cols[i] = data.Inputs[f.Name]
		if f.Width != 1 || len(cols[i]) != data.N || len(data.Target) != data.N || len(fields) > maxSliceInputs {
			return nil, invalid("model_type", "%s trains on rows of synthetic inputs, which lie on no line to plot", modelType)
		}
	}
	// The lines, keyed by the other inputs' values, with the running
	// moments of their targets, in the order they first appear.
	type line struct {
		key        [maxSliceInputs]float64
		n          int
		sum, sumSq float64
	}
	var lines []line
	index := map[[maxSliceInputs]float64]int{}
	keyOf := func(p int) (k [maxSliceInputs]float64) {
		for i := 1; i < len(fields); i++ {
			k[i] = cols[i][p]
		}
		return k
	}
	for p, y := range data.Target {
		k := keyOf(p)
		j, ok := index[k]
		if !ok {
			j = len(lines)
			index[k] = j
			lines = append(lines, line{key: k})
		}
		l := &lines[j]
		l.n++
		l.sum += y
		l.sumSq += y * y
	}
	best, bestVar := 0, -1.0
	for j, l := range lines {
		mean := l.sum / float64(l.n)
		if v := l.sumSq/float64(l.n) - mean*mean; v > bestVar {
			best, bestVar = j, v
		}
	}
	s := &DataSlice{Success: true, ModelType: modelType, Name: data.Name, N: data.N, Axis: fields[0].Name,
		Fixed: make(map[string]float64, len(fields)-1), Inputs: make(map[string][]float64, len(fields))}
	for i := 1; i < len(fields); i++ {
		s.Fixed[fields[i].Name] = lines[best].key[i]
	}
	for p := range data.N {
		if keyOf(p) != lines[best].key {
			continue
		}
		for i, f := range fields {
			s.Inputs[f.Name] = append(s.Inputs[f.Name], cols[i][p])
		}
		s.Target = append(s.Target, data.Target[p])
	}
	return s, nil
}

// maxSliceInputs bounds the inputs of a model whose training set
// TrainingSlice cuts: the 6D waves' six.
const maxSliceInputs = 6
